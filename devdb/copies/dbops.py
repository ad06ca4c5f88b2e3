"""Database-level operations on one admin connection (autocommit, in the ``postgres`` database):
metadata as JSON in ``COMMENT ON DATABASE``, rename, drop, disconnect clients, and copies that keep
the source's database-level privileges. Snapshots, reset, spares and the pytest plugin build on
these."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo
from devdb.database import ADMIN_DB, connect, create_database, run_admin
from devdb.errors import DatabaseError, DiskFull

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

    Conn = psycopg.Connection[Any]

_COPY_ATTEMPTS = 4
Grant = tuple[str, str, bool]  # grantee, privilege, grantable


_SWEPT: set[tuple[str, int]] = set()


def admin_connect(conninfo: ConnInfo) -> Conn:
    """An autocommit connection to the admin database that holds this process's lease (see
    ``names``); the first one per server and process also sweeps dead owners' temporaries."""
    from devdb.copies import names

    conn = connect(conninfo.for_database(ADMIN_DB), autocommit=True)
    try:
        names.take_lease(conn)
        if (conninfo.host, conninfo.port) not in _SWEPT:
            names.sweep(conn)
            _SWEPT.add((conninfo.host, conninfo.port))
    except BaseException:
        conn.close()
        raise
    return conn


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
    """Refuse new sessions on ``name`` and end the others. Only for databases nobody else
    relies on (temporaries, templates): a kill would leave ``name`` closed."""
    alter(conn, name, "WITH ALLOW_CONNECTIONS false")
    return terminate(conn, name)


def terminate(conn: Conn, name: str) -> list[str]:
    """End the other sessions on ``name`` (pg_terminate_backend: each client gets "terminating
    connection due to administrator command"), leaving it open. Returns the clients' names."""
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
    """Copy ``source``, a database in use, to a new ``target``. A copy needs the source idle, so
    its clients are disconnected; ``source`` itself is never closed to connections (a kill would
    leave it closed), so a client that reconnects at once makes the copy fail and it is retried.
    Returns the disconnected clients."""
    gone: list[str] = []
    for attempt in range(_COPY_ATTEMPTS):
        gone += terminate(conn, source)
        try:
            clone_database(conn, source, target, owner)
            return gone
        except DatabaseError as exc:
            if exc.sqlstate != "55006" or attempt == _COPY_ATTEMPTS - 1:  # object_in_use
                raise
    return gone


def clone_database(conn: Conn, source: str, target: str, owner: str) -> None:
    """CREATE DATABASE ``target`` TEMPLATE ``source``, with the source's database-level
    privileges (CREATE DATABASE copies the content but not ``datacl``: without this, the app
    role's CONNECT grant and the revoked PUBLIC privileges would be lost in every copy).
    On PostgreSQL 18+ the files are cloned where the cluster's file system can (``clone``).

    Every copy devdb makes goes through here."""
    from devdb.copies.clone import prepare

    prepare(conn)
    try:
        create_database(conn, target, template=source, owner=owner)
    except DatabaseError as exc:
        if exc.sqlstate == "53100":  # disk_full
            raise disk_full(conn, source, f"a copy of {source!r}") from exc
        raise
    copy_acl(conn, source, target)


def disk_full(conn: Conn, source: str | None, what: str) -> DiskFull:
    """The error for a copy that ran out of disk: the folder, and the space it needs."""
    where = "the server's data directory"
    with contextlib.suppress(Exception):
        row = conn.execute("SELECT current_setting('data_directory')").fetchone()
        where = f"the server's data directory {row[0]}" if row else where
    need = ""
    if source:
        with contextlib.suppress(Exception):
            row = conn.execute("SELECT pg_size_pretty(pg_database_size(%s))", (source,)).fetchone()
            need = f" (about {row[0]} needed)" if row else ""
    return DiskFull(
        f"no space left on the disk of {where} for {what}{need}; nothing was replaced",
        "Free some disk space (old snapshots: `invoke db.snapshot.list`) and run it again.",
    )


def _acls(conn: Conn, source: str, target: str) -> tuple[list[Grant], list[Grant]]:
    """The privileges of ``source`` and of ``target``, in one query."""
    rows = conn.execute(
        "SELECT d.datname = %s, "
        "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, "
        "a.privilege_type, a.is_grantable "
        "FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a "
        "WHERE d.datname = ANY(%s) ORDER BY 2, 3",
        (source, [source, target]),
    ).fetchall()
    grants: dict[bool, list[Grant]] = {True: [], False: []}
    for is_source, grantee, privilege, grantable in rows:
        grants[bool(is_source)].append((str(grantee), str(privilege), bool(grantable)))
    return grants[True], grants[False]


def copy_acl(conn: Conn, source: str, target: str) -> None:
    """Give ``target`` exactly the database-level privileges of ``source``: one round trip,
    one transaction (the statements run as one implicit transaction block)."""
    from psycopg import sql

    stmts = acl_statements(conn, source, target)
    if stmts:
        run_admin(conn, sql.SQL("; ").join(stmts), f"set the privileges of database {target!r}")


def acl_statements(conn: Conn, source: str, target: str) -> list[sql.Composed]:
    """The REVOKE and GRANT statements that give ``target`` the privileges of ``source``."""
    from psycopg import sql

    wanted, present = _acls(conn, source, target)
    if wanted == present:
        return []
    db = sql.Identifier(target)
    stmts = [
        sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(db, sql.SQL(grantee))
        for grantee in sorted({g for g, _, _ in present} | {"PUBLIC"})
    ]
    for grantee, privilege, grantable in wanted:
        stmts.append(
            sql.SQL("GRANT {} ON DATABASE {} TO {}{}").format(
                sql.SQL(privilege),  # a privilege keyword from the catalog
                db,
                sql.SQL(grantee),  # regrole::text is already quoted as an identifier
                sql.SQL(" WITH GRANT OPTION" if grantable else ""),
            )
        )
    return stmts
