"""``db.inspect``: database diagnostics in the spirit of pg-extras and ``supabase inspect db``.

Cache hit ratios, unused and duplicate indexes, foreign keys without an index, table and index
sizes with sequential scan counts, and the slowest statements from ``pg_stat_statements``. Nothing
is created in the user's database: the statements are read through the extension in the server's
``postgres`` database (created there on a local server when the server preloads it), so they cover
every database; otherwise the section says why it is empty. Counters are cumulative since the
statistics were last reset; row counts are the planner's (exact after ANALYZE) and counted for
small tables never analyzed (a fresh clone has no statistics).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo
from devdb.database import connect

if TYPE_CHECKING:
    import psycopg

USER_SCHEMAS = "NOT IN ('pg_catalog', 'information_schema') AND {col} NOT LIKE 'pg\\_%'"


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    sql: str


SECTIONS = (
    Section(
        "cache_hit",
        "cache hit ratio (should be above 0.99 on a warm server)",
        """
        SELECT 'tables' AS what,
               round(sum(heap_blks_hit)::numeric
                     / nullif(sum(heap_blks_hit + heap_blks_read), 0), 4) AS ratio,
               sum(heap_blks_hit) AS hits, sum(heap_blks_read) AS reads
        FROM pg_statio_user_tables
        UNION ALL
        SELECT 'indexes',
               round(sum(idx_blks_hit)::numeric
                     / nullif(sum(idx_blks_hit + idx_blks_read), 0), 4),
               sum(idx_blks_hit), sum(idx_blks_read)
        FROM pg_statio_user_indexes
        """,
    ),
    Section(
        "tables",
        "tables: size, rows, sequential vs index scans",
        """
        SELECT format('%I.%I', s.schemaname, s.relname) AS "table",
               CASE WHEN c.reltuples >= 0 THEN greatest(c.reltuples::bigint, s.n_live_tup)
                    WHEN s.n_live_tup > 0 THEN s.n_live_tup END AS rows,
               pg_total_relation_size(s.relid) AS total_bytes,
               pg_relation_size(s.relid) AS table_bytes,
               pg_indexes_size(s.relid) AS index_bytes,
               s.seq_scan, s.seq_tup_read, coalesce(s.idx_scan, 0) AS idx_scan
        FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
        ORDER BY pg_total_relation_size(s.relid) DESC, 1
        """,
    ),
    Section(
        "indexes",
        "indexes: size and scans",
        """
        SELECT format('%I.%I', schemaname, indexrelname) AS index,
               format('%I.%I', schemaname, relname) AS "table",
               pg_relation_size(indexrelid) AS bytes, idx_scan AS scans
        FROM pg_stat_user_indexes
        ORDER BY pg_relation_size(indexrelid) DESC, 1
        """,
    ),
    Section(
        "unused_indexes",
        "unused indexes (never scanned while their table was; over 64 kB; not backing a unique "
        "or primary key)",
        """
        SELECT format('%I.%I', s.schemaname, s.indexrelname) AS index,
               format('%I.%I', s.schemaname, s.relname) AS "table",
               pg_relation_size(s.indexrelid) AS bytes, s.idx_scan AS scans
        FROM pg_stat_user_indexes s
        JOIN pg_index i ON i.indexrelid = s.indexrelid
        JOIN pg_stat_user_tables t ON t.relid = s.relid
        WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
          AND t.seq_scan + coalesce(t.idx_scan, 0) > 0
          AND pg_relation_size(s.indexrelid) > 65536
        ORDER BY pg_relation_size(s.indexrelid) DESC, 1
        """,
    ),
    Section(
        "duplicate_indexes",
        "duplicate indexes (same table, columns, expressions and predicate)",
        """
        SELECT string_agg(indexrelid::regclass::text, ', ' ORDER BY indexrelid::regclass::text)
                 AS indexes,
               min(indrelid::regclass::text) AS "table",
               sum(pg_relation_size(indexrelid)) AS bytes
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname """
        + USER_SCHEMAS.format(col="n.nspname")
        + """
        GROUP BY indrelid, indkey::text, indclass::text, coalesce(indexprs::text, ''),
                 coalesce(indpred::text, '')
        HAVING count(*) > 1
        ORDER BY 3 DESC
        """,
    ),
    Section(
        "fk_without_index",
        "foreign keys without an index on their columns (slow joins, slow deletes upstream)",
        """
        SELECT c.conrelid::regclass::text AS "table", c.conname AS constraint,
               (SELECT string_agg(a.attname, ', ' ORDER BY k.ord)
                FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum)
                 AS columns,
               c.confrelid::regclass::text AS "references"
        FROM pg_constraint c
        JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE c.contype = 'f' AND n.nspname """
        + USER_SCHEMAS.format(col="n.nspname")
        + """
          AND NOT EXISTS (
            SELECT 1 FROM pg_index i
            WHERE i.indrelid = c.conrelid AND i.indisvalid AND i.indpred IS NULL
              AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey)
        ORDER BY 1, 2
        """,
    ),
)

STATEMENTS_SQL = """
SELECT round(s.total_exec_time::numeric, 2) AS total_ms,
       round(s.mean_exec_time::numeric, 3) AS mean_ms,
       s.calls, s.rows,
       left(regexp_replace(s.query, '\\s+', ' ', 'g'), 160) AS query
