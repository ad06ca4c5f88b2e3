"""Reading migration files: sql-migrate, goose or dbmate format (detected per file), run as written.

Each statement is the exact text of the file from its first token to its ``;`` (what psql would
send): nothing inside it is changed, not trailing spaces, not comment lines inside a string or a
function body. Statements are split by PostgreSQL's own grammar (``devdb.migrations.split``);
a StatementBegin/StatementEnd block is one statement, as written. Normalization (line endings,
trailing spaces) is for the checksum only.

Anything a tool would silently misread (a mis-cased or unknown directive, a marker with stray
spaces, an unclosed StatementBegin, a file without Up, a statement without its ``;``) is an
error naming ``file:line`` before anything runs.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from devdb.errors import MigrationParseError
from devdb.migrations.formats import MarkerError, detect, markers
from devdb.migrations.layout import Plan, layout
from devdb.migrations.split import Unclosed, skip_noise, split_all

VERSIONED = re.compile(r"^(\d+)_")
NUMBER_PREFIX = re.compile(r"^(\d+)")


@dataclass(frozen=True)
class Source:
    """A file's text, and where its lines start (for ``file:line:column``)."""

    text: str

    @cached_property
    def line_starts(self) -> list[int]:
        return [0, *(m.end() for m in re.finditer("\n", self.text))]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return index + 1, offset - self.line_starts[index] + 1


@dataclass(frozen=True)
class Statement:
    """One statement: its exact text and the offset where it starts in its file."""

    sql: str
    offset: int = 0
    source: Source = field(default_factory=lambda: Source(""), repr=False, compare=False)

    @property
    def line(self) -> int:
        return self.source.position(self.offset)[0]

    @property
    def first_col(self) -> int:
        return self.source.position(self.offset)[1]

    def locate(self, position: int) -> tuple[int, int]:
        """File (line, column) of a 1-based character position inside ``sql``."""
        inside = min(max(position - 1, 0), max(len(self.sql) - 1, 0))
        return self.source.position(self.offset + inside)


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
    format: str = "sql-migrate"

    @property
    def filename(self) -> str:
        return self.path.name


def normalize(text: str) -> str:
    """What the checksum covers: no byte-order mark, LF line endings, no trailing spaces or
    trailing blank lines."""
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n") + "\n"


def checksum(text: str) -> str:
    return hashlib.sha256(normalize(text).encode()).hexdigest()


def split_filename(path: Path) -> tuple[str, str]:
    """``(version, description)``: the number before the first ``_`` (``0003_add_index.sql``:
    ``0003``), else the whole name without ``.sql`` (``2023-10-16.0.add-wallets``)."""
    match = VERSIONED.match(path.name)
    if match:
        return match.group(1), path.stem[match.end() :]
    return path.stem, path.stem


def order(version: str) -> tuple[int, int, str]:
    """sql-migrate's order: numeric prefix first (as a number), then by name; names without a
    numeric prefix after all numbered ones."""
    match = NUMBER_PREFIX.match(version)
    if match:
        return 0, int(match.group(1)), version
    return 1, 0, version


