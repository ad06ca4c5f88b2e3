"""How a database is copied: PostgreSQL 18's ``file_copy_method = clone`` where the cluster's
file system can, the plain copy where it cannot.

``CREATE DATABASE ... TEMPLATE ... STRATEGY file_copy`` copies the template's files. From
PostgreSQL 18 on, ``file_copy_method = clone`` makes the server clone them instead: a reflink on
XFS, btrfs or APFS (no data copied; blocks are shared until one side writes to them), the
kernel's ``copy_file_range`` elsewhere on Linux. Whether it works depends on the data directory's
file system, so it is probed once per cluster: a clone copy of ``template0`` under a throwaway
name. The result is remembered in the project's state (keyed by the cluster's system
identifier) and, on a server devdb runs (native, docker), in the server's own configuration
(``ALTER SYSTEM``), so every session uses it; on an external server each process probes once and
sets it for its own sessions (it is a user-settable parameter). Where the probe fails, copies
stay plain copies: no error.

``STRATEGY file_copy`` rather than ``wal_log``: measured on this project's servers (fsync off), a
file copy of a 7 MB template costs the same as ``wal_log`` (20-80 ms either way) and a 150 MB
one 3-15x less (clone on XFS: 47 ms against 500 ms); ``bench/bench_copies.py`` measures both.
"""

from __future__ import annotations

import os
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from devdb.settings import Settings

    Conn = psycopg.Connection[Any]

FIRST_VERSION = 180000  # file_copy_method appeared in PostgreSQL 18
PROBE_PREFIX = "devdb_clone_probe_"
STRATEGY = "file_copy"
MARK = "devdb.file_copy_probed"  # set on a server devdb runs: the probe's answer is in force
_KNOWN: dict[tuple[str, int], str] = {}  # (host, port) -> method probed by this process
_PREPARED: weakref.WeakSet[Any] = weakref.WeakSet()  # connections already set for copies
_PROBING = threading.Lock()  # the fresh_db pool's threads prepare their connections at once


def probe(conn: Conn) -> str:
    """``"clone"`` when a clone copy works on this cluster, ``"copy"`` when it does not, ``""``
    for a server without ``file_copy_method`` (before 18). The session's setting is reset."""
    import psycopg
    from psycopg import sql

    if conn.info.server_version < FIRST_VERSION:
        return ""
    name = sql.Identifier(f"{PROBE_PREFIX}{os.getpid()}_{threading.get_ident() % 10**6}")
    try:
        conn.execute("SET file_copy_method = clone")
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 STRATEGY file_copy").format(name)
        )
    except psycopg.Error:
        return "copy"
    finally:
        conn.execute("RESET file_copy_method")
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(name))
    return "clone"


def cluster_id(conn: Conn) -> str:
    """The cluster's system identifier (initdb makes a new one), or "" when not readable."""
    import psycopg

    try:
        row = conn.execute("SELECT system_identifier::text FROM pg_control_system()").fetchone()
    except psycopg.Error:
        return ""
    return str(row[0]) if row else ""


def configure(settings: Settings, conn: Conn, *, owned: bool) -> str:
    """At ``db.up``: the method for this cluster, probed once and remembered in the state folder;
    on a server devdb runs (``owned``) also put in force with ALTER SYSTEM. Returns it."""
    from devdb.state import read_state, write_state

    if conn.info.server_version < FIRST_VERSION:
        return ""
    cluster = cluster_id(conn)
    known = read_state(settings).get("file_copy_method")
    if isinstance(known, dict) and cluster and known.get("cluster") == cluster:
        method = str(known.get("method", "copy"))
    else:
        method = probe(conn)
        write_state(settings, file_copy_method={"cluster": cluster, "method": method})
    if owned and _setting(conn, MARK) != method:
        conn.execute(f"ALTER SYSTEM SET file_copy_method = {_word(method)}".encode())
        conn.execute(f"ALTER SYSTEM SET {MARK} = {_word(method)}".encode())
        conn.execute("SELECT pg_reload_conf()")
    _KNOWN[_key(conn)] = method
    return method


