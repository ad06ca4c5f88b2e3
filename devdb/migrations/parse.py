"""Reading migration files: the sql-migrate format, parsed strictly.

A file ``YYYYMMDDHHMMSS_verb_description.sql`` holds a ``-- +migrate Up`` section and usually a
``-- +migrate Down`` section; ``notransaction`` after a marker runs that section outside a
transaction; ``-- +migrate StatementBegin`` / ``StatementEnd`` keep a block as one statement.

Like sql-migrate, lines starting with ``-- `` (but not ``-- +``) are dropped before anything else.
Unlike sql-migrate, statements are split by a lexer that knows strings, quoted identifiers,
dollar quotes and comments, so a semicolon inside any of them never ends a statement. Anything
sql-migrate would silently misread (a mis-cased or unknown directive, a marker with stray spaces,
an unclosed StatementBegin, a file without Up) is an error naming ``file:line`` before anything
runs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from devdb.errors import MigrationParseError
from devdb.migrations.lexer import has_code, skip_leading_noise, split_sql

FILENAME = re.compile(r"^(\d{14})_([a-z0-9_]+)\.sql$")
DIRECTIVE = "-- +migrate "
COMMANDS = ("Up", "Down", "StatementBegin", "StatementEnd")
# Anything that looks like a marker: "--+migrate", "--  + migrate", " -- +Migrate", ...
LOOKS_LIKE_MARKER = re.compile(r"^\s*--\s*\+\s*migrate", re.IGNORECASE)


@dataclass(frozen=True)
class Statement:
    """One statement to send; ``lines[k]`` is the file line of the statement's line ``k``."""

    sql: str
    lines: tuple[int, ...]
    first_col: int = 1

    @property
    def line(self) -> int:
        return self.lines[0]

    def locate(self, position: int) -> tuple[int, int]:
        """File (line, column) of a 1-based character position inside ``sql``."""
        before = self.sql[: max(position - 1, 0)]
        k = before.count("\n")
        col = len(before) - (before.rfind("\n") + 1) + 1
        if k == 0:
            col += self.first_col - 1
        return self.lines[min(k, len(self.lines) - 1)], col


@dataclass(frozen=True)
class Section:
    """The Up or Down part of a file."""

    direction: str
    line: int
    transactional: bool = True
    statements: tuple[Statement, ...] = ()


@dataclass(frozen=True)
class Migration:
    """A parsed migration file."""

    version: str
    name: str
    path: Path
    checksum: str
    up: Section
    down: Section | None

    @property
    def filename(self) -> str:
        return self.path.name


@dataclass
class _Builder:
    path: Path
    sections: dict[str, Section] = field(default_factory=dict)
    current: str | None = None
    block_start: int | None = None
    block: list[tuple[int, str]] = field(default_factory=list)
    plain: list[tuple[int, str]] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)
    options: dict[str, tuple[int, bool]] = field(default_factory=dict)

    def fail(self, line: int, message: str, hint: str) -> MigrationParseError:
        return MigrationParseError(f"{self.path.name}:{line}: {message}", hint)


def normalize(text: str) -> str:
    """What the checksum covers: no byte-order mark, LF line endings, no trailing spaces or
    trailing blank lines."""
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n") + "\n"


def checksum(text: str) -> str:
    return hashlib.sha256(normalize(text).encode()).hexdigest()


def split_filename(path: Path) -> tuple[str, str]:
    """``(version, description)`` of a migration file name, or a parse error."""
    match = FILENAME.match(path.name)
    if not match:
        raise MigrationParseError(
            f"{path.name}: not a migration file name",
            "Name migration files YYYYMMDDHHMMSS_verb_description.sql (lower case, digits and "
            "underscores); `invoke db.migrate.new NAME` writes one.",
        )
    return match.group(1), match.group(2)


def parse_file(path: Path) -> Migration:
    """Parse one file; raises ``MigrationParseError`` with ``file:line`` and a hint."""
    version, _ = split_filename(path)
    text = path.read_text(encoding="utf-8")
    return parse_text(text, path, version)


def parse_text(text: str, path: Path, version: str = "") -> Migration:
    b = _Builder(path)
    lines = normalize(text).split("\n")
    for number, line in enumerate(lines, start=1):
        _feed(b, number, line)
    _close_section(b, len(lines))
    if b.block_start is not None:
        raise b.fail(
            b.block_start,
            "-- +migrate StatementBegin is never closed",
            "Add a `-- +migrate StatementEnd` line after the statement.",
        )
    if "Up" not in b.sections:
        where = "has a Down section but no Up section" if b.sections else "has no Up section"
        raise b.fail(
            1,
            f"the file {where}",
            "Start the schema change with a line `-- +migrate Up` (and the undo with "
            "`-- +migrate Down`).",
        )
    return Migration(
        version=version or path.stem.split("_", 1)[0],
        name=path.stem,
        path=path,
        checksum=checksum(text),
        up=b.sections["Up"],
        down=b.sections.get("Down"),
    )


