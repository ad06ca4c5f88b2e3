"""Clone copies (PostgreSQL 18's file_copy_method = clone): probed once per cluster at db.up,
remembered, used by every template copy, and a plain copy wherever the clone cannot be made.

Each file system is a real one: an XFS file system with reflinks and an ext4 one, both made on
loop files and mounted for the test (root is needed, as in CI), with a native server on each.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devdb import server
from devdb.backends.native import NativeBackend
from devdb.conninfo import ConnInfo
from devdb.copies import clone
from devdb.copies.dbops import admin_connect, clone_database
from devdb.database import connect
from devdb.settings import Settings
from tests.conftest import make_project

MKFS = {"xfs": ["mkfs.xfs", "-q", "-m", "reflink=1"], "ext4": ["mkfs.ext4", "-q", "-F"]}


def loop_mount(tmp: Path, kind: str) -> Iterator[Path]:
    """A fresh ``kind`` file system on a 512 MB loop file, mounted under ``tmp``."""
    if os.geteuid() != 0:
        pytest.fail("loop mounts need root (CI runs as root)")
    if shutil.which(MKFS[kind][0]) is None:
        pytest.fail(f"{MKFS[kind][0]} is missing (apt-get install xfsprogs e2fsprogs)")
    image, mount = tmp / f"{kind}.img", tmp / kind
    with image.open("wb") as fh:
        fh.truncate(512 * 1024 * 1024)
    subprocess.run([*MKFS[kind], str(image)], check=True, capture_output=True)
    mount.mkdir()
    subprocess.run(["mount", "-o", "loop", str(image), str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        image.unlink(missing_ok=True)


def native_on(mount: Path) -> Iterator[tuple[Settings, ConnInfo]]:
    os.chmod(mount, 0o755)
    settings = make_project(mount / "proj", backend="native")
    up = server.up(settings)
    try:
        yield settings, up.conninfo
    finally:
        NativeBackend(settings).remove()


@pytest.fixture
def on_xfs(tmp_path: Path) -> Iterator[tuple[Settings, ConnInfo]]:
    for mount in loop_mount(tmp_path, "xfs"):
        yield from native_on(mount)


@pytest.fixture
def on_ext4(tmp_path: Path) -> Iterator[tuple[Settings, ConnInfo]]:
    for mount in loop_mount(tmp_path, "ext4"):
        yield from native_on(mount)


def remembered(settings: Settings) -> dict[str, str]:
    state = json.loads((settings.state_dir / "state.json").read_text())
    value: dict[str, str] = state["file_copy_method"]
    return value


def fill(info: ConnInfo, name: str, rows: int) -> None:
    with admin_connect(info) as conn:
        conn.execute(f"CREATE DATABASE {name}".encode())
    with connect(info.for_database(name), autocommit=True) as conn:
        table = "CREATE TABLE t AS SELECT g, md5(g::text) AS m FROM generate_series(1, {}) g"
        conn.execute(table.format(rows).encode())
        conn.execute("CHECKPOINT")


def digest(info: ConnInfo, name: str) -> str:
    with connect(info.for_database(name), autocommit=True) as conn:
        row = conn.execute("SELECT count(*) || md5(string_agg(m, '' ORDER BY g)) FROM t").fetchone()
    assert row
    return str(row[0])


def free_after_copy(info: ConnInfo, data_dir: Path) -> tuple[int, int]:
    """(bytes the copy of ``src`` used on disk, size of ``src``)."""
    with admin_connect(info) as conn:
        size = conn.execute("SELECT pg_database_size('src')").fetchone()
        before = shutil.disk_usage(data_dir).free
        clone_database(conn, "src", "dst", info.user)
        conn.execute("CHECKPOINT")
    assert size
    return before - shutil.disk_usage(data_dir).free, int(size[0])


def test_on_reflink_xfs_copies_are_clones_that_take_no_space(
    on_xfs: tuple[Settings, ConnInfo],
) -> None:
    settings, info = on_xfs
    assert remembered(settings)["method"] == "clone"
    assert server.status(settings)["copy_method"] == "file_copy, clone"
    fill(info, "src", 400_000)
    used, size = free_after_copy(info, settings.state_dir)
    assert size > 30_000_000
    assert used < size / 4  # blocks shared with the source until one side writes
    assert digest(info, "dst") == digest(info, "src")
    assert short_lived_method(info, "src", local=True) == "clone"  # big: cloned in ms
    assert short_lived_method(info, "template0", local=True) == "copy"  # small: cheaper to drop
    assert short_lived_method(info, "template0", local=False) == "clone"  # fs not known here


def short_lived_method(info: ConnInfo, template: str, *, local: bool) -> str:
    """What fresh_db's copies of ``template`` use, and what the session really has set."""
    with admin_connect(info) as conn:
        chosen = clone.prepare_short_lived(conn, template, local=local)
        row = conn.execute("SHOW file_copy_method").fetchone()
    assert row == (chosen,)
    return chosen


def test_on_ext4_a_clone_is_the_kernels_copy_and_the_choice_is_remembered(
    on_ext4: tuple[Settings, ConnInfo],
) -> None:
    settings, info = on_ext4
    # ext4 has no reflinks; Linux's copy_file_range still copies in the kernel: clone works.
    assert remembered(settings)["method"] == "clone"
    fill(info, "src", 400_000)
    used, size = free_after_copy(info, settings.state_dir)
    assert used > size * 0.7  # a real copy
    assert digest(info, "dst") == digest(info, "src")
    assert short_lived_method(info, "template0", local=True) == "clone"  # no reflinks: no gain
    # Remembered per cluster: the next db.up does not probe, and what it remembered is used.
    state_file = settings.state_dir / "state.json"
    state = json.loads(state_file.read_text())
    state["file_copy_method"]["method"] = "copy"
    state_file.write_text(json.dumps(state))
    server.up(settings)
    with admin_connect(info) as conn:
        conn.execute("SELECT pg_sleep(0.2)")  # the configuration reload reaches new sessions
    assert server.status(settings)["copy_method"] == "file_copy, copy"
    with admin_connect(info) as conn:
        row = conn.execute("SHOW file_copy_method").fetchone()
        clone_database(conn, "src", "dst2", info.user)
    assert row == ("copy",)
    assert digest(info, "dst2") == digest(info, "src")


def test_a_clone_copy_that_fails_falls_back_to_a_plain_copy_without_error(
    server_conninfo: ConnInfo,
) -> None:
    """The probe meets a real server error (a role that may not create databases): it answers
    ``copy``, raises nothing and leaves no probe database behind."""
    role, password = "devdb_no_createdb", "probe-pw-1"
    with admin_connect(server_conninfo) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {role}".encode())
        conn.execute(f"CREATE ROLE {role} LOGIN NOCREATEDB PASSWORD '{password}'".encode())
    try:
        with admin_connect(server_conninfo.as_role(role, password)) as conn:
            assert clone.probe(conn) == "copy"
        with admin_connect(server_conninfo) as conn:
            left = conn.execute(
                "SELECT count(*) FROM pg_database WHERE starts_with(datname, %s)",
                (clone.PROBE_PREFIX,),
            ).fetchone()
            assert left == (0,)
    finally:
        with admin_connect(server_conninfo) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {role}".encode())
