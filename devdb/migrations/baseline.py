"""Adopting a database another tool migrated: record what already ran, run nothing.

The applied history is read from the tool's own table, wherever it is on the search path or in
any schema: sql-migrate's ``gorp_migrations`` (file names), dbmate's ``schema_migrations``
(versions), goose's ``goose_db_version`` (the latest row of each version says whether it is
applied) and Flyway's ``flyway_schema_history`` (successful versioned scripts). Or, with ``to``,
every file up to that version counts as applied. Each file found applied gets devdb's tracking
row (its current checksum, ``applied_by`` naming the source); files devdb already tracks are left
alone; history entries without a file are reported, never invented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from devdb.conninfo import ConnInfo
from devdb.errors import MigrationError
from devdb.migrations import tracking
from devdb.migrations.files import load_migrations
from devdb.migrations.parse import Migration, order
from devdb.settings import Settings

if TYPE_CHECKING:
    from devdb.migrations.tracking import Conn

SOURCES = {
    "sql-migrate": "gorp_migrations",
    "dbmate": "schema_migrations",
    "goose": "goose_db_version",
    "flyway": "flyway_schema_history",
}
HISTORY = {
    "sql-migrate": "SELECT id, applied_at FROM {t}",
    "dbmate": "SELECT version, NULL::timestamptz FROM {t}",
    "goose": (
        "SELECT DISTINCT ON (version_id) version_id::text, tstamp::timestamptz, is_applied "
        "FROM {t} WHERE version_id > 0 ORDER BY version_id, id DESC"
    ),
    "flyway": (
        "SELECT script, installed_on::timestamptz FROM {t} "
        "WHERE success AND version IS NOT NULL ORDER BY installed_rank"
    ),
}
FIND_TABLE = """
SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = %s AND c.relkind IN ('r', 'p') AND n.nspname <> 'devdb'
ORDER BY array_position(current_schemas(false), n.nspname::name) NULLS LAST, n.nspname
LIMIT 1
"""


@dataclass
class Baseline:
    """What was imported: the source, the versions recorded, and what could not be matched."""

    source: str
    table: str | None
    imported: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    no_file: list[str] = field(default_factory=list)


def baseline(
    settings: Settings,
    conninfo: ConnInfo,
    *,
    source: str = "auto",
    to: str | None = None,
    dry_run: bool = False,
) -> Baseline:
    """Record as applied what ``source`` (or ``auto``: the first tool table found) says ran, or
    every file up to ``to``; returns what it did."""
    if source not in ("auto", *SOURCES):
        raise MigrationError(
            f"unknown history source {source!r}",
            "Use one of: auto, " + ", ".join(SOURCES) + " (or --to VERSION).",
        )
    files = load_migrations(settings)
    wait = None if dry_run else settings.migrate_wait
    with tracking.session(conninfo, lock_timeout=settings.lock_timeout, wait=wait) as conn:
        result, applied = _history(conn, files, source, to)
        known = tracking.applied(conn)
        for m, _ in applied:
            (result.already if m.version in known else result.imported).append(m.version)
        if not dry_run:
            tracking.ensure(conn)
            _record(conn, [(m, w) for m, w in applied if m.version in result.imported], result)
    return result


def _history(
    conn: Conn, files: list[Migration], source: str, to: str | None
) -> tuple[Baseline, list[tuple[Migration, datetime | None]]]:
    if to is not None:
        if not any(m.version == to for m in files):
            raise MigrationError(
                f"no migration file has the version {to}",
                "`invoke db.migrate.status` lists the versions.",
            )
        chosen: list[tuple[Migration, datetime | None]] = [
            (m, None) for m in files if order(m.version) <= order(to)
        ]
        return Baseline(f"up to {to}", None), chosen
    for name in SOURCES if source == "auto" else (source,):
        row = conn.execute(FIND_TABLE, (SOURCES[name],)).fetchone()
        if row is not None:
            return _match(conn, files, name, str(row[0]))
    raise MigrationError(
        "no migration history of sql-migrate, dbmate, goose or Flyway found in this database",
        "Say which migrations already ran: `invoke db.migrate.baseline --to VERSION`.",
    )


def _match(
    conn: Conn, files: list[Migration], name: str, table: str
) -> tuple[Baseline, list[tuple[Migration, datetime | None]]]:
    rows = conn.execute(HISTORY[name].format(t=table)).fetchall()
    if name == "goose":
        rows = [(r[0], r[1]) for r in rows if r[2]]
    by_name = {m.filename: m for m in files}
    by_number = {int(m.version): m for m in files if m.version.isdigit()}
    result = Baseline(name, table)
    chosen = []
    for key, when in rows:
        text = str(key)
        m = by_name.get(text.rsplit("/", 1)[-1])
        if m is None and text.isdigit():
            m = by_number.get(int(text))
        if m is None:
            result.no_file.append(text)
        else:
            chosen.append((m, when))
    chosen.sort(key=lambda item: order(item[0].version))
    return result, chosen


def _record(conn: Conn, items: list[tuple[Migration, datetime | None]], result: Baseline) -> None:
    who = f"baseline from {result.source}"
    with conn.transaction():
        for m, when in items:
            conn.execute(
                f"INSERT INTO {tracking.TABLE} (version, name, checksum, applied_at, duration_ms, "
                "applied_by) VALUES (%s, %s, %s, coalesce(%s, now()), 0, %s)",
                (m.version, m.path.stem, m.checksum, when, who),
            )
