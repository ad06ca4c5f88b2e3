"""Snapshots: template-style copies of the project database, on the same server.

A snapshot ``NAME`` is the database ``devdb_snap_NAME``, copied with ``CREATE DATABASE ...
TEMPLATE`` (``STRATEGY file_copy``: measured faster than ``wal_log`` here once a database holds
more than a few MB, and equal below). Its metadata (kind, source database, created, source
digest) is JSON in ``COMMENT ON DATABASE``, so it travels with the database and needs no table of
its own; the size comes from ``pg_database_size``. Snapshots do not accept connections, so they
stay exactly as saved.

The automatic undo snapshot ``devdb_undo`` is kept before every destructive task. When a task
replaces the database anyway (reset, restore, load), the old database is *renamed* to
``devdb_undo`` instead of being dropped, so the undo costs nothing; ``save_undo`` (for tasks that
change a database in place, like migrate down) copies it. ``restore_undo`` swaps the undo and the
current database, so a second undo brings back what the first one replaced.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo
from devdb.database import ADMIN_DB, connect, create_database, database_exists, run_admin
from devdb.errors import SnapshotError
from devdb.settings import Settings

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[Any]

SNAP_PREFIX = "devdb_snap_"
UNDO_DB = "devdb_undo"
_SWAP_DB = "devdb_undo_swap"
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class SnapshotInfo:
    name: str
    database: str
    size_bytes: int
    created: str | None
    source: str | None
    digest: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "database": self.database,
            "size_bytes": self.size_bytes,
            "created": self.created,
            "source": self.source,
            "digest": self.digest,
        }


# -- catalog helpers (one admin connection, autocommit, in the ``postgres`` database) --------


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

    if not database_exists(conn, name):
        return
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
    role's CONNECT grant and the revoked PUBLIC privileges would be lost in every copy)."""
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


def replace_database(
    conn: Conn, target: str, source: str, owner: str, *, use_spare: bool = False
) -> tuple[list[str], bool]:
    """Make ``target`` a fresh copy of ``source``; the old ``target`` becomes ``devdb_undo``
    (a rename: no copy). With ``use_spare``, a spare copy of ``source`` made ahead of time is
    renamed into place when there is one (see devdb.spare). Returns the clients that were
    disconnected from ``target``, and whether a spare was used."""
    from devdb import spare

    gone: list[str] = []
    if database_exists(conn, target):
        gone = disconnect(conn, target)
        previous = get_meta(conn, target)
        try:
            if use_spare:
                spare.discard(conn, UNDO_DB)  # dropped by the background process
            else:
                drop(conn, UNDO_DB)
            rename(conn, target, UNDO_DB)
        except Exception:
            alter(conn, target, "WITH ALLOW_CONNECTIONS true")  # left as it was
            raise
        set_meta(conn, UNDO_DB, _undo_meta(target, previous))
    try:
        used = use_spare and spare.take(conn, source, target)
        if not used:
            clone_database(conn, source, target, owner)
    except Exception:
        _put_back(conn, target)
        raise
    return gone, used


def _put_back(conn: Conn, target: str) -> None:
    """After a failed copy: bring the renamed database back under its own name."""
    if not database_exists(conn, target) and get_meta(conn, UNDO_DB).get("source") == target:
        rename(conn, UNDO_DB, target)
        alter(conn, target, "WITH ALLOW_CONNECTIONS true")


def _undo_meta(source: str, previous: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "undo",
        "source": source,
        "created": now_iso(),
        "digest": previous.get("digest"),
    }


# -- snapshot commands --------------------------------------------------------------------


