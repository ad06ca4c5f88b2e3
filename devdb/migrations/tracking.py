"""devdb's record of applied migrations, and the lock that serializes migration runs.

The table lives in devdb's own schema, so application schema dumps leave it out::

    devdb.schema_migrations(version, name, checksum, applied_at, duration_ms, applied_by)
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo
from devdb.errors import MigrationError

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[Any]

TABLE = "devdb.schema_migrations"
# Two int4 keys for pg_advisory_lock: "devd" and "migr". Advisory locks are per database.
LOCK_KEYS = (0x64657664, 0x6D696772)
# When the current migration started, in a session setting the tracking row reads back.
STARTED = "devdb.migration_started"
START_SQL = f"SELECT set_config('{STARTED}', clock_timestamp()::text, false);"

CREATE = f"""
CREATE SCHEMA IF NOT EXISTS devdb;
CREATE TABLE IF NOT EXISTS {TABLE} (
  version      text PRIMARY KEY,
  name         text NOT NULL,
  checksum     text NOT NULL,
  applied_at   timestamptz NOT NULL DEFAULT now(),
  duration_ms  double precision NOT NULL DEFAULT 0,
  applied_by   text NOT NULL DEFAULT current_user
);
"""


@dataclass(frozen=True)
class Applied:
    """One row of the tracking table."""

    version: str
    name: str
    checksum: str
    applied_at: datetime
    duration_ms: float
    applied_by: str


def quote(value: str) -> str:
    """A SQL string literal (standard_conforming_strings is on in every supported server)."""
    return "'" + value.replace("'", "''") + "'"


def who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


def record_sql(version: str, name: str, sha: str) -> str:
    """The INSERT of a tracking row; its duration runs from ``START_SQL`` (sent just before the
    migration's statements: ``now()`` would be the start of a whole batch)."""
    return (
        f"INSERT INTO {TABLE} (version, name, checksum, applied_at, duration_ms, applied_by) "
        f"VALUES ({quote(version)}, {quote(name)}, {quote(sha)}, clock_timestamp(), "
        f"extract(epoch FROM clock_timestamp() - current_setting('{STARTED}')::timestamptz) "
        f"* 1000, {quote(who())} || ' as ' || current_user);"
    )


def forget_sql(version: str) -> str:
    return f"DELETE FROM {TABLE} WHERE version = {quote(version)};"


def exists(conn: Conn) -> bool:
    row = conn.execute(f"SELECT to_regclass('{TABLE}') IS NOT NULL").fetchone()
    return bool(row and row[0])


def ensure(conn: Conn) -> None:
    if not exists(conn):
        conn.execute(CREATE)


def applied(conn: Conn) -> dict[str, Applied]:
    """Applied migrations by version (empty when devdb never migrated this database)."""
    from psycopg import errors

    try:
        rows = conn.execute(
            f"SELECT version, name, checksum, applied_at, duration_ms, applied_by FROM {TABLE} "
            "ORDER BY version"
        ).fetchall()
    except (errors.UndefinedTable, errors.InvalidSchemaName):
        return {}  # one round trip in the common case; the connection is in autocommit
    return {r[0]: Applied(*r) for r in rows}


@contextmanager
def session(conninfo: ConnInfo, *, lock_timeout: str, wait: float | None) -> Iterator[Conn]:
    """An autocommit connection with ``lock_timeout`` set; with ``wait`` it also holds the
    migration lock, waiting up to ``wait`` seconds for another run to finish."""
    from devdb.database import connect

    with connect(conninfo, autocommit=True) as conn:
        # synchronous_commit off: a commit does not wait for its WAL flush. A crash can lose the
        # last commits, but each migration and its tracking row are lost together (atomic), so
        # the next run simply applies them again.
        conn.execute(f"SET lock_timeout = {quote(lock_timeout)}; SET synchronous_commit = off")
        _keep_out_of_own_schema(conn)
        if wait is not None:
            _lock(conn, conninfo, wait)
        yield conn


def _keep_out_of_own_schema(conn: Conn) -> None:
    """Drop devdb's schema from the search_path: with an owner role named ``devdb``, the
    default ``"$user", public`` would create a migration's unqualified tables in it."""
    row = conn.execute("SELECT current_setting('search_path'), current_user = 'devdb'").fetchone()
    if row is None:
        return
    entries = [e.strip() for e in str(row[0]).split(",") if e.strip()]
    kept = [e for e in entries if e.strip('"') != "devdb" and not (row[1] and e == '"$user"')]
    if kept != entries:
        path = ", ".join(kept) if kept else "''"
        conn.execute(f"SET search_path = {path}")


def _lock(conn: Conn, conninfo: ConnInfo, wait: float) -> None:
    query = f"SELECT pg_try_advisory_lock({LOCK_KEYS[0]}, {LOCK_KEYS[1]})"
    deadline = time.monotonic() + wait
    pause = 0.02
    while True:
        row = conn.execute(query).fetchone()
        if row and row[0]:
            return
        if time.monotonic() >= deadline:
            raise MigrationError(
                f"another migration run holds the lock on database {conninfo.dbname!r} "
                f"(waited {wait:g} s)",
                "Wait for it to finish, or raise DEVDB_MIGRATE_WAIT. To see who holds it: "
                "SELECT pid, application_name, state FROM pg_stat_activity "
                "JOIN pg_locks USING (pid) WHERE locktype = 'advisory';",
            )
        time.sleep(pause)
        pause = min(pause * 1.5, 0.25)
