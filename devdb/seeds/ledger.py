"""The seed ledger: what was loaded, and a cheap check that the tables still hold it.

``devdb.seed_ledger`` has one row per seed: its digest (seed code, profile, scale, schema
version, Faker version), the row count of each of its tables after the load, and the id of the
loading transaction. A seed is fresh only when the digest matches, every table still has that
row count, and no row is newer than that transaction (``xmin``): one sequential scan per table
without reading values, which catches an emptied table, deleted, inserted or edited rows, and a
recreated database (whose ledger is gone).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

LEDGER = "devdb.seed_ledger"

CREATE = """
CREATE SCHEMA IF NOT EXISTS devdb;
CREATE TABLE IF NOT EXISTS devdb.seed_ledger (
    seed            text PRIMARY KEY,
    kind            text NOT NULL,
    digest          text NOT NULL,
    profile         text NOT NULL,
    scale           double precision NOT NULL,
    faker_version   text NOT NULL,
    schema_version  text NOT NULL,
    tables          jsonb NOT NULL DEFAULT '{}',
    xid             bigint NOT NULL,
    loaded_at       timestamptz NOT NULL DEFAULT now(),
    seconds         double precision NOT NULL DEFAULT 0
)
"""

UPSERT = """
INSERT INTO devdb.seed_ledger AS l
    (seed, kind, digest, profile, scale, faker_version, schema_version, tables, xid, seconds)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, pg_current_xact_id()::text::bigint %% 4294967296, %s)
ON CONFLICT (seed) DO UPDATE SET
    kind = EXCLUDED.kind, digest = EXCLUDED.digest, profile = EXCLUDED.profile,
    scale = EXCLUDED.scale, faker_version = EXCLUDED.faker_version,
    schema_version = EXCLUDED.schema_version, tables = EXCLUDED.tables, xid = EXCLUDED.xid,
    loaded_at = now(), seconds = EXCLUDED.seconds
"""


@dataclass
class Entry:
    seed: str
    kind: str
    digest: str
    profile: str
    scale: float
    tables: dict[str, int]
    xid: int
    loaded_at: Any = None
    current: dict[str, int] = field(default_factory=dict)  # row counts seen by verify()


def read(conn: psycopg.Connection[Any]) -> dict[str, Entry]:
    """The ledger (empty when the table does not exist yet)."""
    row = conn.execute("SELECT to_regclass('devdb.seed_ledger') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return {}
    rows = conn.execute(
        "SELECT seed, kind, digest, profile, scale, tables, xid, loaded_at FROM devdb.seed_ledger"
    ).fetchall()
    return {
        r[0]: Entry(r[0], r[1], r[2], r[3], float(r[4]), dict(r[5]), int(r[6]), r[7]) for r in rows
    }


def verify(conn: psycopg.Connection[Any], entries: list[Entry]) -> dict[str, str]:
    """Check the tables of ``entries``; returns ``{seed: why it is stale}`` for the failures.

    One statement for all tables. Fills ``entry.current`` with the row counts it saw.
    """
    from psycopg import sql

    checks: list[tuple[Entry, str]] = [(e, t) for e in entries for t in e.tables]
    if not checks:
        return {}
    parts = []
    for n, (entry, name) in enumerate(checks):
        schema, rel = name.split(".", 1)
        parts.append(
            sql.SQL(
                "SELECT {n}, count(*), "
                "count(*) FILTER (WHERE age(xmin) < (SELECT age({xid}::text::xid))) FROM {t}"
            ).format(
                n=sql.Literal(n), xid=sql.Literal(str(entry.xid)), t=sql.Identifier(schema, rel)
            )
        )
    import psycopg

    try:
        rows = conn.execute(sql.SQL(" UNION ALL ").join(parts)).fetchall()
    except psycopg.errors.UndefinedTable:
        conn.rollback()
        return {e.seed: "a table is missing" for e in entries}
    stale: dict[str, str] = {}
    for n, total, newer in rows:
        entry, name = checks[n]
        entry.current[name] = int(total)
        if total != entry.tables[name]:
            stale.setdefault(entry.seed, f"{name} has {total} rows, {entry.tables[name]} loaded")
        elif newer:
            stale.setdefault(entry.seed, f"{name} has {newer} rows changed since the load")
    return stale


def ensure(conn: psycopg.Connection[Any]) -> None:
    conn.execute(CREATE)


def record(
    conn: psycopg.Connection[Any],
    *,
    seed: str,
    kind: str,
    digest: str,
    profile: str,
    scale: float,
    faker_version: str,
    schema_version: str,
    tables: dict[str, int],
    seconds: float,
) -> None:
    conn.execute(
        UPSERT,
        (
            seed,
            kind,
            digest,
            profile,
            scale,
            faker_version,
            schema_version,
            json.dumps(tables),
            seconds,
        ),
    )
