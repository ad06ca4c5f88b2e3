"""Server lifecycle commands: one plain function per command, taking settings first.

Tasks call these and print what they return; nothing here knows about invoke.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from devdb.backends import Backend, backend_named, get_backend, remember_backend
from devdb.conninfo import ConnInfo
from devdb.database import ADMIN_DB, connect, create_database, database_exists
from devdb.errors import ConnectionFailed
from devdb.settings import Settings
from devdb.state import has_owner_password

NOT_GENERATED = "not-generated-yet"  # a stand-in, shown masked (no password exists yet)


@dataclass(frozen=True)
class UpResult:
    backend: str
    conninfo: ConnInfo
    created_database: bool


def up(settings: Settings) -> UpResult:
    """Start the server (or find it running), wait for it, and make sure the database exists.

    Under a file lock in the state folder: two ``db.up`` at once on a fresh checkout (two
    terminals, parallel test workers) run initdb and start once, and both succeed."""
    with up_lock(settings):
        backend = get_backend(settings)
        conninfo = backend.start()
        remember_backend(settings, backend.name)
        created = ensure_database(conninfo)
        choose_copy_method(settings, conninfo, owned=backend.name != "external")
    from devdb.roles import refresh_app_role

    refresh_app_role(settings, conninfo)
    return UpResult(backend.name, conninfo, created)


@contextmanager
def up_lock(settings: Settings) -> Iterator[None]:
    import fcntl

    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with (settings.state_dir / "up.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_database(conninfo: ConnInfo) -> bool:
    """Create the project database when it is missing; True when it was created. Never while
    devdb's undo copy of it holds data: that copy is renamed back instead (and a warning says
    so), so a database lost to a crash of an older devdb, or dropped by hand, comes back."""
    from devdb.copies.dbops import admin_connect
    from devdb.copies.snapshots import recover_missing
    from devdb.output import warn

    with admin_connect(conninfo) as conn:
        if database_exists(conn, conninfo.dbname):
            return False
        recovered = recover_missing(conn, conninfo.dbname)
        if recovered:
            warn(
                f"database {conninfo.dbname!r} was missing: brought back devdb's copy "
                f"{recovered!r} instead of creating an empty one"
            )
            return False
        create_database(conn, conninfo.dbname, owner=conninfo.user)
        return True


def choose_copy_method(settings: Settings, conninfo: ConnInfo, *, owned: bool) -> None:
    """Probe (once per cluster) whether template copies can be clones; never fails ``db.up``."""
    import psycopg

    from devdb.copies.clone import configure
    from devdb.errors import DevdbError

    try:
        with connect(conninfo.for_database(ADMIN_DB), autocommit=True) as conn:
            configure(settings, conn, owned=owned)
    except (DevdbError, OSError, psycopg.Error):
        pass  # copies stay plain copies


def down(settings: Settings) -> str:
    backend = get_backend(settings, announce=False)
    backend.stop()
    return backend.name


def status(settings: Settings) -> dict[str, Any]:
    """A description of the server; ``url`` has the password hidden. Reads only: a project
    never started gets no state folder and no password from it."""
    backend = get_backend(settings, announce=False)
    if backend.name in {"native", "docker"} and not has_owner_password(settings):
        backend = backend_named(backend.name, replace(settings, password=NOT_GENERATED))
    st = backend.status()
    conninfo = st.conninfo or backend.conninfo()
    doc: dict[str, Any] = {
        "backend": backend.name,
        "running": st.running,
        "url": conninfo.url(),
        "server_version": None,
        "database": conninfo.dbname,
        "project": settings.project,
        **st.detail,
    }
    if st.running:
        try:
            doc["server_version"], doc["copy_method"] = _version_and_copy_method(settings, conninfo)
        except ConnectionFailed as exc:
            doc["error"] = exc.message
    return doc


def health_text(doc: dict[str, Any]) -> str:
    """Docker's health for people: "starting" only means its healthcheck has not passed yet,
    which is no contradiction when devdb just connected (db.up waits by connecting)."""
    health = str(doc.get("health") or "")
    if health == "starting" and doc.get("server_version"):
        return "starting (Docker's healthcheck has not passed yet; the server already answers)"
    return health


def _version_and_copy_method(settings: Settings, conninfo: ConnInfo) -> tuple[str, str]:
    """The server's version, and how template copies are made there (file_copy, clone or
    copy): one connection for both (a login is most of db.status's time)."""
    from devdb.copies.clone import in_use

    with connect(conninfo.for_database(ADMIN_DB), autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        return (str(row[0]) if row else ""), in_use(settings, conn)


def url(settings: Settings, *, database: str | None = None, role: str | None = None) -> str:
    """The full connection URL, password included (for ``psql "$(invoke db.url)"``);
    ``role`` ``app`` (DEVDB_APP_ROLE) gives the least-privilege application role's URL."""
    from devdb.roles import conninfo_for_role

    conninfo = conninfo_for_role(settings, get_backend(settings, announce=False).conninfo(), role)
    return conninfo.url(show_password=True, dbname=database)


def owner_conninfo(settings: Settings) -> ConnInfo:
    """Connection info for a running server; raises when nothing listens there.

    A TCP probe, not a login: the command's own connection follows at once and reports a wrong
    password or a missing database itself, so a full login here would only cost time."""
    backend = get_backend(settings, announce=False)
    conninfo = backend.conninfo()
    endpoint = conninfo.tcp_endpoint()  # sockets and host lists: the connection itself tells
    if endpoint is not None and not port_open(*endpoint):
        raise ConnectionFailed(
            f"no server answers on {conninfo.host}:{conninfo.port} ({backend.name} backend)",
            "Start it with `invoke db.up`.",
        )
    return conninfo


def port_open(host: str, port: int, timeout: float = 2.0) -> bool:
    import socket

    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        return False
    return True


CHECKPOINT_LINES = ("LOG:  checkpoint starting:", "LOG:  checkpoint complete:")


def logs(settings: Settings, lines: int = 50, *, checkpoints: bool = False) -> str:
    """The last ``lines`` lines of the server log; routine checkpoint lines are left out
    unless ``checkpoints`` (they are most of an idle development server's log)."""
    backend = get_backend(settings, announce=False)
    if checkpoints:
        return backend.logs(lines)
    kept = [
        line
        for line in backend.logs(lines * 10).splitlines()
        if not any(marker in line for marker in CHECKPOINT_LINES)
    ]
    return "\n".join(kept[-lines:])


def destroy(settings: Settings) -> Backend:
    """Remove the server and its data (callers confirm first and check the guard)."""
    backend = get_backend(settings, announce=False)
    backend.remove()
    return backend
