"""The ``devdb`` command: every devdb task without invoke's ``tasks.py`` (``devdb up``,
``devdb migrate``, ``devdb reset --yes``, ``devdb init``...).

It is invoke's own ``Program`` given devdb's ``db`` collection, so flags, ``--help``, ``--list``,
``--dry`` and ``invoke.yaml`` work exactly as under ``invoke db.*``. The project is the nearest
folder at or above the current one holding ``tasks.py``, ``.devdb/`` or ``migrations/`` (or
DEVDB_ROOT); with none, every task but ``init`` says to run ``devdb init``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke.exceptions import Exit, ParseError
from invoke.program import Program

from devdb import __version__

if TYPE_CHECKING:
    from devdb.scaffold import InitResult

PROJECT_MARKERS = ("tasks.py", ".devdb", "migrations")
NO_PROJECT_OK = {"init"}
USAGE = 2  # exit code of a usage error
INTERRUPTED = 130  # as the tasks exit on Ctrl-C


def project_root(start: Path | None = None) -> Path | None:
    """DEVDB_ROOT, else the nearest folder at or above ``start`` holding a project marker."""
    if os.environ.get("DEVDB_ROOT"):
        return Path(os.environ["DEVDB_ROOT"]).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).exists() for marker in PROJECT_MARKERS):
            return folder
    return None


class DevdbProgram(Program):
    """invoke's Program with devdb's tasks at the top level and the project's invoke config;
    a usage error (unknown task or flag, missing argument) exits 2, as command-line tools do."""

    def parse_core_args(self) -> None:
        try:
            super().parse_core_args()
        except ParseError as exc:
            raise Exit(str(exc), code=USAGE) from None

    def parse_tasks(self) -> None:
        try:
            super().parse_tasks()
        except ParseError as exc:
            raise Exit(str(exc), code=USAGE) from None

    def parse_collection(self) -> None:
        super().parse_collection()
        self.root = project_root()
        if self.root is not None:
            self.config.set_project_location(str(self.root))
            self.config.load_project()

    def execute(self) -> None:
        from devdb.output import PROGRAM

        PROGRAM["name"] = "devdb"  # hints say `devdb up`, not `invoke db.up`
        wanted = {ctx.name for ctx in self.tasks}
        if self.root is None and wanted - NO_PROJECT_OK:
            print(
                f"Error: no devdb project in {Path.cwd()} or above (no tasks.py, .devdb/ or "
                "migrations/)\nHint: run `devdb init` here to start one, or cd into your project.",
                file=sys.stderr,
            )
            raise Exit(code=1)
        super().execute()


def build_program() -> DevdbProgram:
    from devdb.tasks import ns

    return DevdbProgram(
        namespace=ns.collections["db"], name="devdb", binary="devdb", version=__version__
    )


def main(argv: list[str] | None = None) -> int:
    """Run the ``devdb`` command; returns the exit code (``--version``/``--help`` exit 0)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 and args[0] == "init" and not args[1].startswith("-"):
        args = ["init", "--path", *args[1:]]  # `devdb init DIR`, as documented since 0.1
    try:
        build_program().run(["devdb", *args])
    except SystemExit as exc:
        return _code(exc.code)
    except KeyboardInterrupt:  # Ctrl-C before a task started (while Python imports)
        print("Interrupted.", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # `devdb --list | head`: the reader left, nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


def _code(code: Any) -> int:
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def render_init(result: InitResult) -> str:
    """What ``init`` prints: written, skipped, .gitignore additions, the next two commands."""
    lines = [f"devdb init: {result.root}"]
    lines += [f"  created  {rel}" for rel in result.written]
    lines += [f"  skipped  {rel} (exists; --force overwrites)" for rel in result.skipped]
    if result.gitignore_added:
        lines.append(f"  .gitignore += {' '.join(result.gitignore_added)}")
    lines += [f"  note: {note}" for note in result.notes]
    lines += ["", "Next:", *(f"  {cmd}" for cmd in result.next_commands)]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
