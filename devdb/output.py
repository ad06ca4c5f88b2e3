"""Output: data on stdout, progress and hints on stderr; colour only on a terminal."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from devdb.redact import mask_text


def use_color(stream: Any = None) -> bool:
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


# The program that runs the tasks: "invoke" (a tasks.py) or "devdb" (devdb.cli sets it), so a
# hint names a command that works here: `devdb up` where a project may have no tasks.py.
PROGRAM = {"name": "invoke"}


def for_program(text: str) -> str:
    """``text`` with ``invoke db.X`` written as ``devdb X`` when the devdb command runs."""
    if PROGRAM["name"] != "devdb":
        return text
    return text.replace("invoke db.", "devdb ")


def info(message: str) -> None:
    """A progress line for people: stderr, so stdout stays data (passwords masked)."""
    print(for_program(mask_text(message)), file=sys.stderr, flush=True)


def warn(message: str) -> None:
    prefix = "\033[33mwarning:\033[0m " if use_color() else "warning: "
    print(prefix + for_program(mask_text(message)), file=sys.stderr, flush=True)


def print_json(data: Any) -> None:
    """Exactly one JSON document on stdout."""
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def no_answer() -> str:
    """Why a question was answered no: the person said so, or there was no terminal to ask."""
    if is_interactive():
        return "you answered no"
    return "no terminal to ask on, so the answer is no"


def confirm(question: str, *, yes: bool) -> bool:
    """Ask y/N on a terminal. ``yes`` skips the prompt; without a terminal the answer is no."""
    if yes:
        return True
    if not is_interactive():
        return False
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline().strip().lower()
    except (EOFError, KeyboardInterrupt):
        return False
    return answer in {"y", "yes"}
