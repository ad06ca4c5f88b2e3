"""Running one section of a migration, and explaining a failure in terms of the file.

A transactional section is sent as ONE simple-query string (BEGIN; the statements; the tracking
row; COMMIT): one round trip per migration, and ``run_batch`` sends a run of such migrations in
one round trip, still one transaction each. If it fails, the transaction is rolled back and the
statements are replayed one by one inside a transaction that is rolled back too, only to learn
which statement failed and where. A ``notransaction`` section runs statement by statement in
autocommit, and its tracking row is written after the last statement succeeded.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from devdb.errors import MigrationFailed
from devdb.migrations import concurrent
from devdb.migrations.parse import Migration, Section, Statement
from devdb.migrations.tracking import START_SQL

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[Any]

INVALID_INDEXES = """
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid
"""


def terminated(stmt: Statement) -> str:
    """The statement text, ending with a semicolon on a line of its own if it had none."""
    return stmt.sql if stmt.sql.rstrip().endswith(";") else stmt.sql + "\n;"


def run_section(conn: Conn, m: Migration, section: Section, bookkeeping: str) -> None:
    """Run ``section`` of ``m`` and ``bookkeeping`` (the tracking-row change) as one unit."""
    if section.transactional:
        _run_transaction(conn, m, section, bookkeeping)
    else:
        _run_autocommit(conn, m, section)
        conn.execute(bookkeeping)


def _run_transaction(conn: Conn, m: Migration, section: Section, bookkeeping: str) -> None:
    import psycopg

    body = "\n".join(terminated(s) for s in section.statements)
    try:
        conn.execute(f"BEGIN;\n{START_SQL}\n{body}\n{bookkeeping}\nCOMMIT;")
    except psycopg.Error as exc:
        _rollback(conn)
        failed = _replay(conn, section)
        if failed is None:
            raise failure(m, section, None, exc) from exc
        raise failure(m, section, failed[0], failed[1]) from exc


def run_batch(conn: Conn, items: list[tuple[Migration, str]]) -> int:
    """Apply several transactional Up sections in ONE round trip, each in its own transaction
    with its tracking row. Returns how many committed; after a failure the failed one is rolled
    back and the caller runs the rest one by one (which reports the error precisely)."""
    import psycopg

    script = "\n".join(
        f"BEGIN;\n{START_SQL}\n"
        + "\n".join(terminated(s) for s in m.up.statements)
        + f"\n{book}\nCOMMIT;"
        for m, book in items
    )
    try:
        conn.execute(script)
    except psycopg.Error:
        _rollback(conn)
        versions = [m.version for m, _ in items]
        rows = conn.execute(
            "SELECT version FROM devdb.schema_migrations WHERE version = ANY(%s)", (versions,)
        ).fetchall()
        recorded = {r[0] for r in rows}
        done = 0
        while done < len(versions) and versions[done] in recorded:
            done += 1
        return done
    return len(items)


def _rollback(conn: Conn) -> None:
    from psycopg.pq import TransactionStatus

    if conn.info.transaction_status != TransactionStatus.IDLE:
        conn.execute("ROLLBACK")


def _replay(conn: Conn, section: Section) -> tuple[Statement, Exception] | None:
    """Run the statements one by one in a transaction that is always rolled back."""
    import psycopg

    conn.execute("BEGIN")
    try:
        for stmt in section.statements:
            try:
                conn.execute(stmt.sql)
            except psycopg.Error as exc:
                return stmt, exc
        return None
    finally:
        _rollback(conn)


def _run_autocommit(conn: Conn, m: Migration, section: Section) -> None:
    """Statement by statement; an invalid index left by an interrupted earlier run of the same
    ``CREATE INDEX CONCURRENTLY`` is dropped first and rebuilt by the statement."""
    import psycopg

    conn.execute(START_SQL)
    built: list[concurrent.ConcurrentIndex] = []
    for index, stmt in enumerate(section.statements):
        is_concurrent = bool(concurrent.CONCURRENT_INDEX.match(stmt.sql))
        invalid_before: set[str] = set()
        try:
            invalid_before = _invalid_indexes(conn) if is_concurrent else set()
            target = concurrent.execute(conn, stmt.sql)
            if target is not None:
                built.append(target)
        except psycopg.Error as exc:
            left = _left_invalid(conn, stmt.sql, invalid_before) if is_concurrent else []
            raise failure(m, section, stmt, exc, done=index, invalid=left) from exc
    concurrent.require_valid(conn, built, m.filename)


def _left_invalid(conn: Conn, sql: str, before: set[str]) -> list[str]:
    """Invalid indexes the failed statement left (its own named one too, if rebuilt invalid)."""
    left = _invalid_indexes(conn) - before
    target = concurrent.concurrent_index(sql)
    found = concurrent.state(conn, target) if target and target.name else None
    if found and not found[1]:
        left.add(found[0])
    return sorted(left)


def _invalid_indexes(conn: Conn) -> set[str]:
    return {str(r[0]) for r in conn.execute(INVALID_INDEXES).fetchall()}


def sqlstate_name(code: str | None) -> str:
    """``undefined_table`` for ``42P01``: psycopg's class name in snake case."""
    if not code:
        return ""
    from psycopg import errors

    try:
        cls = errors.lookup(code)
    except KeyError:
        return ""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


