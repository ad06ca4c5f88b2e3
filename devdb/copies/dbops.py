"""Database-level operations on one admin connection (autocommit, in the ``postgres`` database):
metadata as JSON in ``COMMENT ON DATABASE``, rename, drop, disconnect clients, and copies that keep
the source's database-level privileges. Snapshots, reset, spares and the pytest plugin build on
these."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo
from devdb.database import ADMIN_DB, connect, create_database, run_admin

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[Any]


def admin_connect(conninfo: ConnInfo) -> Conn:
    return connect(conninfo.for_database(ADMIN_DB), autocommit=True)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def get_meta(conn: Conn, name: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        (name,),
    ).fetchone()
    if not row or not row[0]:
        return {}
    try:
        meta = json.loads(row[0])
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def set_meta(conn: Conn, name: str, meta: dict[str, Any]) -> None:
    from psycopg import sql

    stmt = sql.SQL("COMMENT ON DATABASE {} IS {}").format(
        sql.Identifier(name), sql.Literal(json.dumps(meta, sort_keys=True))
    )
    run_admin(conn, stmt, f"describe database {name!r}")


def alter(conn: Conn, name: str, clause: str) -> None:
    """``ALTER DATABASE name <clause>`` for a fixed clause written in this package."""
    from psycopg import sql

    stmt = sql.SQL("ALTER DATABASE {} ").format(sql.Identifier(name)) + sql.SQL(clause)
    run_admin(conn, stmt, f"alter database {name!r}")


def rename(conn: Conn, old: str, new: str) -> None:
    from psycopg import sql

    stmt = sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
        sql.Identifier(old), sql.Identifier(new)
    )
    run_admin(conn, stmt, f"rename database {old!r} to {new!r}")


def drop(conn: Conn, name: str) -> None:
    """Drop ``name`` (even when it is marked as a template), disconnecting its sessions."""
    from psycopg import sql

    row = conn.execute("SELECT datistemplate FROM pg_database WHERE datname = %s", (name,))
    found = row.fetchone()
    if found is None:
        return
    if found[0]:  # (a database half-dropped by another session cannot be altered, only dropped)
        alter(conn, name, "WITH IS_TEMPLATE false")
    stmt = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    run_admin(conn, stmt, f"drop database {name!r}")


def disconnect(conn: Conn, name: str) -> list[str]:
    """Refuse new sessions on ``name`` and end the others (pg_terminate_backend: each client
    gets "terminating connection due to administrator command"). Returns the clients' names."""
    alter(conn, name, "WITH ALLOW_CONNECTIONS false")
    rows = conn.execute(
        "SELECT coalesce(nullif(application_name, ''), 'client'), pg_terminate_backend(pid) "
        "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (name,),
    ).fetchall()
    _wait_gone(conn, name)
    return [str(r[0]) for r in rows]


def _wait_gone(conn: Conn, name: str, timeout: float = 5.0) -> None:
    """pg_terminate_backend only signals; wait until the sessions have really left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchone()
        if not row or row[0] == 0:
            return
        time.sleep(0.005)


def copy_database(conn: Conn, source: str, target: str, owner: str) -> list[str]:
    """Copy ``source`` to a new ``target``; clients of ``source`` are disconnected (a copy needs
    it idle) and allowed back afterwards. Returns the disconnected clients."""
    was_open = _allows_connections(conn, source)
    gone = disconnect(conn, source) if was_open else []
    try:
        clone_database(conn, source, target, owner)
    finally:
        if was_open:
            alter(conn, source, "WITH ALLOW_CONNECTIONS true")
    return gone


def clone_database(conn: Conn, source: str, target: str, owner: str) -> None:
    """CREATE DATABASE ``target`` TEMPLATE ``source``, with the source's database-level
    privileges (CREATE DATABASE copies the content but not ``datacl``: without this, the app
    role's CONNECT grant and the revoked PUBLIC privileges would be lost in every copy).
    On PostgreSQL 18+ the files are cloned where the cluster's file system can (``clone``)."""
    from devdb.copies.clone import prepare

    prepare(conn)
    create_database(conn, target, template=source, owner=owner)
    copy_acl(conn, source, target)


def copy_acl(conn: Conn, source: str, target: str) -> None:
    from psycopg import sql

    rows = conn.execute(
        "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, "
        "a.privilege_type, a.is_grantable "
        "FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = %s",
        (source,),
    ).fetchall()
    if not rows:
        return  # the default privileges, which the new database has already
    db = sql.Identifier(target)
    run_admin(conn, sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db), "revoke")
    for grantee, privilege, grantable in rows:
        stmt = sql.SQL("GRANT {} ON DATABASE {} TO {}{}").format(
            sql.SQL(privilege),  # a privilege keyword from the catalog
            db,
            sql.SQL(grantee),  # regrole::text is already quoted as an identifier
            sql.SQL(" WITH GRANT OPTION" if grantable else ""),
        )
        run_admin(conn, stmt, f"grant {privilege} on database {target!r}")


def _allows_connections(conn: Conn, name: str) -> bool:
    query = "SELECT datallowconn FROM pg_database WHERE datname = %s"
    row = conn.execute(query, (name,)).fetchone()
    return bool(row and row[0])
