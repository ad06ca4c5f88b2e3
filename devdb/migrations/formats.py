"""The marker lines of the three migration file formats, each read by its own tool's rules.

- sql-migrate: ``-- +migrate Up`` / ``Down`` (option ``notransaction``), ``StatementBegin`` /
  ``StatementEnd``; several Up and Down sections may alternate (each direction's statements run
  in file order); text before the first marker is ignored.
- goose: ``-- +goose Up`` then optionally ``-- +goose Down`` (case-insensitive),
  ``StatementBegin`` / ``StatementEnd``, ``-- +goose NO TRANSACTION`` for the whole file.
- dbmate: ``-- migrate:up`` then ``-- migrate:down`` (option ``transaction:false``); each block is
  one script, so its last statement needs no semicolon.

The format is detected per file from its first marker line. A line that looks like a marker but
is not one exactly, a marker of another format, or an option no tool knows is an error that quotes
the line as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CANDIDATE = re.compile(
    r"^[ \t]*--[ \t]*(?:\+[ \t]*(?:migrate|goose)|migrate:[ \t]*(?:up|down)\b)", re.I | re.M
)
SQL_MIGRATE_PREFIX = "-- +migrate "
SQL_MIGRATE_COMMANDS = ("Up", "Down", "StatementBegin", "StatementEnd")
GOOSE = re.compile(r"^--\s*\+goose\b(.*)$", re.I)
GOOSE_COMMANDS = {
    "up": "up",
    "down": "down",
    "statementbegin": "begin",
    "statementend": "end",
    "no transaction": "notx",
}
DBMATE = re.compile(r"^--\s*migrate:(up|down)(\s*$|\s+\S.*$)")


class MarkerError(Exception):
    """A malformed marker line: ``message`` and ``hint``; the caller adds ``file:line``."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Marker:
    """One marker line: ``kind`` is up, down, begin, end or notx; offsets span the line."""

    kind: str
    line: int
    start: int
    end: int
    transactional: bool = True


def detect(text: str) -> str | None:
    """``sql-migrate``, ``goose`` or ``dbmate`` from the first marker-like line, or None."""
    match = CANDIDATE.search(text)
    if match is None:
        return None
    line = _line_at(text, match.start())
    if re.match(r"^[ \t]*--[ \t]*migrate:", line, re.I):
        return "dbmate"
    return "goose" if re.match(r"^[ \t]*--[ \t]*\+[ \t]*goose", line, re.I) else "sql-migrate"


def markers(text: str, fmt: str) -> list[Marker]:
    """Every marker line of ``text`` read as format ``fmt``; raises ``MarkerError`` with the
    line number in ``args[1]`` for a malformed one."""
    found: list[Marker] = []
    line_no, counted = 1, 0
    for match in CANDIDATE.finditer(text):
        start = match.start()
        line_no += text.count("\n", counted, start)
        counted = start
        raw = _line_at(text, start)
        end = min(start + len(raw) + 1, len(text))
        try:
            kind, transactional = classify(raw.removesuffix("\r"), fmt)
        except MarkerError as exc:
            exc.args = (exc.message, line_no)
            raise
        if kind:
            found.append(Marker(kind, line_no, start, end, transactional))
    return found


def _line_at(text: str, start: int) -> str:
    nl = text.find("\n", start)
    return text[start : len(text) if nl < 0 else nl]


def classify(line: str, fmt: str) -> tuple[str, bool]:
    """``(kind, transactional)`` of a candidate marker line in format ``fmt``."""
    if fmt == "sql-migrate":
        return _sql_migrate(line)
    if fmt == "goose":
        return _goose(line)
    return _dbmate(line)


def _foreign(line: str, fmt: str) -> MarkerError:
    return MarkerError(
        f"marker {line!r} of another format in a {fmt} file",
        "Keep one format per file: sql-migrate (`-- +migrate Up`), goose (`-- +goose Up`) or "
        "dbmate (`-- migrate:up`).",
    )


def _sql_migrate(line: str) -> tuple[str, bool]:
    if not line.startswith(SQL_MIGRATE_PREFIX):
        if re.match(r"^\s*--\s*\+\s*migrate", line, re.I):
            raise MarkerError(
                f"malformed migration marker {line!r}",
                "Write markers exactly as `-- +migrate Up`, `-- +migrate Down`, "
                "`-- +migrate StatementBegin`, `-- +migrate StatementEnd` at the start of the "
                "line: sql-migrate silently treats anything else as SQL or a comment.",
            )
        raise _foreign(line, "sql-migrate")
    words = line[len(SQL_MIGRATE_PREFIX) :].split()
    command = words[0] if words else ""
    if command not in SQL_MIGRATE_COMMANDS:
        fix = next((c for c in SQL_MIGRATE_COMMANDS if c.lower() == command.lower()), None)
        hint = (
            f"Write `-- +migrate {fix}` (directives are case-sensitive)."
            if fix
            else "Known directives: "
            + ", ".join(f"`-- +migrate {c}`" for c in SQL_MIGRATE_COMMANDS)
            + "."
        )
        raise MarkerError(f"unknown migration directive {line!r}", hint)
    options = words[1:]
    allowed = ["notransaction"] if command in ("Up", "Down") else []
    bad = [o for o in options if o not in allowed]
    if bad:
        raise MarkerError(
            f"unknown option {bad[0]!r} on -- +migrate {command}",
            "The only option is `notransaction`, on Up or Down: `-- +migrate Up notransaction`.",
        )
    kinds = {"Up": "up", "Down": "down", "StatementBegin": "begin", "StatementEnd": "end"}
    return kinds[command], "notransaction" not in options


def _goose(line: str) -> tuple[str, bool]:
    match = GOOSE.match(line)
    if match is None:
        if re.match(r"^\s*--\s*\+\s*goose", line, re.I):
            raise MarkerError(
                f"malformed goose annotation {line!r}",
                "Write annotations at the start of the line: `-- +goose Up`, "
                "`-- +goose Down`, `-- +goose StatementBegin`, `-- +goose StatementEnd`, "
                "`-- +goose NO TRANSACTION`.",
            )
        raise _foreign(line, "goose")
    command = " ".join(match.group(1).split()).lower()
    if command.startswith("envsub"):
        raise MarkerError(
            f"{line.strip()!r}: devdb does not substitute environment variables",
            "devdb runs a migration exactly as written; put the values in the file (or run "
            "this migration with goose).",
        )
    if command not in GOOSE_COMMANDS:
        raise MarkerError(
            f"unknown goose annotation {line!r}",
            "Known annotations: Up, Down, StatementBegin, StatementEnd, NO TRANSACTION.",
        )
    return GOOSE_COMMANDS[command], True


def _dbmate(line: str) -> tuple[str, bool]:
    match = DBMATE.match(line)
    if match is None:
        if re.match(r"^\s*--\s*migrate:\s*(up|down)", line, re.I):
            raise MarkerError(
                f"malformed dbmate directive {line!r}",
                "Write `-- migrate:up` and `-- migrate:down` (lower case, at the start of the "
                "line), options after a space: `-- migrate:up transaction:false`.",
            )
        raise _foreign(line, "dbmate")
    options = dict(pair.split(":", 1) for pair in match.group(2).split() if ":" in pair)
    bad = [p for p in match.group(2).split() if ":" not in p or not p.startswith("transaction:")]
    if bad or options.get("transaction", "true") not in ("true", "false"):
        raise MarkerError(
            f"unknown option in {line!r}",
            "The only option is `transaction:false` (or `transaction:true`).",
        )
    return match.group(1), options.get("transaction") != "false"
