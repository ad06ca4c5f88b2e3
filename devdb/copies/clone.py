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
