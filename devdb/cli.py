"""The ``devdb`` console script: ``devdb --version`` and ``devdb init [DIR] [--force]``.

Everything else is an invoke task in the project (``invoke --list``); this script exists for what
comes before a project has a ``tasks.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devdb import __version__
from devdb.errors import DevdbError
from devdb.scaffold import InitResult, init_project

EPILOG = (
    "After init, everything is an invoke task run in the project folder: `invoke --list` shows "
    "them all (db.setup, db.migrate, db.seed, db.reset, db.psql, db.explain, ...)."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="devdb",
        description="devdb: one command for a team's local and CI PostgreSQL.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"devdb {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    init = commands.add_parser(
        "init",
        help="scaffold devdb into a project folder (never overwrites a file)",
        description="Write tasks.py, compose/, migrations/, seeds/, queries/, .env.example and "
        "devdb's .gitignore entries into DIR. Existing files are kept and listed.",
    )
    init.add_argument("dir", nargs="?", default=".", help="project folder (default: here)")
    init.add_argument("--force", action="store_true", help="overwrite existing files")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "init":
        return _init(Path(args.dir), force=args.force)
    parser.print_help()
    return 0


def _init(target: Path, *, force: bool) -> int:
    try:
        result = init_project(target, force=force)
    except (DevdbError, OSError) as exc:
        message = exc.render() if isinstance(exc, DevdbError) else f"Error: {exc}"
        print(message, file=sys.stderr)
        return 1
    print(render_init(result))
    return 0


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
