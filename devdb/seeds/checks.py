"""Bulk loads into empty tables without per-row foreign-key triggers, checked set-wise instead.

PostgreSQL checks a foreign key with one query per inserted row. When the role may set
``session_replication_role`` (a superuser: the owner of a devdb-run server), a COPY into an
empty table runs in ``replica`` mode (no triggers, so no per-row checks; inserts into an empty
table cascade nothing) and each of the table's foreign keys is then checked with one anti-join.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devdb.errors import SeedError
from devdb.seeds.api import Table
from devdb.seeds.diagnose import NOTHING_LOADED, find_row

if TYPE_CHECKING:
    import psycopg

FOREIGN_KEYS_OF = """
SELECT c.conname, c.confrelid::regclass::text,
       array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o),
       array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)
FROM pg_constraint c
WHERE c.contype = 'f' AND c.conrelid = %s::regclass
ORDER BY c.conname
"""


def can_skip_triggers(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT current_setting('is_superuser') = 'on'").fetchone()
    return bool(row and row[0])


def replica(conn: psycopg.Connection[Any], on: bool) -> None:
    role = "replica" if on else "origin"
    conn.execute(f"SET LOCAL session_replication_role = {role}".encode())


def check_foreign_keys(
    conn: psycopg.Connection[Any], table: Table, rel: str, profile: str, scale: float
) -> None:
    """Raise SeedError (seed, table, row, constraint) if a row of ``table`` has no parent."""
    from psycopg import sql

    for name, parent, cols, parent_cols in conn.execute(FOREIGN_KEYS_OF, (rel,)).fetchall():
        stmt = sql.SQL(
            "SELECT {shown} FROM {child} t WHERE {not_null} AND NOT EXISTS "
            "(SELECT 1 FROM {parent} p WHERE {match}) LIMIT 1"
        ).format(
            shown=sql.SQL(" || ', ' || ").join(
                sql.SQL("t.{}::text").format(sql.Identifier(c)) for c in cols
            ),
            child=sql.SQL(rel),
            not_null=sql.SQL(" AND ").join(
                sql.SQL("t.{} IS NOT NULL").format(sql.Identifier(c)) for c in cols
            ),
            parent=sql.SQL(parent),
            match=sql.SQL(" AND ").join(
                sql.SQL("p.{} = t.{}").format(sql.Identifier(pc), sql.Identifier(c))
                for c, pc in zip(cols, parent_cols, strict=True)
            ),
        )
        orphan = conn.execute(stmt).fetchone()
        if orphan is not None:
            raise _orphan_error(
                table,
                constraint=name,
                parent=parent,
                cols=cols,
                values=str(orphan[0]),
                profile=profile,
                scale=scale,
            )


def _orphan_error(
    table: Table,
    *,
    constraint: str,
    parent: str,
    cols: list[str],
    values: str,
    profile: str,
    scale: float,
) -> SeedError:
    parts = values.split(", ")
    wanted = [(c, v, False) for c, v in zip(cols, parts, strict=False)]
    row = find_row(table, wanted, profile, scale) if len(parts) == len(cols) else None
    where = f"seed {table.seed}: table {table.name}" + (f", row {row}" if row is not None else "")
    return SeedError(
        f'{where}: insert or update on table "{table.relname}" violates foreign key constraint '
        f'"{constraint}" (constraint {constraint})',
        f"Key ({', '.join(cols)})=({values}) is not present in table {parent}. {NOTHING_LOADED}",
    )
