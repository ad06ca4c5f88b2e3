"""Loading: COPY into staging, merge into the tables, in foreign-key order, in one transaction.

For the stale seeds of a run, in one transaction:

1. each table (file order, which is foreign-key order): an empty table is marked for a direct
   COPY; otherwise its rows are COPYed into a temporary staging table;
2. in reverse order, rows that are no longer in the output are deleted (unless ``prune=False``;
   for uuid ids only rows with version-5 ids, i.e. rows a seed made);
3. in order, direct tables get their COPY, staged ones ``INSERT ... ON CONFLICT (key) DO UPDATE
   ... WHERE (columns) IS DISTINCT FROM (EXCLUDED columns)``, so unchanged rows are not touched;
4. sequences are moved past explicit ids, changed tables analyzed, ``.sql`` seeds run, the ledger
   written.

User triggers of the loaded tables are disabled for the transaction, so seeded values (such as
``updated_at``) are stored as generated. Any error rolls everything back, ledger included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from devdb.seeds.api import Table
from devdb.seeds.compact import RowMap
from devdb.seeds.generate import Generator

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

    from devdb.seeds.progress import Progress


@dataclass
class TableLoad:
    """What happened to one table."""

    table: Table
    direct: bool = False
    stage: str = ""
    rows: int = 0  # rows in the table after the load
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    replaced: int = 0  # changed rows deleted before the merge, so it re-inserts them
    generated: RowMap = field(default_factory=RowMap)  # row numbers by COPY line


class Step:
    """Where the load is, so an error can name the seed, the table and the row."""

    def __init__(self) -> None:
        self.seed = ""
        self.table: Table | None = None
        self.what = ""
        self.rows: RowMap = RowMap()
        self.sql_text = ""

    def at(self, seed: str, table: Table | None, what: str) -> None:
        self.seed, self.table, self.what, self.rows = seed, table, what, RowMap()


def ident(table: Table) -> sql.Composable:
    from psycopg import sql

    return sql.Identifier(table.schema, table.relname)


def col_list(columns: list[str], prefix: str | None = None) -> sql.Composable:
    from psycopg import sql

    if prefix:
        return sql.SQL(", ").join(sql.Identifier(prefix, c) for c in columns)
    return sql.SQL(", ").join(sql.Identifier(c) for c in columns)


def set_triggers(conn: psycopg.Connection[Any], tables: list[Table], *, enabled: bool) -> None:
    from psycopg import sql

    verb = sql.SQL("ENABLE" if enabled else "DISABLE")
    for t in tables:
        conn.execute(sql.SQL("ALTER TABLE {} {} TRIGGER USER").format(ident(t), verb))


FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c
WHERE c.contype = 'f' AND NOT c.condeferrable
  AND (c.conrelid = ANY(%(tables)s::regclass[]) OR c.confrelid = ANY(%(tables)s::regclass[]))
ORDER BY 1, 2
"""


def require_tables(conn: psycopg.Connection[Any], tables: list[Table]) -> None:
    from devdb.errors import SeedError

    names = [ident_text(t) for t in tables]
    rows = conn.execute(
        "SELECT n FROM unnest(%s::text[]) n WHERE to_regclass(n) IS NULL", (names,)
    ).fetchall()
    missing = {r[0] for r in rows}
    for t in tables:
        if ident_text(t) in missing:
            raise SeedError(
                f"seed {t.seed}: table {t.name} does not exist",
                "Run the migrations first (`invoke db.migrate`), or fix the table name.",
            )


def defer_foreign_keys(conn: psycopg.Connection[Any], tables: list[Table]) -> list[tuple[str, str]]:
    """Make the foreign keys touching ``tables`` deferred for this transaction, so the order of
    deletes and updates within it does not matter; returns them for ``check_foreign_keys``."""
    from psycopg import sql

    names = [ident_text(t) for t in tables]
    keys = [(str(r[0]), str(r[1])) for r in conn.execute(FOREIGN_KEYS, {"tables": names})]
    for rel, name in keys:
        conn.execute(
            sql.SQL("ALTER TABLE {} ALTER CONSTRAINT {} DEFERRABLE INITIALLY DEFERRED").format(
                sql.SQL(rel), sql.Identifier(name)
            )
        )
    conn.execute("SET CONSTRAINTS ALL DEFERRED")
    return keys


