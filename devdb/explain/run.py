"""Running named queries under EXPLAIN ANALYZE: pinned environment, always rolled back.

Each query runs in its own transaction that is always rolled back, so DML leaves no trace. The
plan environment is pinned inside that transaction (``SET LOCAL``): JIT off (its compile time
swamps small queries and varies by machine), no parallel workers unless the query asks (worker
counts vary with the machine's cores), and ``statement_timeout`` from the settings. Tables with no
statistics are analyzed once before the first query. The pinned values and the server's
plan-relevant settings are recorded with the results.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo
from devdb.database import connect
from devdb.explain.plan import Plan, parse_plan
from devdb.explain.queries import (
    NamedQuery,
    check_one_statement,
    is_query_param,
    literal_param,
    load_queries,
    render_sql,
)
from devdb.explain.rules import Finding, find
from devdb.settings import Settings

if TYPE_CHECKING:
    import psycopg

EXPLAIN_OPTIONS = "ANALYZE, BUFFERS, VERBOSE, SETTINGS, FORMAT JSON"
RECORDED_SETTINGS = (
    "server_version",
    "work_mem",
    "shared_buffers",
    "effective_cache_size",
    "random_page_cost",
    "default_statistics_target",
)
_MISSING_STATS = """
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'devdb')
  AND n.nspname NOT LIKE 'pg\\_%'
  AND has_table_privilege(c.oid, 'SELECT')
  AND (c.reltuples < 0 OR NOT EXISTS (
        SELECT 1 FROM pg_stats s WHERE s.schemaname = n.nspname AND s.tablename = c.relname))
ORDER BY 1
"""
_RELATION_ROWS = """
SELECT n.nspname || '.' || c.relname, greatest(c.reltuples, 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""


@dataclass
class QueryResult:
    """One query's outcome: its plan and findings, or the error that stopped it."""

    query: NamedQuery
    sql: str = ""
    plan: Plan | None = None
    document: Any = None
    findings: list[Finding] = field(default_factory=list)
    wall_ms: float = 0.0
    error: str | None = None
    stats: dict[str, Any] | None = None  # a captured statement's totals (calls, total_ms, ...)

    @property
    def name(self) -> str:
        return self.query.name


@dataclass
class ExplainRun:
    """A run over the named queries, with the environment the plans were made in."""

    started_at: str
    database: str
    environment: dict[str, str]
    analyzed: list[str]
    relation_rows: dict[str, float]
    results: list[QueryResult] = field(default_factory=list)
    wall_ms: float = 0.0

    @property
    def failed(self) -> list[QueryResult]:
        return [r for r in self.results if r.error is not None]


def pinned_environment(settings: Settings, *, parallel: bool) -> dict[str, str]:
    """The settings every EXPLAIN runs under (``SET LOCAL`` in its transaction)."""
    env = {"jit": "off", "statement_timeout": settings.statement_timeout}
    if not parallel:
        env["max_parallel_workers_per_gather"] = "0"
    return env


def run_explain(
    settings: Settings,
    conninfo: ConnInfo,
    *,
    only: str | None = None,
    parallel: bool = False,
) -> ExplainRun:
    """EXPLAIN ANALYZE every named query (or the one called ``only``) and collect findings."""
    queries = load_queries(settings.queries_dir, only)
    started = time.perf_counter()
    with connect(conninfo, autocommit=True) as conn:
        analyzed = ensure_statistics(conn)
        run = ExplainRun(
            started_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            database=conninfo.dbname,
            environment=_recorded(conn) | pinned_environment(settings, parallel=parallel),
            analyzed=analyzed,
            relation_rows=relation_rows(conn),
        )
        for query in queries:
            env = pinned_environment(settings, parallel=parallel or query.parallel)
            run.results.append(explain_query(conn, query, env, run.relation_rows))
    run.wall_ms = (time.perf_counter() - started) * 1000
    return run


def ensure_statistics(conn: psycopg.Connection[Any]) -> list[str]:
    """ANALYZE the tables that have no statistics yet; returns their names."""
    missing = [str(row[0]) for row in conn.execute(_MISSING_STATS).fetchall()]
    if missing:
        conn.execute("ANALYZE " + ", ".join(missing))
    return missing


def explain_query(
    conn: psycopg.Connection[Any],
    query: NamedQuery,
    env: dict[str, str],
    relation_rows: dict[str, float],
) -> QueryResult:
    """Run one query under EXPLAIN ANALYZE in a transaction that is rolled back."""
    import psycopg

    result = QueryResult(query)
    try:
        with conn.transaction(force_rollback=True):
            for name, value in env.items():
                conn.execute("SELECT set_config(%s, %s, true)", (name, value))
            result.sql = render_sql(query, resolve_params(conn, query))
            check_one_statement(f"{query.path.name} with its params", result.sql)
            started = time.perf_counter()
            row = conn.execute(f"EXPLAIN ({EXPLAIN_OPTIONS}) {result.sql}").fetchone()
            result.wall_ms = (time.perf_counter() - started) * 1000
    except psycopg.errors.QueryCanceled:
        result.error = f"cancelled after statement_timeout ({env['statement_timeout']})"
        return result
    except psycopg.Error as exc:
        diag = exc.diag
        result.error = (diag.message_primary or str(exc)).strip()
        return result
    assert row is not None
    document = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    result.document = document
    result.plan = parse_plan(document)
    result.findings = find(result.plan, relation_rows)
    return result


def resolve_params(conn: psycopg.Connection[Any], query: NamedQuery) -> dict[str, str | None]:
    """Each header param's value: literal, or the first column of its query's first row."""
    values: dict[str, str | None] = {}
    for name, raw in query.params.items():
        if is_query_param(raw):
            row = conn.execute(f"SELECT {raw}").fetchone()
            values[name] = None if row is None or row[0] is None else str(row[0])
        else:
            values[name] = literal_param(raw)
    return values


def _recorded(conn: psycopg.Connection[Any]) -> dict[str, str]:
    rows = conn.execute(
        "SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name",
        (list(RECORDED_SETTINGS),),
    ).fetchall()
    return {str(name): str(value) for name, value in rows}


def relation_rows(conn: psycopg.Connection[Any]) -> dict[str, float]:
    """Rows per table (``reltuples``) of the connection's database, by ``schema.table``."""
    return {str(name): float(rows) for name, rows in conn.execute(_RELATION_ROWS).fetchall()}
