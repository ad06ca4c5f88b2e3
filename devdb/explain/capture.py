"""Capturing the statements an application really runs, with their plans.

For a window (a test session, or N seconds while a developer clicks through the app) capture
turns on PostgreSQL's own machinery server-wide, for connections opened after it starts:

- ``auto_explain`` through ``session_preload_libraries`` (``ALTER SYSTEM`` + reload), logging
  every top-level statement's plan as JSON with ``ANALYZE``, ``BUFFERS`` and ``VERBOSE`` (which
  adds the ``Query Identifier``) to the server log (``serverlog.py`` reads it back);
- ``pg_stat_statements`` (preloaded by devdb's docker and native servers) for the set of
  statements and their totals: its counters are read before and after, and the difference is the
  window's. Statements are grouped by the fingerprint of their normalised text (libpg_query's,
  through pglast: constants and whitespace do not count), which also matches each logged plan to
  its statement on PostgreSQL 15, whose auto_explain does not log the ``Query Identifier``.

When the window closes the settings go back to what they were (kept in the state folder, so a
capture that was killed is undone by the next one or by ``db.explain.capture --stop``). Needs a
superuser (``ALTER SYSTEM``, ``LOAD``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devdb.database import ADMIN_DB, connect
from devdb.errors import ExplainError
from devdb.explain.run import relation_rows
from devdb.explain.serverlog import (
    LoggedPlan,
    LogSource,
    log_source,
    logged_plans,
    now_iso,
    now_token,
)

if TYPE_CHECKING:
    import psycopg

    from devdb.conninfo import ConnInfo
    from devdb.settings import Settings

AUTO_EXPLAIN = {
    "auto_explain.log_min_duration": "0",
    "auto_explain.log_analyze": "on",
    "auto_explain.log_buffers": "on",
    "auto_explain.log_timing": "on",
    "auto_explain.log_format": "json",
    "auto_explain.log_verbose": "on",
    "auto_explain.log_nested_statements": "off",
    "auto_explain.log_level": "log",
    "compute_query_id": "on",
}
PRELOAD = "session_preload_libraries"
STATE_FILE = "capture.json"
Key = tuple[int, int, int]  # pg_stat_statements' userid, dbid, queryid (top level only)
Counters = tuple[str | None, int, float, int, str]  # database, calls, total ms, rows, text
_COUNTERS = """
SELECT s.userid, s.dbid, s.queryid, d.datname, s.calls, s.total_exec_time, s.rows, s.query
FROM pg_stat_statements s LEFT JOIN pg_database d ON d.oid = s.dbid
WHERE s.toplevel AND s.queryid IS NOT NULL
"""


@dataclass(frozen=True)
class Scope:
    """Which databases' statements count: the pytest plugin's test databases (``tests``: names
    starting with ``devdb_test_``, or dropped by the end, as fresh_db's are) or one database."""

    kind: str
    database: str = ""

    def includes(self, datname: str | None) -> bool:
        if self.kind == "tests":
            return datname is None or datname.startswith("devdb_test_")
        return datname == self.database


def fingerprint(sql: str) -> str:
    """libpg_query's fingerprint of a statement (``""`` when it does not parse)."""
    from pglast import parser

    try:
        return str(parser.fingerprint(sql))
    except parser.ParseError:
        return ""


@dataclass
class Statement:
    """One normalised statement of the window: pg_stat_statements' totals plus logged plans."""

    key: str
    query_ids: set[int]
    text: str
    calls: int = 0
    total_ms: float = 0.0
    rows: int = 0
    plans: list[LoggedPlan] = field(default_factory=list)

    @property
    def slowest(self) -> LoggedPlan | None:
        return max(self.plans, key=lambda p: p.duration_ms) if self.plans else None


@dataclass
class Capture:
    """A capture in progress (``start``) and, after ``stop``, what it saw."""

    settings: Settings
    conninfo: ConnInfo
    scope: Scope
    token: str
    source: LogSource
    before: dict[Key, Counters]
    started_at: str = field(default_factory=now_iso)
    statements: list[Statement] = field(default_factory=list)
    server_version: str = ""
    relation_rows: dict[str, float] = field(default_factory=dict)  # of a one-database scope
    unplanned: int = 0  # statements seen with no plan logged (utility, or older sessions)


def start(settings: Settings, conninfo: ConnInfo, scope: Scope) -> Capture:
    """Turn capture on; statements of connections opened from now on are recorded."""
    with connect(conninfo.for_database(ADMIN_DB), autocommit=True) as conn:
        _require(conn)
        undo_leftover(settings, conn)
        source = log_source(settings, conninfo.for_database(ADMIN_DB))
        source.mark()  # before any change: an unreadable log is refused with nothing to undo
        _state_path(settings).write_text(json.dumps(_file_settings(conn)))
        try:
            _apply(conn, _capture_values(conn))
            _reload_and_wait(conn, conninfo)
        except BaseException:
            undo_leftover(settings, conn)
            raise
        token = now_token()
        capture = Capture(settings, conninfo, scope, token, source, _counters(conn))
        _marker(conn, token, "start")
    return capture


def stop(capture: Capture) -> Capture:
    """Turn capture off (settings restored) and collect the window's statements and plans."""
    with connect(capture.conninfo.for_database(ADMIN_DB), autocommit=True) as conn:
        after = _counters(conn)
        _marker(conn, capture.token, "end")
        undo_leftover(capture.settings, conn)
        row = conn.execute("SHOW server_version").fetchone()
        capture.server_version = str(row[0]) if row else ""
    if capture.scope.kind == "database":
        with connect(capture.conninfo.for_database(capture.scope.database)) as conn:
            capture.relation_rows = relation_rows(conn)
    capture.statements = _statements(capture, after)
    start_mark, end_mark = (_marker_text(capture.token, w) for w in ("start", "end"))
    _attach(capture.statements, logged_plans(capture.source.read(), start_mark, end_mark))
    capture.unplanned = sum(1 for s in capture.statements if not s.plans)
    capture.statements = [s for s in capture.statements if s.plans]
    return capture


def _attach(statements: list[Statement], plans: Iterable[LoggedPlan]) -> None:
    """Give each logged plan to its statement: by query identifier (logged from PostgreSQL 16
    on), else by the fingerprint of the logged text."""
    by_id = {q: s for s in statements for q in s.query_ids}
    by_key = {s.key: s for s in statements}
    for plan in plans:
        if plan.query_id is not None:
            found = by_id.get(plan.query_id)
        else:
            found = by_key.get(fingerprint(str(plan.document.get("Query Text", ""))))
        if found is not None:
            found.plans.append(plan)


def undo_leftover(settings: Settings, conn: psycopg.Connection[Any]) -> bool:
    """Put back the settings a capture changed (from the state file), if one is recorded."""
    path = _state_path(settings)
    if not path.is_file():
        return False
    previous: dict[str, str] = json.loads(path.read_text())
    _apply(conn, {name: previous.get(name) for name in (*AUTO_EXPLAIN, PRELOAD)})
    conn.execute("SELECT pg_reload_conf()")
    path.unlink()
    return True


# -- helpers ------------------------------------------------------------------------------------


def _state_path(settings: Settings) -> Path:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return settings.state_dir / STATE_FILE


def _require(conn: psycopg.Connection[Any]) -> None:
    """A superuser, auto_explain installed, pg_stat_statements preloaded: else one error."""
    import psycopg

    row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    if not row or not row[0]:
        raise ExplainError(
            "capture needs a superuser (it sets auto_explain with ALTER SYSTEM)",
            "Run it as the server's owner role (devdb's servers use one), or set "
            "DATABASE_URL to a superuser on an external server.",
        )
    try:
        conn.execute("LOAD 'auto_explain'")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("SELECT 1 FROM pg_stat_statements LIMIT 1")
    except psycopg.Error as exc:
        raise ExplainError(
            f"capture cannot use auto_explain and pg_stat_statements: {exc.diag.message_primary}",
            "Both ship with PostgreSQL's contrib; pg_stat_statements must be in "
            "shared_preload_libraries (devdb's docker and native servers do this; restart "
            "an external server after adding it).",
        ) from exc


def _file_settings(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """What postgresql.auto.conf sets today for the names capture changes."""
    rows = conn.execute(
        "SELECT name, setting FROM pg_file_settings "
        "WHERE sourcefile LIKE '%%postgresql.auto.conf' AND name = ANY(%s)",
        ([*AUTO_EXPLAIN, PRELOAD],),
    ).fetchall()
    return {str(name): str(value) for name, value in rows}


def _capture_values(conn: psycopg.Connection[Any]) -> dict[str, str | None]:
    row = conn.execute("SELECT current_setting(%s)", (PRELOAD,)).fetchone()
    libs = [x.strip() for x in str(row[0] if row else "").split(",") if x.strip()]
    if "auto_explain" not in libs:
        libs.append("auto_explain")
    return {**AUTO_EXPLAIN, PRELOAD: ",".join(libs)}


def _apply(conn: psycopg.Connection[Any], values: dict[str, str | None]) -> None:
    """``ALTER SYSTEM SET name = value`` (``RESET`` for None)."""
    from psycopg import sql

    for name, value in values.items():
        if value is None:
            conn.execute(sql.SQL("ALTER SYSTEM RESET {}").format(sql.Identifier(name)))
        else:
            stmt = sql.SQL("ALTER SYSTEM SET {} = {}").format(
                sql.Identifier(name), sql.Literal(value)
            )
            conn.execute(stmt)


def _reload_and_wait(conn: psycopg.Connection[Any], conninfo: ConnInfo) -> None:
    """Reload and wait until a new connection loads auto_explain (the postmaster reloads
    asynchronously)."""
    conn.execute("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connect(conninfo.for_database(ADMIN_DB), autocommit=True) as probe:
            row = probe.execute(
                "SELECT current_setting('auto_explain.log_format', true)"
            ).fetchone()
            if row and row[0] == "json":
                return
        time.sleep(0.05)
    raise ExplainError("the server did not take the capture settings within 10 s")


def _counters(conn: psycopg.Connection[Any]) -> dict[Key, Counters]:
    return {
        (r[0], r[1], r[2]): (r[3], int(r[4]), float(r[5]), int(r[6]), str(r[7]))
        for r in conn.execute(_COUNTERS).fetchall()
    }


def _statements(capture: Capture, after: dict[Key, Counters]) -> list[Statement]:
    """The window's counters (after - before) per queryid, for the databases in scope."""
    grouped: dict[str, Statement] = {}
    for key, (datname, calls, total, rows, text) in after.items():
        _, old_calls, old_total, old_rows, _ = capture.before.get(key, (None, 0, 0.0, 0, ""))
        if not capture.scope.includes(datname) or calls <= old_calls:
            continue
        group = fingerprint(text) or f"queryid {key[2]}"
        stmt = grouped.setdefault(group, Statement(group, set(), text))
        stmt.query_ids.add(key[2])
        stmt.calls += calls - old_calls
        stmt.total_ms += total - old_total
        stmt.rows += rows - old_rows
    return sorted(grouped.values(), key=lambda s: s.total_ms, reverse=True)


def _marker_text(token: str, what: str) -> str:
    return f"devdb capture {token} {what}"


def _marker(conn: psycopg.Connection[Any], token: str, what: str) -> None:
    assert token.isalnum() and what.isalpha()
    conn.execute(f"DO $$BEGIN RAISE LOG '{_marker_text(token, what)}'; END$$")
