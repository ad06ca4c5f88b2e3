"""db.psql: psql on the project database, passing psql's own arguments through."""

from __future__ import annotations

import shlex
import sys

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from devdb.tasks._common import exits, settings_for


def psql_args(c: Context, args: str | None) -> list[str]:
    """psql's arguments: ``--args '...'`` (shell-split), then everything after ``--``.

    invoke joins the words after ``--`` with spaces (``c.remainder``), losing their quoting, so the
    exact words are taken from ``sys.argv`` when they are what invoke saw.
    """
    extra = shlex.split(args) if args else []
    remainder = getattr(c, "remainder", None)
    if "--" in sys.argv:
        tail = sys.argv[sys.argv.index("--") + 1 :]
        if remainder is None or remainder == " ".join(tail):
            return extra + tail
    return extra + (shlex.split(remainder) if remainder else [])


@task(
    help={
        "database": "another database on the same server",
        "args": "psql arguments as one string, e.g. -a \"-c 'select 1'\" (or put them after --)",
    }
)
@exits
def psql(c: Context, database: str | None = None, args: str | None = None) -> None:
    """Open psql on the project database; psql's own flags go after --, e.g. -- -c 'select 1'."""
    from devdb.psql import psql as run_psql

    code = run_psql(settings_for(), database=database, args=psql_args(c, args))
    if code:
        raise Exit(code=code)
