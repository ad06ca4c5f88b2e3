"""db.init: scaffold devdb's layout into a project (the same as the ``devdb init`` script)."""

from __future__ import annotations

from invoke.context import Context
from invoke.tasks import task

from devdb.tasks._common import exits


@task(
    name="init",
    help={
        "path": "project folder (default: the current folder)",
        "force": "overwrite existing files (.gitignore is only ever appended to)",
    },
)
@exits
def init_(c: Context, path: str = ".", force: bool = False) -> None:
    """Write tasks.py, compose/, migrations/, seeds/, queries/, .env.example; never overwrites."""
    from pathlib import Path

    from devdb.cli import render_init
    from devdb.scaffold import init_project

    print(render_init(init_project(Path(path), force=force)))
