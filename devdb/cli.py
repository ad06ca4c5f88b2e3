"""The ``devdb`` console script."""

from __future__ import annotations

import argparse
import sys

from devdb import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="devdb", description="devdb: one command for your PostgreSQL."
    )
    parser.add_argument("--version", action="version", version=f"devdb {__version__}")
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