def check_foreign_keys(conn: psycopg.Connection[Any], keys: list[tuple[str, str]]) -> None:
    """Check the deferred foreign keys now, then make them NOT DEFERRABLE again."""
    from psycopg import sql

    conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for rel, name in keys:
        conn.execute(
            sql.SQL("ALTER TABLE {} ALTER CONSTRAINT {} NOT DEFERRABLE").format(
                sql.SQL(rel), sql.Identifier(name)
            )
        )


def is_empty(conn: psycopg.Connection[Any], table: Table) -> bool:
    from psycopg import sql

    row = conn.execute(sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(ident(table)))
    result = row.fetchone()
    return bool(result and result[0])


def copy_rows(
    conn: psycopg.Connection[Any],
    target: sql.Composable,
    load: TableLoad,
    *,
    gen: Generator,
    step: Step,
    progress: Progress,
) -> None:
    """Generate ``load.table`` and COPY it into ``target`` (the table or its staging table),
    chunk by chunk: only the chunks in flight are in memory, whatever the table's size."""
    from psycopg import sql

    t = load.table
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(target, col_list(t.load_columns))
    step.rows = load.generated
    progress.start(t.name, t.count(gen.profile, gen.scale))
    with conn.cursor() as cur, cur.copy(stmt) as copy:
        for chunk in gen.chunks(t):
            load.generated.add(chunk.rows)
            copy.write(chunk.text)
            progress.advance(t.name, chunk.rows[-1] + 1 if chunk.rows else 0)
    progress.finish(t.name)


def stage(
    conn: psycopg.Connection[Any],
    load: TableLoad,
    n: int,
    *,
    gen: Generator,
    step: Step,
    progress: Progress,
) -> None:
    from psycopg import sql

    load.stage = f"_devdb_seed_stage_{n}"
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(
            sql.Identifier(load.stage), ident(load.table)
        )
    )
    copy_rows(conn, sql.Identifier(load.stage), load, gen=gen, step=step, progress=progress)


def prune(conn: psycopg.Connection[Any], load: TableLoad) -> None:
    """Delete the rows of the table that are not in the seed's output."""
    from psycopg import sql

    key = load.table.key
    match = sql.SQL(" AND ").join(sql.SQL("s.{c} = t.{c}").format(c=sql.Identifier(c)) for c in key)
    # uuid ids: only rows a seed made (version-5 ids); rows added by hand or by SQL seeds stay.
    seeded = sql.SQL(" AND t.id::text LIKE '______________5%'" if load.table.id == "uuid" else "")
    cur = conn.execute(
        sql.SQL("DELETE FROM {} AS t WHERE NOT EXISTS (SELECT 1 FROM {} AS s WHERE {}){}").format(
            ident(load.table), sql.Identifier(load.stage), match, seeded
        )
    )
    load.deleted = max(cur.rowcount, 0)


UNIQUE_INDEXES = "SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass AND indisunique"