def failure(
    m: Migration,
    section: Section,
    stmt: Statement | None,
    exc: Exception,
    *,
    done: int = 0,
    invalid: list[str] | None = None,
) -> MigrationFailed:
    """A ``MigrationFailed`` naming file:line:column, SQLSTATE and the server's diagnostics."""
    diag = getattr(exc, "diag", None)
    message = (getattr(diag, "message_primary", None) or str(exc)).strip()
    where = _where(m, section, stmt, getattr(diag, "statement_position", None))
    code = getattr(diag, "sqlstate", None)
    details = []
    if code:
        details.append(f"SQLSTATE: {code} ({sqlstate_name(code)})")
    for label, attr in (("Detail", "message_detail"), ("Context", "context")):
        value = getattr(diag, attr, None)
        if value:
            details.append(f"{label}: {value.strip()}")
    if stmt is not None:
        details.append(f"Statement: {_first_line(stmt.sql)}")
    details.append(_aftermath(m, section, done, invalid or []))
    hint = getattr(diag, "message_hint", None) or _default_hint(m, section, code, invalid or [])
    return MigrationFailed(f"{where}: {message}", hint, tuple(details))


def _where(m: Migration, section: Section, stmt: Statement | None, position: str | None) -> str:
    if stmt is None:
        return f"{m.filename}:{section.line}"
    line, col = stmt.line, stmt.first_col
    if position and position.isdigit():
        line, col = stmt.locate(int(position))
    return f"{m.filename}:{line}:{col}"


def _first_line(sql: str) -> str:
    line = sql.strip().splitlines()[0] if sql.strip() else ""
    return line if len(line) <= 100 else line[:97] + "..."


def _aftermath(m: Migration, section: Section, done: int, invalid: list[str]) -> str:
    undo = section.direction == "Down"
    if section.transactional:
        verb = "rolled back" if undo else "applied"
        return (
            f"Nothing of {m.filename}'s {section.direction} section was {verb}: its transaction "
            "was rolled back."
        )
    state = "still recorded as applied" if undo else "not recorded"
    text = (
        f"{m.filename}'s {section.direction} section runs without a transaction: its first "
        f"{done} statement(s) stay done and the migration is {state}."
    )
    if invalid:
        text += " The failed CREATE INDEX CONCURRENTLY left invalid index(es): " + ", ".join(
            invalid
        )
    return text


def _default_hint(m: Migration, section: Section, code: str | None, invalid: list[str]) -> str:
    again = "`invoke db.migrate.down`" if section.direction == "Down" else "`invoke db.migrate`"
    if invalid:
        return (
            f"Fix {m.filename} and run {again} again: the invalid index(es) "
            f"{', '.join(invalid)} are dropped and rebuilt by the same statement (or drop them "
            f"yourself: DROP INDEX CONCURRENTLY IF EXISTS {invalid[0]};)."
        )
    if code == "25001":
        return (
            "This statement cannot run in a transaction: mark its section "
            f"{_notx_marker(m, section)}."
        )
    if code == "55P03":
        return (
            "Another session holds a lock this migration needs (see pg_stat_activity); end it, "
            "or raise DEVDB_LOCK_TIMEOUT."
        )
    return (
        f"Fix the {section.direction} section of {m.filename} at that position and run {again} "
        "again."
    )


def _notx_marker(m: Migration, section: Section) -> str:
    if m.format == "goose":
        return "with a line `-- +goose NO TRANSACTION`"
    if m.format == "dbmate":
        return f"`-- migrate:{section.direction.lower()} transaction:false`"
    return f"`-- +migrate {section.direction} notransaction`"