def _feed(b: _Builder, number: int, line: str) -> None:
    if line.startswith(DIRECTIVE):
        _directive(b, number, line)
        return
    if LOOKS_LIKE_MARKER.match(line):
        raise b.fail(
            number,
            f"malformed migration marker {line.strip()!r}",
            "Write markers exactly as `-- +migrate Up`, `-- +migrate Down`, "
            "`-- +migrate StatementBegin`, `-- +migrate StatementEnd` at the start of the line: "
            "sql-migrate silently treats anything else as SQL or a comment.",
        )
    if line.startswith("-- +"):
        raise b.fail(
            number,
            f"unknown directive {line.strip()!r}",
            "Only `-- +migrate ...` directives exist; start a plain comment with `-- ` and no `+`.",
        )
    if line.startswith("-- "):
        return  # a comment line; sql-migrate drops these too
    if b.current is None:
        return  # text before the first marker is ignored, as in sql-migrate
    if b.block_start is not None:
        b.block.append((number, line))
    else:
        b.plain.append((number, line))


def _directive(b: _Builder, number: int, line: str) -> None:
    words = line[len(DIRECTIVE) :].split()
    if not words or words[0] not in COMMANDS:
        got = words[0] if words else ""
        fix = next((c for c in COMMANDS if c.lower() == got.lower()), None)
        hint = (
            f"Write `-- +migrate {fix}` (directives are case-sensitive)."
            if fix
            else "Known directives: " + ", ".join(f"`-- +migrate {c}`" for c in COMMANDS) + "."
        )
        raise b.fail(number, f"unknown migration directive {line.strip()!r}", hint)
    command, options = words[0], words[1:]
    allowed = ["notransaction"] if command in ("Up", "Down") else []
    bad = [o for o in options if o not in allowed]
    if bad:
        raise b.fail(
            number,
            f"unknown option {bad[0]!r} on -- +migrate {command}",
            "The only option is `notransaction`, on Up or Down: `-- +migrate Up notransaction`.",
        )
    if command in ("Up", "Down"):
        _start_section(b, number, command, "notransaction" in options)
    elif command == "StatementBegin":
        _begin_block(b, number)
    else:
        _end_block(b, number)


def _start_section(b: _Builder, number: int, direction: str, notx: bool) -> None:
    if b.block_start is not None:
        raise b.fail(
            b.block_start,
            "-- +migrate StatementBegin is never closed",
            "Add a `-- +migrate StatementEnd` line before the next section.",
        )
    if direction in b.sections or direction in b.options:
        raise b.fail(
            number,
            f"a second -- +migrate {direction} section",
            "Keep one Up and one Down section per file; split the change into two migrations.",
        )
    _close_section(b, number)
    b.current = direction
    b.options[direction] = (number, not notx)


def _close_section(b: _Builder, number: int) -> None:
    if b.current is None:
        return
    _flush_plain(b)
    line, transactional = b.options[b.current]
    b.sections[b.current] = Section(b.current, line, transactional, tuple(b.statements))
    b.statements = []


def _begin_block(b: _Builder, number: int) -> None:
    if b.current is None:
        raise b.fail(
            number,
            "-- +migrate StatementBegin before any Up or Down section",
            "Put the block after `-- +migrate Up` or `-- +migrate Down`.",
        )
    if b.block_start is not None:
        raise b.fail(
            b.block_start,
            "-- +migrate StatementBegin is never closed (another StatementBegin follows)",
            "Add a `-- +migrate StatementEnd` line after the first statement.",
        )
    _flush_plain(b)
    b.block_start = number
    b.block = []


def _end_block(b: _Builder, number: int) -> None:
    if b.block_start is None:
        raise b.fail(
            number,
            "-- +migrate StatementEnd without a StatementBegin",
            "Add `-- +migrate StatementBegin` before the statement, or remove this line.",
        )
    text = "\n".join(line for _, line in b.block)
    if has_code(text):
        start = _leading_skip(b.block)
        kept = b.block[start:]
        sql = "\n".join(line for _, line in kept).rstrip()
        b.statements.append(Statement(sql, tuple(n for n, _ in kept)))
    b.block_start = None
    b.block = []


def _leading_skip(lines: list[tuple[int, str]]) -> int:
    k = 0
    while k < len(lines) - 1 and not lines[k][1].strip():
        k += 1
    return k


def _flush_plain(b: _Builder) -> None:
    """Split the collected plain lines into statements at top-level semicolons."""
    if not b.plain:
        return
    text = "\n".join(line for _, line in b.plain)
    starts = [0]
    for _, text_line in b.plain[:-1]:
        starts.append(starts[-1] + len(text_line) + 1)
    numbers = [n for n, _ in b.plain]
    pieces, rest, problem = split_sql(text)
    for begin, end in pieces:
        b.statements.append(_make_statement(text, begin, end, starts, numbers))
    if problem is not None:
        what, offset = problem
        raise b.fail(
            numbers[_line_index(starts, offset)],
            f"{what} is never closed",
            f"Close the {what} (or fix its quoting).",
        )
    if has_code(text[rest:]):
        raise b.fail(
            numbers[_line_index(starts, skip_leading_noise(text, rest, len(text)))],
            "statement without a terminating semicolon",
            "End the statement with `;` (sql-migrate rejects this too), or wrap it in "
            "`-- +migrate StatementBegin` / `-- +migrate StatementEnd`.",
        )
    b.plain = []


def _line_index(starts: list[int], offset: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _make_statement(
    text: str, begin: int, end: int, starts: list[int], numbers: list[int]
) -> Statement:
    begin = skip_leading_noise(text, begin, end)
    first = _line_index(starts, begin)
    last = _line_index(starts, end - 1)
    return Statement(
        text[begin:end],
        tuple(numbers[first : last + 1]),
        first_col=begin - starts[first] + 1,
    )
