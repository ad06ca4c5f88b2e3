"""Names of the databases devdb makes, and who owns the temporary ones.

Per-project names: the undo of database ``shop`` is ``devdb_undo_<8 hex of "shop">`` and its
snapshot ``nightly`` is ``devdb_snap_<same 8 hex>_nightly``, so two checkouts (or CI jobs) sharing a
server never touch each other's.

Temporaries: ``devdb_tmp_<project>_h<host>p<pid>s<start>_<kind>_<random>``. The owner part names
the process that made it (a digest of the host name, the pid and the process start time, base 36),
and that process holds a shared advisory lock keyed by it on every admin connection (its *lease*).
A temporary whose lease nobody holds belongs to a process that is gone (killed, or its server
restarted): every command sweeps those. Whatever the host, the server knows whether the owner's
session is alive.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[Any]

TMP_PREFIX = "devdb_tmp_"
UNDO_PREFIX = "devdb_undo_"
SNAP_PREFIX = "devdb_snap_"
TRASH = "trash"  # kind of a temporary that only waits to be dropped (by anyone)
LEGACY = (
    "devdb_undo",
    "devdb_undo_swap",
    "devdb_build_",
    "devdb_verify_",
    "devdb_schema_",
    "devdb_trash_",
)
_PROJECT_SNAPSHOT = re.compile(r"devdb_snap_[0-9a-f]{8}_")
_LEASE_SQL = "SELECT pg_advisory_lock_shared(hashtextextended(%s, 0))"
_STARTED = int(time.time())


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, rest = divmod(n, 36)
        out = digits[rest] + out
        if not n:
            return out


def _tag(text: str, size: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]


def owner() -> str:
    """This process: ``h<host digest>p<pid>s<start time>``."""
    return f"h{_tag(socket.gethostname(), 4)}p{os.getpid()}s{_b36(_STARTED)}"


def project_tag(dbname: str) -> str:
    return _tag(dbname, 8)


def undo_name(dbname: str) -> str:
    return UNDO_PREFIX + project_tag(dbname)


def snapshot_prefix(dbname: str) -> str:
    return f"{SNAP_PREFIX}{project_tag(dbname)}_"


def temp_name(dbname: str, kind: str) -> str:
    """A new temporary name for ``kind`` (new, build, snap, undo, spare, scratch, trash)."""
    return f"{TMP_PREFIX}{_tag(dbname, 6)}_{owner()}_{kind}_{secrets.token_hex(2)}"


@dataclass(frozen=True)
class Temp:
    name: str
    owner: str
    kind: str

    @property
    def pid(self) -> str:
        return self.owner.partition("p")[2].partition("s")[0]


def parse(name: str) -> Temp | None:
    parts = name.removeprefix(TMP_PREFIX).split("_")
    if not name.startswith(TMP_PREFIX) or len(parts) != 4:
        return None
    return Temp(name, parts[1], parts[2])


def take_lease(conn: Conn) -> None:
    """Hold this process's lease for as long as ``conn`` is open (an admin connection)."""
    conn.execute(_LEASE_SQL, ("devdb-owner-" + owner(),))


def owner_alive(conn: Conn, who: str) -> bool:
    """True while some session holds the lease of ``who`` (this process always counts)."""
    if who == owner():
        return True
    key = "devdb-owner-" + who
    row = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (key,)).fetchone()
    if row and row[0]:
        conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))
        return False
    return True


def temporaries(conn: Conn) -> list[Temp]:
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY 1", (TMP_PREFIX,)
    ).fetchall()
    return [t for (name,) in rows if (t := parse(str(name))) is not None]


def sweep(conn: Conn) -> list[str]:
    """Drop the temporaries whose owner is gone; returns their names."""
    from devdb.copies.dbops import drop
    from devdb.errors import DatabaseError

    dropped = []
    for temp in temporaries(conn):
        if owner_alive(conn, temp.owner):
            continue
        try:
            drop(conn, temp.name)
        except DatabaseError:
            continue  # another command's sweep got there first, or it is still in use
        dropped.append(temp.name)
    return dropped


def leftovers(conn: Conn) -> list[str]:
    """Databases that an older devdb or a crash left and nothing collects (legacy names)."""
    rows = conn.execute("SELECT datname FROM pg_database ORDER BY 1").fetchall()
    return leftovers_of([str(r[0]) for r in rows])


def leftovers_of(databases: list[str]) -> list[str]:
    """Names of an older devdb: server-wide undo and snapshots, pid-named scratch databases."""
    return [
        n
        for n in databases
        if n in LEGACY[:2]
        or n.startswith(LEGACY[2:])
        or (n.startswith(SNAP_PREFIX) and not _PROJECT_SNAPSHOT.match(n))
    ]
