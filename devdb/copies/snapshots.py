"""Snapshots: template-style copies of the project database, on the same server.

Snapshot ``NAME`` of database ``shop`` is ``devdb_snap_<8 hex of "shop">_NAME``, copied with
``CREATE DATABASE ... TEMPLATE`` (``STRATEGY file_copy``: measured faster than ``wal_log`` here
once a database holds more than a few MB, and equal below). Its metadata (kind, source database,
created, source digest) is JSON in ``COMMENT ON DATABASE``, so it travels with the database and
needs no table of its own; the size comes from ``pg_database_size``. Snapshots do not accept
connections, so they stay exactly as saved. Names are per project database (``names``), so
checkouts sharing a server never touch each other's.

The automatic undo ``devdb_undo_<8 hex>`` is kept before every destructive task. When a task
replaces the database (reset, restore, load), the old database is *renamed* to the undo in the
same transaction that renames the new copy into place (``swap``), so the undo costs nothing;
``save_undo`` (for tasks that change a database in place, like migrate down) copies it.
``restore_undo`` swaps the undo and the current database, so a second undo brings back what the
first one replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo
from devdb.copies import faults, names
from devdb.copies.dbops import (
    acl_statements,
    admin_connect,
    alter,
    clone_database,
    copy_database,
    drop,
    get_meta,
    now_iso,
    set_meta,
)
from devdb.copies.swap import Phase, Swap, building, commit, drop_trash, server_watch
from devdb.database import database_exists
from devdb.errors import SnapshotError
from devdb.settings import Settings

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[Any]

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
    conn: Conn,
    target: str,
    source: str,
    owner: str,
    *,
    meta: dict[str, Any],
    use_spare: bool = False,
    phase: Phase | None = None,
) -> tuple[list[str], Swap, bool]:
    """Make ``target`` a copy of ``source`` (the swap protocol); the old ``target`` becomes its
    undo. With ``use_spare``, a copy of ``source`` made ahead of time is used when there is one
    (see ``spare``). Returns the disconnected clients, the swap (its ``trash`` is for the caller
    to retire) and whether a spare was used."""
    from devdb.copies import spare

    with building(conn, names.temp_name(target, "new")) as new:
        used = use_spare and spare.take(conn, source, new)
        if not used:
            clone_database(conn, source, new, owner)
        faults.point("copy.built")
        gone, swap = swap_in(conn, target, new, meta, phase)
    return gone, swap, used


def swap_in(
    conn: Conn, target: str, new: str, meta: dict[str, Any], phase: Phase | None = None
) -> tuple[list[str], Swap]:
    """Rename the complete temporary ``new`` to ``target`` in one transaction; the old
    ``target`` becomes the undo (the previous undo is retired). ``new`` gets ``target``'s
    privileges, accepts connections and gets ``meta`` in the same transaction."""
    undo = names.undo_name(target)
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE datname = ANY(%s)", ([target, undo],)
    ).fetchall()
    exists, has_undo = target in {r[0] for r in rows}, undo in {r[0] for r in rows}
    swap = Swap(idle=[target] if exists else [])
    acl_from = target if exists else undo if has_undo else None
    if acl_from:  # privileges, connections and metadata first, in the same transaction
        swap.statements += acl_statements(conn, acl_from, new)
    swap.alter(new, "WITH ALLOW_CONNECTIONS true")
    swap.describe(new, meta)
    if exists:
        swap.retire(conn, undo, target, exists=has_undo)
        swap.rename(target, undo)
        swap.alter(undo, "WITH ALLOW_CONNECTIONS false")
        swap.describe(undo, _undo_meta(target, get_meta(conn, target)))
    swap.rename(new, target)
    return commit(conn, swap, phase), swap


def _undo_meta(source: str, previous: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "undo",
        "source": source,
        "created": now_iso(),
        "digest": previous.get("digest"),
    }


# -- snapshot commands --------------------------------------------------------------------


def check_name(name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise SnapshotError(
            f"bad snapshot name {name!r}",
            "Use 1-40 lowercase letters, digits and underscores, starting with a letter or digit.",
        )
    return name


def snapshot_database(dbname: str, name: str) -> str:
    """The database that holds snapshot ``name`` of project database ``dbname``."""
    return names.snapshot_prefix(dbname) + check_name(name)


def save(conninfo: ConnInfo, name: str, *, replace: bool = False) -> tuple[SnapshotInfo, list[str]]:
    """Copy the database of ``conninfo`` into snapshot ``name`` (built under a temporary name,
    then renamed; with ``replace`` the old snapshot is retired only after that)."""
    snap = snapshot_database(conninfo.dbname, name)
    with admin_connect(conninfo) as conn:
        _require_source(conn, conninfo.dbname)
        if database_exists(conn, snap) and not replace:
            raise SnapshotError(
                f"snapshot {name!r} already exists",
                f"Pass --replace, or `invoke db.snapshot.delete {name}` first.",
            )
        gone = _save_copy(conn, conninfo, snap, kind="snapshot")
        return _describe(conn, conninfo.dbname, snap), gone


def _save_copy(conn: Conn, conninfo: ConnInfo, snap: str, *, kind: str) -> list[str]:
    """Copy the project database to ``snap`` (replacing it, if it exists) by the protocol."""
    previous = get_meta(conn, conninfo.dbname)
    meta = {
        "kind": kind,
        "source": conninfo.dbname,
        "created": now_iso(),
        "digest": previous.get("digest"),
    }
    with (
        server_watch(conn, snap, f"saving {snap!r}") as phase,
        building(conn, names.temp_name(conninfo.dbname, kind[:4])) as new,
    ):
        gone = copy_database(conn, conninfo.dbname, new, conninfo.user)
        alter(conn, new, "WITH ALLOW_CONNECTIONS false")
        set_meta(conn, new, meta)
        faults.point("copy.built")
        swap = Swap()
        swap.retire(conn, snap, conninfo.dbname)
        swap.rename(new, snap)
        commit(conn, swap, phase)
    drop_trash(conn, swap)
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
        return _save_copy(conn, conninfo, names.undo_name(conninfo.dbname), kind="undo")


def restore(conninfo: ConnInfo, name: str) -> list[str]:
    """Replace the database with a copy of snapshot ``name`` (the old one becomes the undo)."""
    from devdb.copies import spare

    snap = snapshot_database(conninfo.dbname, name)
    with admin_connect(conninfo) as conn:
        if not database_exists(conn, snap):
            raise SnapshotError(
                f"no snapshot {name!r}", "`invoke db.snapshot.list` shows the snapshots."
            )
        meta = {"kind": "restored", "snapshot": name, **_keep(get_meta(conn, snap))}
        with server_watch(conn, conninfo.dbname, "db.snapshot.restore") as phase:
            gone, _, _ = replace_database(
                conn, conninfo.dbname, snap, conninfo.user, meta=meta, use_spare=True, phase=phase
            )
    spare.refill_in_background(conninfo, snap)  # the next restore of it is a rename
    return gone


def _keep(meta: dict[str, Any]) -> dict[str, Any]:
    return {"digest": meta.get("digest"), "created": now_iso()}


def has_undo(conninfo: ConnInfo) -> bool:
    with admin_connect(conninfo) as conn:
        return database_exists(conn, names.undo_name(conninfo.dbname))


def restore_undo(conninfo: ConnInfo) -> tuple[dict[str, Any], list[str]]:
    """Swap the undo and the database in one transaction: the state from just before the last
    destructive task comes back, and what it replaced becomes the undo (undo twice: no-op)."""
    target = conninfo.dbname
    undo = names.undo_name(target)
    with admin_connect(conninfo) as conn:
        if not database_exists(conn, undo):
            raise SnapshotError(
                f"there is no undo snapshot of database {target!r} on this server",
                "devdb keeps one before reset, restore, load and migrate down.",
            )
        meta = get_meta(conn, undo)
        with server_watch(conn, target, "db.snapshot.restore --undo") as phase:
            gone = commit(conn, _undo_swap(conn, target, undo, meta), phase)
        return meta, gone


def _undo_swap(conn: Conn, target: str, undo: str, meta: dict[str, Any]) -> Swap:
    swap = Swap(idle=[target])
    if database_exists(conn, target):
        hold = names.temp_name(target, "hold")  # exists only inside the transaction
        swap.rename(target, hold)
        swap.rename(undo, target)
        swap.rename(hold, undo)
        swap.alter(undo, "WITH ALLOW_CONNECTIONS false")
        swap.describe(undo, _undo_meta(target, get_meta(conn, target)))
    else:
        swap.rename(undo, target)
    swap.alter(target, "WITH ALLOW_CONNECTIONS true")
    swap.describe(target, {"kind": "undone", **_keep(meta)})
    return swap


def recover_missing(conn: Conn, target: str) -> str | None:
    """When ``target`` is missing, rename devdb's undo of it (or an older devdb's) back into
    place; returns the name it had, or None when there is none."""
    for undo in (names.undo_name(target), "devdb_undo"):
        meta = get_meta(conn, undo)
        if database_exists(conn, undo) and meta.get("source") == target:
            commit(conn, _undo_swap(conn, target, undo, meta))
            return undo
    return None


def delete(conninfo: ConnInfo, name: str) -> None:
    from devdb.copies import spare

    snap = snapshot_database(conninfo.dbname, name)
    with admin_connect(conninfo) as conn:
        if not database_exists(conn, snap):
            raise SnapshotError(
                f"no snapshot {name!r}", "`invoke db.snapshot.list` shows the snapshots."
            )
        drop(conn, snap)
        spare.prune(conn)


def list_snapshots(conninfo: ConnInfo) -> list[SnapshotInfo]:
    """This project's snapshots and undo, oldest first, then what a crash or an older devdb
    left behind (kind ``leftover``; drop them with ``DROP DATABASE`` once you are sure)."""
    dbname = conninfo.dbname
    with admin_connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname = %s OR starts_with(datname, %s)",
            (names.undo_name(dbname), names.snapshot_prefix(dbname)),
        ).fetchall()
        found = [_describe(conn, dbname, str(r[0])) for r in rows]
        left = [_describe(conn, dbname, n) for n in names.leftovers(conn)]
    return sorted(found, key=lambda s: (s.created or "", s.name)) + left


def _describe(conn: Conn, dbname: str, database: str) -> SnapshotInfo:
    row = conn.execute(
        "SELECT pg_database_size(oid) FROM pg_database WHERE datname = %s", (database,)
    ).fetchone()
    meta = get_meta(conn, database)
    if database == names.undo_name(dbname):
        name = "(undo)"
    elif database.startswith(names.snapshot_prefix(dbname)):
        name = database.removeprefix(names.snapshot_prefix(dbname))
    else:
        name = f"(leftover) {database}"
    return SnapshotInfo(
        name=name,
        database=database,
        size_bytes=int(row[0]) if row else 0,
        created=meta.get("created"),
        source=meta.get("source"),
        digest=meta.get("digest"),
    )
