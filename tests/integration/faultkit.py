"""Helpers of the fault harness: a tiny project, its states, and the invariants checked after a
crash (used by test_faults.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from devdb.conninfo import ConnInfo
from devdb.copies import dbops, names
from devdb.database import connect, create_database
from devdb.settings import Settings
from tests.conftest import make_project, run_invoke
from tests.integration.dbdigest import content_digest

MIGRATIONS = {
    "20250101000000_create_items.sql": """-- +migrate Up
CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 200) g;
CREATE INDEX items_name ON items (name);

-- +migrate Down
DROP TABLE items;
""",
    "20250101000100_create_notes.sql": """-- +migrate Up
CREATE TABLE notes (id int PRIMARY KEY, body text);
INSERT INTO notes SELECT g, repeat('n', g) FROM generate_series(1, 50) g;

-- +migrate Down
DROP TABLE notes;
""",
}


def write_migrations(root: Path) -> None:
    (root / "migrations").mkdir(parents=True, exist_ok=True)
    for name, text in MIGRATIONS.items():
        (root / "migrations" / name).write_text(text)


def tiny_project(root: Path, server: ConnInfo, dbname: str) -> Settings:
    """A project with two small migrations and no seeds, on ``dbname`` of ``server``."""
    write_migrations(root)
    info = server.for_database(dbname)
    with dbops.admin_connect(server) as conn:
        dbops.drop(conn, dbname)
        create_database(conn, dbname, owner=server.user)
    return make_project(
        root, backend="external", database_url=info.url(show_password=True), database=dbname
    )


def change(info: ConnInfo, label: str) -> None:
    """Put the project database in a state named ``label`` (distinct content per label)."""
    with connect(info, autocommit=True) as conn:
        conn.execute("DELETE FROM items WHERE id > 100")
        conn.execute("UPDATE items SET name = %s WHERE id <= 10", (label,))


def digest_of(admin: ConnInfo, database: str) -> str:
    """The content digest of any database, even one closed to connections (via a copy)."""
    check = f"chk_{uuid.uuid4().hex[:10]}"
    with dbops.admin_connect(admin) as conn:
        create_database(conn, check, template=database)
    try:
        return content_digest(admin.for_database(check))
    finally:
        with dbops.admin_connect(admin) as conn:
            dbops.drop(conn, check)


@dataclass(frozen=True)
class Privileges:
    allow: bool
    acl: str


def privileges(admin: ConnInfo, database: str) -> Privileges | None:
    with connect(admin, autocommit=True) as conn:
        row = conn.execute(
            "SELECT datallowconn, (SELECT string_agg(a::text, ',' ORDER BY a::text) "
            "FROM unnest(coalesce(datacl, acldefault('d', datdba))) a) "
            "FROM pg_database WHERE datname = %s",
            (database,),
        ).fetchone()
    return Privileges(bool(row[0]), str(row[1])) if row else None


def temporaries(admin: ConnInfo) -> list[str]:
    with connect(admin, autocommit=True) as conn:
        rows = conn.execute("SELECT datname FROM pg_database ORDER BY 1").fetchall()
    found = [str(r[0]) for r in rows]
    return [n for n in found if n.startswith(names.TMP_PREFIX) or n in names.leftovers_of(found)]


def wait_background(timeout: float = 60) -> None:
    """Wait until the background spare processes this test started have finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _spare_children():
        time.sleep(0.05)
    assert not _spare_children(), "a background spare process did not finish"


def _spare_children() -> list[int]:
    me = os.getpid()
    return [p.pid for p in processes() if p.ppid == me and b"devdb.copies.spare" in p.cmdline]


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    pgrp: int
    cmdline: bytes


def processes() -> list[Process]:
    """The live (not zombie) processes of this machine, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if fields[0] != "Z":  # state, ppid, pgrp
            found.append(Process(int(entry.name), int(fields[1]), int(fields[2]), cmdline))
    return found


def invoke(
    settings: Settings, *args: str, fault: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``invoke ARGS`` on an external-backend project, with ``DEVDB_FAULT`` set to ``fault``."""
    return run_invoke(settings, *args, extra={"DEVDB_FAULT": fault} if fault else None)


def native_env(settings: Settings) -> dict[str, str]:
    """The environment of a command on a native-backend project (its own state folder)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env.pop("DATABASE_URL", None)
    return env | {
        "DEVDB_BACKEND": "native",
        "DEVDB_STATE_DIR": str(settings.state_dir),
        "NO_COLOR": "1",
    }


def invoke_native(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=settings.root,
        env=native_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def listed(settings: Settings) -> list[dict[str, object]]:
    proc = invoke(settings, "db.snapshot.list", "--json")
    assert proc.returncode == 0, proc.stderr
    data: list[dict[str, object]] = json.loads(proc.stdout)
    return data


def restart(settings: Settings) -> None:
    """``db.up`` after a crash; a failure shows the server's log (why it did not start)."""
    from devdb import server
    from devdb.errors import ServerStartError

    try:
        server.up(settings)
    except ServerStartError as exc:
        raise AssertionError(exc.render()) from exc


def kill_postmaster(data: Path, timeout: float = 30) -> None:
    """``kill -9`` the postmaster of ``data``, then wait until its children have noticed and
    exited, as they do when their postmaster dies (each runs in a session of its own, so they
    are found by parent before the kill, not by process group; the postmaster is stopped first,
    so it forks none after they are listed)."""
    import signal

    pid = int((data / "postmaster.pid").read_text().splitlines()[0])
    os.kill(pid, signal.SIGSTOP)
    server = {pid} | {p.pid for p in processes() if p.ppid == pid}
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _any_alive(server):
        time.sleep(0.05)
    assert not _any_alive(server), "the server's processes did not exit after the postmaster died"


def _any_alive(pids: set[int]) -> bool:
    return any(p.pid in pids for p in processes())


def start_paused(
    settings: Settings, args: list[str], point: str, marker: Path, env: dict[str, str]
) -> subprocess.Popen[str]:
    """Start ``invoke ARGS`` with a pause at crash point ``point``; returns once it is there."""
    marker.unlink(missing_ok=True)
    full = {**env, "DEVDB_FAULT": f"{point}:pause", "DEVDB_FAULT_FILE": str(marker)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=settings.root,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{args} never reached {point}"
        time.sleep(0.02)
    return proc
