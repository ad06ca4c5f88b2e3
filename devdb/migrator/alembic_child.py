"""Alembic's own API, run in a child process by the alembic migrator (never imported by devdb).

``python -m devdb.migrator.alembic_child INI URL_VAR OP [ARG]``: the database URL comes from the
environment variable ``URL_VAR`` (never the command line), and is handed to the project's env.py in
the three ways Alembic projects read one: the ``sqlalchemy.url`` option, ``-x url=...`` and that
environment variable. The result is one line ``devdb-result <json>`` on stdout. A child process
keeps the project's env.py (``fileConfig`` logging, imported models) out of devdb's process.
"""

from __future__ import annotations

import json
import os
import sys
from argparse import Namespace
from collections.abc import Iterable
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory

MARKER = "devdb-result "


def config(ini: str, url: str) -> Config:
    cfg = Config(ini, cmd_opts=Namespace(x=[f"url={url}"]))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ini interpolation
    return cfg


def current_heads(url: str) -> tuple[str, ...]:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return tuple(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def downs(rev: Script) -> tuple[str, ...]:
    down = rev.down_revision
    if down is None:
        return ()
    return (down,) if isinstance(down, str) else tuple(down)


def ancestors(script: ScriptDirectory, heads: Iterable[str]) -> set[str]:
    """The revisions applied when ``heads`` are current (each head and all below it)."""
    seen: set[str] = set()
    todo = list(heads)
    while todo:
        rev = script.get_revision(todo.pop())
        if rev is not None and rev.revision not in seen:
            seen.add(rev.revision)
            todo.extend(downs(rev))
    return seen


def in_order(script: ScriptDirectory) -> list[Script]:
    """Every revision, base first."""
    return list(reversed(list(script.walk_revisions())))


def moved(cfg: Config, url: str, op: str, target: str) -> list[str]:
    """Upgrade or downgrade to ``target``; the revisions applied (or rolled back), in order."""
    script = ScriptDirectory.from_config(cfg)
    before = ancestors(script, current_heads(url))
    if op == "upgrade":
        command.upgrade(cfg, target)
    else:
        command.downgrade(cfg, target)
    after = ancestors(script, current_heads(url))
    changed = before ^ after
    revs = [r.revision for r in in_order(script) if r.revision in changed]
    return revs if op == "upgrade" else revs[::-1]


def status(cfg: Config, url: str) -> list[dict[str, Any]]:
    script = ScriptDirectory.from_config(cfg)
    applied = ancestors(script, current_heads(url))
    return [
        {
            "version": r.revision,
            "name": f"{r.revision} {r.doc or ''}".strip(),
            "state": "applied" if r.revision in applied else "pending",
            "applied_at": None,
            "duration_ms": None,
            "applied_by": None,
        }
        for r in in_order(script)
    ]


def steps(cfg: Config) -> list[dict[str, str]]:
    """The revisions as verify steps; verify needs one line of history (no branches)."""
    script = ScriptDirectory.from_config(cfg)
    revs = in_order(script)
    if len(script.get_heads()) > 1 or any(len(downs(r)) > 1 for r in revs):
        raise SystemExit("devdb verify needs a linear Alembic history (one head, no merges)")
    return [
        {
            "id": r.revision,
            "name": f"{r.revision} {r.doc or ''}".strip(),
            "up": r.revision,
            "down": (downs(r) or ("base",))[0],
        }
        for r in revs
    ]


def revision(cfg: Config, message: str) -> str:
    made = command.revision(cfg, message=message)
    scripts = made if isinstance(made, list) else [made]
    return str(scripts[0].path) if scripts and scripts[0] is not None else ""


def run(ini: str, url: str, op: str, arg: str) -> Any:
    cfg = config(ini, url)
    if op in ("upgrade", "downgrade"):
        return moved(cfg, url, op, arg)
    if op == "status":
        return status(cfg, url)
    if op == "steps":
        return steps(cfg)
    if op == "revision":
        return revision(cfg, arg)
    raise SystemExit(f"unknown operation {op!r}")


def main(argv: list[str]) -> int:
    ini, url_var, op, *rest = argv
    result = run(ini, os.environ[url_var], op, rest[0] if rest else "")
    sys.stdout.write(MARKER + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