def snapshot_database(name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise SnapshotError(
            f"bad snapshot name {name!r}",
            "Use 1-40 lowercase letters, digits and underscores, starting with a letter or digit.",
        )
    return SNAP_PREFIX + name


def save(conninfo: ConnInfo, name: str, *, replace: bool = False) -> tuple[SnapshotInfo, list[str]]:
    """Copy the database of ``conninfo`` into snapshot ``name``."""
    snap = snapshot_database(name)
    with admin_connect(conninfo) as conn:
        _require_source(conn, conninfo.dbname)
        if database_exists(conn, snap):
            if not replace:
                raise SnapshotError(
                    f"snapshot {name!r} already exists",
                    f"Pass --replace, or `invoke db.snapshot.delete {name}` first.",
                )
            drop(conn, snap)
        gone = _save_copy(conn, conninfo, snap, kind="snapshot")
        return _describe(conn, snap), gone


def _save_copy(conn: Conn, conninfo: ConnInfo, snap: str, *, kind: str) -> list[str]:
    previous = get_meta(conn, conninfo.dbname)
    gone = copy_database(conn, conninfo.dbname, snap, conninfo.user)
    alter(conn, snap, "WITH ALLOW_CONNECTIONS false")
    meta = {
        "kind": kind,
        "source": conninfo.dbname,
        "created": now_iso(),
        "digest": previous.get("digest"),
    }
    set_meta(conn, snap, meta)
    return gone


def _require_source(conn: Conn, dbname: str) -> None:
    if not database_exists(conn, dbname):
        raise SnapshotError(
            f"database {dbname!r} does not exist",
            "Create it with `invoke db.setup` or `invoke db.reset`.",
        )


def save_undo(settings: Settings, conninfo: ConnInfo) -> list[str]:
    """Keep the automatic undo snapshot of ``conninfo``'s database (a copy, for tasks that change
    it in place, like migrate down). Call it before opening your own connection to that database:
    the copy needs the database idle, so its other sessions are disconnected. Returns them."""
    del settings  # part of the shared signature; the target comes from conninfo
    with admin_connect(conninfo) as conn:
        if not database_exists(conn, conninfo.dbname):
            return []
        drop(conn, UNDO_DB)
        return _save_copy(conn, conninfo, UNDO_DB, kind="undo")


def restore(conninfo: ConnInfo, name: str) -> list[str]:
    """Replace the database with a copy of snapshot ``name`` (the old one becomes the undo)."""
    snap = snapshot_database(name)
    with admin_connect(conninfo) as conn:
        if not database_exists(conn, snap):
            raise SnapshotError(
                f"no snapshot {name!r}", "`invoke db.snapshot.list` shows the snapshots."
            )
        gone, _ = replace_database(conn, conninfo.dbname, snap, conninfo.user, use_spare=True)
        meta = get_meta(conn, snap)
        set_meta(conn, conninfo.dbname, {"kind": "restored", "snapshot": name, **_keep(meta)})
    from devdb import spare

    spare.refill_in_background(conninfo, snap)  # the next restore of it is a rename
    return gone


def _keep(meta: dict[str, Any]) -> dict[str, Any]:
    return {"digest": meta.get("digest"), "created": now_iso()}


def has_undo(conninfo: ConnInfo) -> bool:
    with admin_connect(conninfo) as conn:
        return database_exists(conn, UNDO_DB)


def restore_undo(conninfo: ConnInfo) -> tuple[dict[str, Any], list[str]]:
    """Swap ``devdb_undo`` and the database: the state from just before the last destructive
    task comes back, and what it replaced becomes the undo (so undo twice is a no-op)."""
    target = conninfo.dbname
    with admin_connect(conninfo) as conn:
        meta = get_meta(conn, UNDO_DB)
        if not database_exists(conn, UNDO_DB):
            raise SnapshotError(
                "there is no undo snapshot on this server",
                "devdb keeps one before reset, restore, load and migrate down.",
            )
        if meta.get("source") not in (None, target):
            raise SnapshotError(
                f"the undo snapshot was taken from database {meta['source']!r}, not {target!r}",
                f"Set DEVDB_DATABASE={meta['source']} to restore it there.",
            )
        gone: list[str] = []
        exists = database_exists(conn, target)
        if exists:
            gone = disconnect(conn, target)
            try:
                drop(conn, _SWAP_DB)
                rename(conn, target, _SWAP_DB)
            except Exception:
                alter(conn, target, "WITH ALLOW_CONNECTIONS true")  # left as it was
                raise
        rename(conn, UNDO_DB, target)
        alter(conn, target, "WITH ALLOW_CONNECTIONS true")
        set_meta(conn, target, {"kind": "undone", **_keep(meta)})
        if exists:
            previous = get_meta(conn, _SWAP_DB)
            rename(conn, _SWAP_DB, UNDO_DB)
            set_meta(conn, UNDO_DB, _undo_meta(target, previous))
        return meta, gone


def delete(conninfo: ConnInfo, name: str) -> None:
    snap = snapshot_database(name)
    with admin_connect(conninfo) as conn:
        if not database_exists(conn, snap):
            raise SnapshotError(
                f"no snapshot {name!r}", "`invoke db.snapshot.list` shows the snapshots."
            )
        drop(conn, snap)
        from devdb import spare

        spare.prune(conn)


def list_snapshots(conninfo: ConnInfo) -> list[SnapshotInfo]:
    """Named snapshots and the undo snapshot, oldest first."""
    with admin_connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname = %s OR starts_with(datname, %s)",
            (UNDO_DB, SNAP_PREFIX),
        ).fetchall()
        found = [_describe(conn, str(r[0])) for r in rows]
    return sorted(found, key=lambda s: (s.created or "", s.name))


def _describe(conn: Conn, dbname: str) -> SnapshotInfo:
    row = conn.execute(
        "SELECT pg_database_size(oid) FROM pg_database WHERE datname = %s", (dbname,)
    ).fetchone()
    meta = get_meta(conn, dbname)
    name = dbname.removeprefix(SNAP_PREFIX) if dbname != UNDO_DB else "(undo)"
    return SnapshotInfo(
        name=name,
        database=dbname,
        size_bytes=int(row[0]) if row else 0,
        created=meta.get("created"),
        source=meta.get("source"),
        digest=meta.get("digest"),
    )
