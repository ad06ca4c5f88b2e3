"""``CREATE INDEX CONCURRENTLY`` that was interrupted leaves an invalid index behind and the
migration unrecorded. A rerun must not skip it (``IF NOT EXISTS`` would) and record the migration
with the index unusable: before such a statement runs again, the invalid index of the same name
is dropped so the statement builds it anew; before the migration is recorded, every index its
concurrent statements name must be valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devdb.errors import MigrationFailed

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[Any]

CONCURRENT_INDEX = re.compile(r"^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY\b", re.IGNORECASE)
# The index of that name in the schema of the table the statement names (resolved like the
# statement: through the search_path when the table is unqualified).
INDEX_STATE = """
SELECT format('%%I.%%I', n.nspname, c.relname), i.indisvalid
FROM pg_class t
JOIN pg_class c ON c.relnamespace = t.relnamespace AND c.relname = %s
JOIN pg_index i ON i.indexrelid = c.oid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE t.oid = to_regclass(%s)
"""


INDEXES_OF = """
SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.indrelid = to_regclass(%s)
"""
# Invalid indexes on the table defined like the one just created, names aside.
TWINS = """
SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.indrelid = to_regclass(%s) AND NOT i.indisvalid
  AND regexp_replace(pg_get_indexdef(i.indexrelid), ' INDEX \\S+ ON ', ' INDEX ON ')
    = regexp_replace(pg_get_indexdef(to_regclass(%s)), ' INDEX \\S+ ON ', ' INDEX ON ')
"""


@dataclass(frozen=True)
class ConcurrentIndex:
    """What one ``CREATE INDEX CONCURRENTLY`` statement creates."""

    name: str  # empty: PostgreSQL chooses the name
    table: str  # as to_regclass reads it: quoted identifiers, schema-qualified when written so


def concurrent_index(sql: str) -> ConcurrentIndex | None:
    """The named index a ``CREATE INDEX CONCURRENTLY`` statement creates (None otherwise)."""
    if not CONCURRENT_INDEX.match(sql):
        return None
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    try:
        (raw,) = parse_sql(sql)
    except (ParseError, ValueError):
        return None  # the server will report it
    stmt = raw.stmt
    if not isinstance(stmt, ast.IndexStmt) or stmt.relation is None:
        return None
    rel = stmt.relation
    table = _quote(rel.relname or "")
    if rel.schemaname:
        table = f"{_quote(rel.schemaname)}.{table}"
    return ConcurrentIndex(str(stmt.idxname or ""), table)


def execute(conn: Conn, sql: str) -> ConcurrentIndex | None:
    """Run one statement. Before a named ``CREATE INDEX CONCURRENTLY``, drop the invalid index
    of that name an interrupted run left; after an unnamed one (its name chosen anew, ``_idx1``),
    drop invalid indexes of the same definition on the table. Returns the named index."""
    target = concurrent_index(sql)
    if target is None:
        conn.execute(sql)
        return None
    if target.name:
        drop_leftover(conn, target)
        conn.execute(sql)
        return target
    before = _names(conn, target.table)
    conn.execute(sql)
    for created in _names(conn, target.table) - before:
        for twin in conn.execute(TWINS, (target.table, created)).fetchall():
            conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {twin[0]}")
    return None


def _names(conn: Conn, table: str) -> set[str]:
    rows = conn.execute(INDEXES_OF, (table,)).fetchall()
    return {str(r[0]) for r in rows}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def state(conn: Conn, index: ConcurrentIndex) -> tuple[str, bool] | None:
    """``(qualified name, valid)`` of the index, or None when it does not exist."""
    row = conn.execute(INDEX_STATE, (index.name, index.table)).fetchone()
    return (str(row[0]), bool(row[1])) if row else None


def drop_leftover(conn: Conn, index: ConcurrentIndex) -> str | None:
    """Drop the invalid index an interrupted earlier run left; returns its name if it did."""
    found = state(conn, index)
    if found is None or found[1]:
        return None
    conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {found[0]}")
    return found[0]


def require_valid(conn: Conn, indexes: list[ConcurrentIndex], filename: str) -> None:
    """Refuse to record the migration while one of its indexes is invalid."""
    bad = [found[0] for ix in indexes if (found := state(conn, ix)) and not found[1]]
    if bad:
        raise MigrationFailed(
            f"{filename}: index {', '.join(bad)} is invalid after the migration ran; "
            "the migration is not recorded",
            f"Drop it (DROP INDEX CONCURRENTLY {bad[0]};) and run `invoke db.migrate` again, "
            "or find out why the build fails (a duplicate key, a deadlock).",
        )
