"""Spare copies: a copy of a template or snapshot made ahead of time, so the next reset or restore
is a rename (constant time) instead of a copy (about 1 ms per MB on a quiet disk).

After db.reset / db.snapshot.restore has used (or missed) the spare of its source, it starts a
detached process that copies the source into ``devdb_spare_<hash>`` in the background; the command
itself returns at once. A spare records its source's OID, so a template rebuilt or a snapshot saved
again under the same name (a new database, a new OID) never hands out stale content. Sources are
closed to connections, so they cannot change under a spare. The cost is disk: one more copy of
each source used for a reset or restore; spares of sources that no longer exist are pruned.

The old undo a reset or restore replaces is renamed to a ``trash`` temporary (see ``names``) and
dropped by the same background process, so a reset never waits for a big database's files to be
deleted. A spare is built under a temporary name too, so a killed background process leaves
nothing that the next command's sweep does not collect.
The background process gets the connection info on its stdin (never in argv or the environment).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo
from devdb.copies import names
from devdb.copies.dbops import (
    admin_connect,
    alter,
    clone_database,
    drop,
    get_meta,
    rename,
    set_meta,
)
from devdb.copies.swap import Swap, building, commit
from devdb.database import database_exists
from devdb.errors import DatabaseError

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[Any]

SPARE_PREFIX = "devdb_spare_"
APPLICATION = "devdb-spare"


def spare_name(source: str) -> str:
    return SPARE_PREFIX + hashlib.sha256(source.encode()).hexdigest()[:16]


def _oid(conn: Conn, name: str) -> int | None:
    row = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return int(row[0]) if row else None


def take(conn: Conn, source: str, target: str) -> bool:
    """Rename the spare of ``source`` to ``target`` when it is a fresh copy of it; True if so.

    ``target`` must not exist. The spare carries the source's database-level privileges already.
    """
    spare = spare_name(source)
    if not database_exists(conn, spare):
        return False
    if get_meta(conn, spare).get("source_oid") != _oid(conn, source):
        drop(conn, spare)  # the source was rebuilt or saved again since
        return False
    try:
        rename(conn, spare, target)
    except DatabaseError:
        return False  # another command took it first
    alter(conn, target, "WITH ALLOW_CONNECTIONS true")
    return True


def drop_trash(conn: Conn) -> list[str]:
    """Drop every ``trash`` temporary (whoever made it: it only waits to be dropped)."""
    dropped = []
    for temp in names.temporaries(conn):
        if temp.kind == names.TRASH:
            drop(conn, temp.name)
            dropped.append(temp.name)
    return dropped


def refill_in_background(conninfo: ConnInfo, source: str) -> None:
    """Start a detached process that makes the spare of ``source`` (if it is not there yet)."""
    payload = json.dumps({"conninfo": conninfo.kwargs(), "source": source})
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devdb.copies.spare"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            text=True,
        )
    except OSError:
        return  # a spare is an optimisation: without one the next command copies
    assert proc.stdin is not None
    proc.stdin.write(payload)
    proc.stdin.close()
    # Reap it when it ends, if this process still runs then (no zombie, no ResourceWarning).
    threading.Thread(target=proc.wait, name="devdb-spare", daemon=True).start()


def make(conn: Conn, source: str, owner: str) -> bool:
    """Copy ``source`` into its spare unless one exists or is being made; True if made."""
    spare = spare_name(source)
    row = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (spare,)).fetchone()
    if not row or not row[0]:
        return False  # another process is making it
    try:
        oid = _oid(conn, source)
        if oid is None or (
            database_exists(conn, spare) and get_meta(conn, spare).get("source_oid") == oid
        ):
            return False
        with building(conn, names.temp_name(source, "spare")) as new:
            clone_database(conn, source, new, owner)
            alter(conn, new, "WITH ALLOW_CONNECTIONS false")
            set_meta(conn, new, {"kind": "spare", "source": source, "source_oid": oid})
            swap = Swap()
            swap.retire(conn, spare, source)
            swap.rename(new, spare)
            commit(conn, swap)
        drop_trash(conn)
        return True
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (spare,))


def prune(conn: Conn) -> list[str]:
    """Drop spares whose source is gone or was replaced (and discarded databases)."""
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (SPARE_PREFIX,)
    ).fetchall()
    dropped = []
    for (name,) in rows:
        meta = get_meta(conn, name)
        source = meta.get("source")
        if not source or _oid(conn, str(source)) != meta.get("source_oid"):
            drop(conn, name)
            dropped.append(str(name))
    return dropped + drop_trash(conn)


def _main() -> None:
    """The background process: read {conninfo, source} from stdin, make the spare, exit."""
    data = json.loads(sys.stdin.read())
    kw = data["conninfo"]
    info = ConnInfo.from_kwargs(kw)  # every parameter, sslmode & co included
    with admin_connect(info) as conn:
        conn.execute("SELECT set_config('application_name', %s, false)", (APPLICATION,))
        drop_trash(conn)
        make(conn, data["source"], info.user)


if __name__ == "__main__":
    _main()