def prepare(conn: Conn) -> str:
    """Before a copy on ``conn``: make the session use the cluster's method (probing once per
    process when no ``db.up`` configured it); returns the STRATEGY word for CREATE DATABASE.
    Once per connection: a pool's connection makes a copy per test."""
    if conn in _PREPARED or conn.info.server_version < FIRST_VERSION:
        return STRATEGY
    _prepare(conn)
    _PREPARED.add(conn)
    return STRATEGY


def _prepare(conn: Conn) -> None:
    row = conn.execute(
        "SELECT current_setting('file_copy_method', true), current_setting(%s, true)", (MARK,)
    ).fetchone()
    if row and (row[1] or row[0] == "clone"):
        return  # the server's configuration decides, as probed at db.up
    key = _key(conn)
    with _PROBING:  # one probe per server and process, not one per thread
        method = _KNOWN.get(key)
        if method is None:
            method = _KNOWN[key] = probe(conn)
    if method == "clone":
        conn.execute("SET file_copy_method = clone")


def in_use(settings: Settings, conn: Conn) -> str:
    """What ``db.status`` reports: how this server copies a template for devdb (changes
    nothing: the answer of the probe made at ``db.up``, or of this process's)."""
    from devdb.state import read_state

    if conn.info.server_version < FIRST_VERSION:
        return f"{STRATEGY}, copy (file_copy_method needs PostgreSQL 18)"
    method = _setting(conn, MARK) or _KNOWN.get(_key(conn), "")
    known = read_state(settings).get("file_copy_method")
    if not method and isinstance(known, dict) and known.get("cluster") == cluster_id(conn):
        method = str(known.get("method", ""))
    return f"{STRATEGY}, {method or 'not probed yet (db.up probes it)'}"


def _setting(conn: Conn, name: str) -> str:
    row = conn.execute("SELECT current_setting(%s, true)", (name,)).fetchone()
    return str(row[0]) if row and row[0] else ""


def _key(conn: Conn) -> tuple[str, int]:
    return (str(conn.info.host), int(conn.info.port))


def _word(method: str) -> str:
    if method not in {"clone", "copy"}:
        raise ValueError(method)
    return method


# Below this size, fresh_db's copies on a reflink file system are plain copies. Measured (bench/
# bench_fresh_db.py, 9 MB template, XFS): a clone is made as fast as a copy but costs more to drop
# (its blocks are shared with the template), so a copy made it 14 ms a test instead of 18; at 108
# MB a clone is made in 8 ms against 45. On ext4 a clone (the kernel's copy) stays cheaper.
SHORT_LIVED_COPY_BELOW = 16 * 1024**2
REFLINK_FILE_SYSTEMS = frozenset({"xfs", "btrfs"})


def prepare_short_lived(conn: Conn, template: str, *, local: bool) -> str:
    """``prepare`` for copies that are dropped seconds after they are made (``fresh_db``'s), and
    the method they get: ``copy`` instead of ``clone`` for a template smaller than
    ``SHORT_LIVED_COPY_BELOW`` on a reflink file system, when the server is on this machine and
    its data directory can be read here; otherwise whatever ``prepare`` chose."""
    import psycopg

    prepare(conn)
    if conn.info.server_version < FIRST_VERSION:
        return ""
    try:
        row = conn.execute(
            "SELECT current_setting('file_copy_method'), current_setting('data_directory'), "
            "pg_database_size(%s)",
            (template,),
        ).fetchone()
    except psycopg.Error:  # data_directory needs a superuser or pg_read_all_settings
        return _setting(conn, "file_copy_method")
    if not row or row[0] != "clone" or not local or int(row[2]) >= SHORT_LIVED_COPY_BELOW:
        return str(row[0]) if row else ""
    if data_directory_fs(str(row[1]), conn.info.port) not in REFLINK_FILE_SYSTEMS:
        return "clone"
    conn.execute("SET file_copy_method = copy")
    return "copy"


def data_directory_fs(path: str, port: int) -> str:
    """The file system type of the server's data directory when it is on this machine (its
    postmaster.pid names the server's port), from /proc/self/mounts; "" when unknown."""
    try:
        lines = (Path(path) / "postmaster.pid").read_text().splitlines()
        if len(lines) < 4 or lines[3].strip() != str(port):
            return ""
        real = os.path.realpath(path)
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return ""
    best, kind = "", ""
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind
