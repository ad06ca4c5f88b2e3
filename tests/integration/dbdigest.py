"""A digest of a database's schema and content, to compare states exactly in tests."""

from __future__ import annotations

import hashlib

from devdb.conninfo import ConnInfo
from devdb.database import connect

_TABLES = """
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1
"""
_COLUMNS = """
SELECT table_schema, table_name, column_name, data_type, is_nullable, column_default
FROM information_schema.columns
WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2, 3
"""
_INDEXES = """
SELECT schemaname, indexname, indexdef FROM pg_indexes
WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2
"""


def content_digest(info: ConnInfo) -> str:
    """sha256 over columns, indexes and every row of every table (rows in a stable order)."""
    h = hashlib.sha256()
    with connect(info, autocommit=True) as conn:
        for query in (_COLUMNS, _INDEXES):
            h.update(repr(conn.execute(query).fetchall()).encode())
        for (table,) in conn.execute(_TABLES).fetchall():
            row = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                f"FROM {table} t"
            ).fetchone()
            h.update(f"{table}:{row}".encode())
    return h.hexdigest()
