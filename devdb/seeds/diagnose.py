"""After a failed load: which seed, table, row number and constraint, as one SeedError.

COPY errors carry the line number in their context. Merge errors carry the offending key or row
in their detail; the table is regenerated (deterministic, so identical) to find that row.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from devdb.errors import SeedError
from devdb.seeds.api import REGISTRY, Table
from devdb.seeds.generate import chunk_ranges, format_column

if TYPE_CHECKING:
    from devdb.seeds.load import Step

NOTHING_LOADED = "Nothing was loaded: the database and the seed ledger are as they were."
_COPY_LINE = re.compile(r"COPY [^,]+, line (\d+)")
_KEY = re.compile(r"Key \((?P<cols>.+?)\)=\((?P<vals>.*)\) (?:already exists|is not present)")
_FAILING = re.compile(r"Failing row contains \((?P<vals>.*)\)")
_FUNC = re.compile(r"^\w+\((\w+)\)$")


def database_error(exc: Any, step: Step, profile: str, scale: float) -> SeedError:
    """Turn a psycopg error raised during ``step`` into a SeedError that names everything."""
    diag = exc.diag
    primary = diag.message_primary or str(exc).strip().splitlines()[0]
    if step.table is None and diag.table_name and not step.what.startswith("sql:"):
        table = REGISTRY.get(f"{diag.schema_name}.{diag.table_name}")
        if table is not None:  # a deferred foreign key checked at the end
            step.at(table.seed, table, step.what)
    where = f"seed {step.seed}"
    if step.table is not None:
        where += f": table {step.table.name}"
        row = locate(step, diag, profile, scale)
        if row is not None:
            where += f", row {row}"
    elif step.what.startswith("sql:"):
        where += f" ({step.what[4:]}{_sql_line(step, diag)})"
    if diag.constraint_name:
        primary += f" (constraint {diag.constraint_name})"
    hint = " ".join(x for x in (diag.message_detail, NOTHING_LOADED) if x)
    return SeedError(f"{where}: {primary}", hint)


def _sql_line(step: Step, diag: Any) -> str:
    position = diag.statement_position
    text = step.sql_text
    if not position or not text:
        return ""
    return f", line {text[: int(position)].count(chr(10)) + 1}"


def locate(step: Step, diag: Any, profile: str, scale: float) -> int | None:
    """The row number the error is about, when it can be found."""
    assert step.table is not None
    match = _COPY_LINE.search(diag.context or "")
    if match:
        k = int(match.group(1)) - 1
        if 0 <= k < len(step.rows):
            return step.rows[k]
    wanted = _wanted(step.table, diag.message_detail or "")
    if not wanted:
        return None
    try:
        return find_row(step.table, wanted, profile, scale)
    except Exception:
        return None


def _wanted(table: Table, detail: str) -> list[tuple[str, str, bool]]:
    """(column, value as PostgreSQL prints it, compare lower-cased) from an error detail."""
    key = _KEY.search(detail)
    if key:
        names = [n.strip() for n in key.group("cols").split(", ")]
        values = key.group("vals").split(", ") if len(names) > 1 else [key.group("vals")]
        out = []
        for name, value in zip(names, values, strict=False):
            func = _FUNC.match(name)
            out.append((func.group(1) if func else name, value, bool(func)))
        return out
    failing = _FAILING.search(detail)
    if failing and table.id:
        return [("id", failing.group("vals").split(", ")[0], False)]
    return []


def find_row(
    table: Table, wanted: list[tuple[str, str, bool]], profile: str, scale: float
) -> int | None:
    columns = [c for c, _, _ in wanted]
    if any(c not in table.load_columns for c in columns):
        return None
    for lo, hi in chunk_ranges(table.count(profile, scale)):
        rows = list(table.kept_rows(range(lo, hi), profile, scale))
        built = table.build_columns(rows, profile, scale)
        texts = [format_column(built[c]) for c in columns]
        for k, i in enumerate(rows):
            if all(_same(t[k], v, low) for t, (_, v, low) in zip(texts, wanted, strict=True)):
                return i
    return None


def _same(text: str, value: str, lower: bool) -> bool:
    return text.lower() == value.lower() if lower else text == value