def read_source(path: Path) -> str:
    """The file as text (a byte-order mark dropped); unreadable, binary or non-UTF-8 files are
    a parse error."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MigrationParseError(
            f"{path.name}: cannot read the file ({exc.strerror or exc})",
            "Check that the file exists and that you may read it (permissions, a broken link).",
        ) from exc
    if b"\0" in data:
        raise MigrationParseError(
            f"{path.name}: a binary file, not SQL text",
            "Migration files are UTF-8 SQL text; move other files out of the migrations folder.",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise MigrationParseError(
            f"{path.name}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x})",
            "Save the file as UTF-8 (PostgreSQL and every migration tool read it so).",
        ) from exc
    return text


def parse_file(path: Path) -> Migration:
    """Parse one file; raises ``MigrationParseError`` with ``file:line`` and a hint."""
    version, _ = split_filename(path)
    return parse_text(read_source(path), path, version)


def _fail(path: Path, line: int, message: str, hint: str) -> MigrationParseError:
    return MigrationParseError(f"{path.name}:{line}: {message}", hint)


def parse_text(text: str, path: Path, version: str = "") -> Migration:
    sha = checksum(text)
    text = text.removeprefix("\ufeff")
    fmt = detect(text)
    if fmt is None:
        raise _fail(
            path,
            1,
            "the file has no Up section",
            "Start the schema change with a line `-- +migrate Up` (sql-migrate), "
            "`-- +goose Up` (goose) or `-- migrate:up` (dbmate).",
        )
    try:
        found = markers(text, fmt)
        plans = layout(text, fmt, found)
    except MarkerError as exc:
        raise _fail(path, int(exc.args[1]), exc.message, exc.hint) from exc
    if fmt != "sql-migrate":
        _nothing_before(text, found[0].start, path, fmt)
    if "up" not in plans:
        raise _fail(
            path,
            1,
            "the file has a Down section but no Up section",
            "Start the schema change with an Up marker before the Down.",
        )
    source = Source(text)
    sections = {d: _section(source, plan, fmt, path) for d, plan in plans.items()}
    return Migration(
        version=version or split_filename(path)[0],
        name=path.stem,
        path=path,
        checksum=sha,
        up=sections["up"],
        down=sections.get("down"),
        format=fmt,
    )


def _nothing_before(text: str, first: int, path: Path, fmt: str) -> None:
    """goose and dbmate refuse SQL before the first marker (sql-migrate ignores it)."""
    for number, line in enumerate(text[:first].split("\n"), start=1):
        if line.strip() and not line.lstrip().startswith("--"):
            raise _fail(
                path,
                number,
                f"SQL before the first {fmt} marker",
                f"{fmt} refuses statements outside the Up and Down sections: move it below "
                "the Up marker.",
            )


def _section(source: Source, plan: Plan, fmt: str, path: Path) -> Section:
    statements: list[Statement] = []
    for kind, begin, end in plan.regions:
        if kind == "block":
            statements.extend(_block(source, begin, end))
        else:
            statements.extend(_plain(source, begin, end, fmt == "dbmate", path))
    direction = plan.direction.capitalize()
    if plan.transactional:
        _no_transaction_control(statements, path)
    return Section(direction, plan.line, plan.transactional, tuple(statements))


# Statements that end (or start) the transaction a migration runs in with its tracking row;
# SAVEPOINT, RELEASE and ROLLBACK TO stay inside it and are allowed.
_TRANSACTION_CONTROL = re.compile(
    r"(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK(?!\s+TO\b)|ABORT|PREPARE\s+TRANSACTION)\b",
    re.IGNORECASE,
)
_LEADING_NOISE = re.compile(r"(\s+|--[^\n]*|/\*.*?\*/)*", re.DOTALL)


def _no_transaction_control(statements: list[Statement], path: Path) -> None:
    """A transactional section may not end its transaction: what ran before a COMMIT would stay
    applied, unrecorded, when a later statement fails."""
    for stmt in statements:
        noise = _LEADING_NOISE.match(stmt.sql)
        found = _TRANSACTION_CONTROL.match(stmt.sql, noise.end() if noise else 0)
        if found:
            word = " ".join(found.group(1).split()).upper()
            raise _fail(
                path,
                stmt.line,
                f"{word} in a section that runs in a transaction: "
                f"`{stmt.sql.splitlines()[0].strip()}`",
                "devdb runs each migration in one transaction with its tracking row: remove "
                "the statement, or run the section without one (`-- +migrate Up notransaction`,"
                " goose `-- +goose NO TRANSACTION`, dbmate `-- migrate:up transaction:false`).",
            )


def _no_meta_command(source: Source, begin: int, spans: list[tuple[int, int]], path: Path) -> None:
    """A statement that starts with a backslash is a psql meta-command (``\\i``, ``\\set``):
    psql runs those itself, and devdb sends SQL to the server only."""
    for s, e in spans:
        text = source.text[begin + s : begin + e]
        noise = _LEADING_NOISE.match(text)
        at = noise.end() if noise else 0
        if text.startswith("\\", at):
            raise _fail(
                path,
                source.position(begin + s + at)[0],
                f"psql meta-command `{text[at:].splitlines()[0].strip()}` is not SQL",
                "devdb sends SQL to the server, without psql: write the SQL itself in the "
                "migration (for `\\i FILE`, the statements of FILE).",
            )


def _block(source: Source, begin: int, end: int) -> list[Statement]:
    start = skip_noise(source.text, begin, end, blocks=False)  # as psql: /* */ is sent
    stop = len(source.text[start:end].rstrip()) + start
    return [Statement(source.text[start:stop], start, source)] if start < stop else []


def _plain(source: Source, begin: int, end: int, tail_ok: bool, path: Path) -> list[Statement]:
    """The statements of ``source.text[begin:end]``. standard_conforming_strings is on as each
    region starts (the server default) and follows the SET statements inside it."""
    text = source.text[begin:end]
    try:
        spans, last = split_all(text)
    except Unclosed as exc:
        line = source.position(begin + exc.offset)[0]
        message = f"{exc.what} is never closed"
        raise _fail(path, line, message, "Close it (or fix its quoting).") from exc
    spans += last.spans
    _no_meta_command(source, begin, [*spans, *([last.tail] if last.tail else [])], path)
    if last.tail is not None:
        if not tail_ok:
            raise _fail(
                path,
                source.position(begin + last.tail[0])[0],
                "statement without a terminating semicolon",
                "End the statement with `;` (sql-migrate and goose reject this too), or wrap it "
                "in StatementBegin / StatementEnd markers.",
            )
        spans.append(last.tail)
    return [Statement(text[s:e], begin + s, source) for s, e in spans]
