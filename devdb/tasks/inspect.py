"""db.inspect: diagnostics of the project database (cache hits, indexes, sizes, slow statements)."""

from __future__ import annotations

import sys

from invoke.context import Context
from invoke.tasks import task

from devdb.tasks._common import exits, settings_for


@task(
    name="inspect",
    help={
        "json": "print one JSON document",
        "database": "another database on the same server",
        "top": "how many slow statements to list (default 10)",
    },
)
@exits
def inspect_(c: Context, json: bool = False, database: str | None = None, top: int = 10) -> None:
    """Cache hit ratio, unused/duplicate indexes, unindexed FKs, sizes, slowest statements."""
    from devdb import inspect as diagnostics
    from devdb.output import print_json, use_color
    from devdb.server import owner_conninfo

    conninfo = owner_conninfo(settings_for())
    doc = diagnostics.inspect_database(
        conninfo.for_database(database) if database else conninfo, top=top
    )
    if json:
        print_json(doc)
    elif use_color(sys.stdout):
        _rich(doc)
    else:
        print(diagnostics.render_text(doc))


def _rich(doc: dict[str, object]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from devdb import inspect as diagnostics

    console = Console()
    console.print(f"database {doc['database']} (PostgreSQL {doc['server_version']})")
    for title, headers, rows, note in diagnostics.sections(doc):
        if not rows:
            console.print(f"[bold]{title}[/bold]: {note}", highlight=False)
            continue
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
        for i, h in enumerate(headers):
            table.add_column(h, no_wrap=True, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