FROM pg_stat_statements s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = %s)
ORDER BY s.total_exec_time DESC
LIMIT %s
"""
COUNT_BELOW = 64 * 1024 * 1024  # tables never analyzed and smaller than this are counted


def inspect_database(conninfo: ConnInfo, *, top: int = 10) -> dict[str, Any]:
    """Every diagnostic as ``{section: {"title", "rows", "note"?}}`` (JSON-ready)."""
    doc: dict[str, Any] = {"database": conninfo.dbname}
    with connect(conninfo, autocommit=True) as conn:
        doc["server_version"] = str(_scalar(conn, "SHOW server_version"))
        for section in SECTIONS:
            doc[section.key] = {"title": section.title, "rows": _rows(conn, section.sql)}
        _count_unknown_rows(conn, doc["tables"]["rows"])
    doc["slow_statements"] = slow_statements(conninfo, top)
    return doc


def _count_unknown_rows(conn: psycopg.Connection[Any], tables: list[dict[str, Any]]) -> None:
    """Tables no statistics describe yet (never analyzed): count the small ones exactly."""
    for row in tables:
        if row["rows"] is None and (row["table_bytes"] or 0) < COUNT_BELOW:
            row["rows"] = _scalar(conn, f"SELECT count(*) FROM {row['table']}")


def slow_statements(conninfo: ConnInfo, top: int) -> dict[str, Any]:
    """The ``top`` statements by total execution time, or a note saying why there are none.
    Read in the server's ``postgres`` database, never creating anything in the user's."""
    import psycopg

    from devdb.database import ADMIN_DB

    title = f"slowest statements (pg_stat_statements, top {top} by total time)"
    try:
        with connect(conninfo.for_database(ADMIN_DB), autocommit=True) as admin:
            installed = "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'"
            if not _scalar(admin, installed):
                if not conninfo.is_loopback:
                    return {"title": title, "rows": [], "note": _NOT_CREATED}
                admin.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            return {"title": title, "rows": _rows(admin, STATEMENTS_SQL, [conninfo.dbname, top])}
    except psycopg.Error as exc:
        reason = (exc.diag.message_primary or str(exc)).strip()
        return {
            "title": title,
            "rows": [],
            "note": f"pg_stat_statements is not available: {reason}. Preload it with "
            "shared_preload_libraries = 'pg_stat_statements' (devdb's docker and native "
            "servers do) and let a superuser run CREATE EXTENSION pg_stat_statements in the "
            "postgres database.",
        }


_NOT_CREATED = (
    "the pg_stat_statements extension is not created in this server's postgres database, and "
    "devdb creates nothing on a server that is not local: a superuser can run CREATE EXTENSION "
    "pg_stat_statements there"
)


def _scalar(conn: psycopg.Connection[Any], sql: str, params: list[Any] | None = None) -> Any:
    row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def _rows(
    conn: psycopg.Connection[Any], sql: str, params: list[Any] | None = None
) -> list[dict[str, Any]]:
    cur = conn.execute(sql, params)
    names = [d.name for d in cur.description or []]
    return [dict(zip(names, (_plain(v) for v in row), strict=True)) for row in cur.fetchall()]


def _plain(value: Any) -> Any:
    """Decimals and big numbers as JSON-friendly floats/ints."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _human(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key.endswith("bytes") and isinstance(value, int):
        size = float(value)
        for unit in ("B", "kB", "MB", "GB", "TB"):
            if size < 1024 or unit == "TB":
                return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
            size /= 1024
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


LABELS = {
    "total_bytes": "total",
    "table_bytes": "heap",
    "index_bytes": "indexes",
    "bytes": "size",
    "seq_scan": "seq scans",
    "seq_tup_read": "seq rows read",
    "idx_scan": "idx scans",
}


def sections(doc: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]], str]]:
    """(title, headers, rows as text, note) per section, for table output."""
    out = []
    for value in doc.values():
        if not isinstance(value, dict):
            continue
        rows = value["rows"]
        keys = list(rows[0]) if rows else []
        text_rows = [[_human(k, r[k]) for k in keys] for r in rows]
        note = value.get("note", "" if rows else "none")
        out.append((value["title"], [LABELS.get(k, k) for k in keys], text_rows, note))
    return out


def render_text(doc: dict[str, Any]) -> str:
    """Plain aligned tables, one per section."""
    lines = [f"database {doc['database']} (PostgreSQL {doc['server_version']})"]
    for title, headers, rows, note in sections(doc):
        lines += ["", title]
        if not rows:
            lines.append(f"  {note}")
            continue
        widths = [max(len(x) for x in col) for col in zip(headers, *rows, strict=True)]
        for row in [headers, *rows]:
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    return "\n".join(lines)
