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

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo
from devdb.copies.dbops import (
    admin_connect,
    alter,
    clone_database,
    copy_database,
    disconnect,
    drop,
    get_meta,
    now_iso,
    rename,
    set_meta,
)
from devdb.database import database_exists
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


def replace_database(
    conn: Conn, target: str, source: str, owner: str, *, use_spare: bool = False
) -> tuple[list[str], bool]:
    """Make ``target`` a fresh copy of ``source``; the old ``target`` becomes ``devdb_undo``
    (a rename: no copy). With ``use_spare``, a spare copy of ``source`` made ahead of time is
    renamed into place when there is one (see devdb.spare). Returns the clients that were
    disconnected from ``target``, and whether a spare was used."""
    from devdb.copies import spare

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
    from devdb.copies import spare

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
        from devdb.copies import spare

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