def release_unique_values(conn: psycopg.Connection[Any], load: TableLoad) -> None:
    """Delete the rows whose seeded values changed, when the table has a unique index besides
    its key, so the merge re-inserts them. Needed when a unique value moves from one row to
    another (a profile or scale change reshuffles memberships, say): ``ON CONFLICT`` handles one
    constraint only. Foreign keys are deferred, and child rows removed by ON DELETE CASCADE
    come back from their own staging tables, which are merged after their parents."""
    from psycopg import sql

    t = load.table
    row = conn.execute(UNIQUE_INDEXES, (ident_text(t),)).fetchone()
    values = [c for c in t.load_columns if c not in t.key]
    if row is None or int(row[0]) < 2 or not values:
        return
    match = sql.SQL(" AND ").join(
        sql.SQL("s.{c} = t.{c}").format(c=sql.Identifier(c)) for c in t.key
    )
    cur = conn.execute(
        sql.SQL(
            "DELETE FROM {t} AS t USING {s} AS s WHERE {match} AND ({old}) IS DISTINCT FROM ({new})"
        ).format(
            t=ident(t),
            s=sql.Identifier(load.stage),
            match=match,
            old=col_list(values, "t"),
            new=col_list(values, "s"),
        )
    )
    load.replaced = max(cur.rowcount, 0)


def merge_or_release(conn: psycopg.Connection[Any], load: TableLoad) -> None:
    """Merge; when a unique value moved between rows, release the changed rows and merge again."""
    import psycopg

    try:
        with conn.transaction():  # a savepoint: a failed merge leaves nothing behind
            merge(conn, load)
    except psycopg.errors.UniqueViolation:
        release_unique_values(conn, load)
        merge(conn, load)


def merge(conn: psycopg.Connection[Any], load: TableLoad) -> None:
    """Upsert the staged rows; rows equal to the seed's are left alone (not even rewritten)."""
    from psycopg import sql

    t = load.table
    cols = t.load_columns
    values = [c for c in cols if c not in t.key]
    action: sql.Composable
    if values:
        action = sql.SQL("DO UPDATE SET {sets} WHERE ({old}) IS DISTINCT FROM ({new})").format(
            sets=sql.SQL(", ").join(
                sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in values
            ),
            old=col_list(values, "t"),
            new=col_list(values, "excluded"),
        )
    else:
        action = sql.SQL("DO NOTHING")
    overriding = sql.SQL("OVERRIDING SYSTEM VALUE ") if t.id == "identity" else sql.SQL("")
    stmt = sql.SQL(
        "WITH up AS (INSERT INTO {t} AS t ({cols}) {ovr}SELECT {cols} FROM {s} ORDER BY {key} "
        "ON CONFLICT ({key}) {action} RETURNING (xmax = 0) AS inserted) "
        "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up"
    ).format(
        t=ident(t),
        cols=col_list(cols),
        ovr=overriding,
        s=sql.Identifier(load.stage),
        key=col_list(list(t.key)),
        action=action,
    )
    row = conn.execute(stmt).fetchone()
    load.inserted, load.updated = (int(row[0]), int(row[1])) if row else (0, 0)
    load.inserted -= load.replaced  # re-inserted after release_unique_values: an update
    load.updated += load.replaced


def fix_sequences(conn: psycopg.Connection[Any], table: Table) -> None:
    """Move identity/serial sequences past the largest explicit value."""
    from psycopg import sql

    rows = conn.execute(
        "SELECT a.attname, pg_get_serial_sequence(%s, a.attname) FROM pg_attribute a "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
        (ident_text(table), ident_text(table)),
    ).fetchall()
    for column, sequence in rows:
        if sequence and column in table.load_columns:
            conn.execute(
                sql.SQL(
                    "SELECT setval({seq}, coalesce(max({c}), 1), max({c}) IS NOT NULL) FROM {t}"
                ).format(seq=sql.Literal(sequence), c=sql.Identifier(column), t=ident(table))
            )


def ident_text(table: Table) -> str:
    """``"schema"."table"`` as text (for regclass casts)."""
    return '"{}"."{}"'.format(table.schema.replace('"', '""'), table.relname.replace('"', '""'))


def count_rows(conn: psycopg.Connection[Any], table: Table) -> int:
    from psycopg import sql

    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(ident(table))).fetchone()
    return int(row[0]) if row else 0


def analyze(conn: psycopg.Connection[Any], table: Table) -> None:
    from psycopg import sql

    conn.execute(sql.SQL("ANALYZE {}").format(ident(table)))
