"""Talking to a ready server: connect, wait, and create/drop/clone databases (the janitor)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo
from devdb.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    DatabaseError,
    ReadinessTimeout,
)

if TYPE_CHECKING:
    import psycopg

ADMIN_DB = "postgres"


def connect(
    info: ConnInfo, *, autocommit: bool = False, timeout: float = 5
) -> psycopg.Connection[Any]:
    """Open a psycopg connection, mapping failures to devdb errors that say what to do."""
    import psycopg

    try:
        return psycopg.connect(
            **info.kwargs(connect_timeout=max(1, int(timeout)), application_name="devdb"),
            autocommit=autocommit,
        )
    except psycopg.OperationalError as exc:
        raise _map_connect_error(info, exc) from exc


def _map_connect_error(info: ConnInfo, exc: Exception) -> ConnectionFailed:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    where = f"{info.host}:{info.port}"
    if "password authentication failed" in text or "no password supplied" in text:
        return AuthenticationFailed(f"cannot log in to {where} as {info.user!r}: wrong password")
    if "does not exist" in text and "database" in text:
        return ConnectionFailed(
            f"database {info.dbname!r} does not exist on {where}",
            "Run `invoke db.setup` (or db.reset) to create it.",
        )
    if "role" in text and "does not exist" in text:
        return AuthenticationFailed(f"cannot log in to {where}: role {info.user!r} does not exist")
    return ConnectionFailed(f"cannot connect to {where}: {text}")


def can_connect(info: ConnInfo) -> bool:
    try:
        connect(info.for_database(ADMIN_DB), autocommit=True, timeout=2).close()
    except AuthenticationFailed:
        raise
    except ConnectionFailed:
        return False
    return True


def wait_ready(
    info: ConnInfo,
    timeout: float,
    *,
    log_tail: Callable[[], str] | None = None,
    alive: Callable[[], bool] | None = None,
    interval: float = 0.02,
) -> None:
    """Wait until the server accepts a TCP login (and answers a query), or raise with its log."""
    import psycopg

    deadline = time.monotonic() + timeout
    last = ""
    while True:
        try:
            with psycopg.connect(
                **info.for_database(ADMIN_DB).kwargs(connect_timeout=2),
                autocommit=True,
            ) as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError as exc:
            last = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            mapped = _map_connect_error(info, exc)
            if isinstance(mapped, AuthenticationFailed):
                raise mapped from exc
        if alive is not None and not alive():
            raise ReadinessTimeout(
                f"the server on {info.host}:{info.port} stopped while starting",
                "Look at the log above for the reason.",
                log=log_tail() if log_tail else "",
            )
        if time.monotonic() >= deadline:
            raise ReadinessTimeout(
                f"the server on {info.host}:{info.port} did not accept connections within "
                f"{timeout:g} s (last error: {last or 'none'})",
                log=log_tail() if log_tail else "",
            )
        time.sleep(interval)
        interval = min(interval * 1.5, 0.25)


def server_version(info: ConnInfo) -> str:
    with connect(info.for_database(ADMIN_DB), autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else ""


def database_exists(conn: psycopg.Connection[Any], name: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None
    )


def create_database(
    conn: psycopg.Connection[Any],
    name: str,
    *,
    template: str | None = None,
    owner: str | None = None,
) -> None:
    """CREATE DATABASE, optionally cloned from ``template`` (the fast path: a file copy)."""
    from psycopg import sql

    parts = [sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))]
    if template:
        parts.append(sql.SQL("TEMPLATE {} STRATEGY file_copy").format(sql.Identifier(template)))
    if owner:
        parts.append(sql.SQL("OWNER {}").format(sql.Identifier(owner)))
    run_admin(conn, sql.SQL(" ").join(parts), f"create database {name!r}")


def drop_database(conn: psycopg.Connection[Any], name: str) -> None:
    """DROP DATABASE IF EXISTS ... WITH (FORCE): other sessions are disconnected first."""
    from psycopg import sql

    stmt = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    run_admin(conn, stmt, f"drop database {name!r}")


def run_admin(conn: psycopg.Connection[Any], stmt: Any, what: str) -> None:
    import psycopg

    try:
        conn.execute(stmt)
    except psycopg.Error as exc:
        diag = exc.diag
        raise DatabaseError(
            f"could not {what}: {diag.message_primary or exc}",
            diag.message_hint,
            sqlstate=diag.sqlstate,
            detail=diag.message_detail,
        ) from exc
