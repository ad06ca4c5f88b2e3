"""A full disk, for real: the server's data directory on a small tmpfs (mounting needs root, as
CI runs). Reset, snapshot save, load and dump fail with one Error line that names the folder and
the space needed, change nothing, and work again once space is freed."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devdb import server
from devdb.backends.native import NativeBackend
from devdb.copies import dbops, pgdump, reset
from devdb.database import connect
from devdb.settings import Settings
from tests.conftest import make_project
from tests.integration.dbdigest import content_digest
from tests.integration.faultkit import change, invoke_native, temporaries, write_migrations
from tests.integration.test_reset import wait_for_spare

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
KEEP_FREE = 3 * 1024 * 1024  # less than the smallest database (its catalogs are ~7 MB)


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    mount = tmp_path_factory.mktemp("disk") / "mnt"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=400M,mode=0777", "tmpfs", str(mount)], check=True
    )
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture(scope="module")
def full(disk: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A native server whose data directory is on ``disk``, then a file that fills ``disk``."""
    root = tmp_path_factory.mktemp("diskproj") / "proj"
    write_migrations(root)
    settings = make_project(root, state_dir=str(disk / "state"))
    server.up(settings)
    info = reset.project_conninfo(settings)
    template = reset.reset(settings).template.name
    wait_for_spare(info, template)  # the background copy it started, then dropped below
    change(info, "B")
    pgdump.dump(settings, info, root / "b.dump")
    admin = info.for_database("postgres")
    with connect(admin, autocommit=True) as conn:  # so that db.reset has to copy
        for (name,) in conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, 'devdb_spare_')"
        ).fetchall():
            dbops.drop(conn, name)
        conn.execute("CHECKPOINT")
    balloon = disk / "balloon"
    fill(balloon, KEEP_FREE)
    yield settings
    balloon.unlink(missing_ok=True)
    NativeBackend(settings).remove()


def fill(balloon: Path, leave: int) -> None:
    """Grow ``balloon`` until the disk is full, then give back ``leave`` bytes (the server
    writes meanwhile, so the free space is found by filling, not computed once)."""
    size, step = 0, 16 * 1024 * 1024
    with balloon.open("wb") as fh:
        while step >= 4096:
            try:
                os.posix_fallocate(fh.fileno(), size, step)
                size += step
            except OSError:
                step //= 2
        fh.truncate(max(0, size - leave))


def _one_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


@pytest.mark.parametrize(
    "args",
    [
        ("db.reset", "--yes"),
        ("db.snapshot.save", "s1"),
        ("db.load", "b.dump", "--yes"),
    ],
    ids=["reset", "snapshot.save", "load"],
)
def test_a_full_disk_changes_nothing_and_says_where(full: Settings, args: tuple[str, ...]) -> None:
    info = reset.project_conninfo(full)
    before = content_digest(info)
    error = _one_error(invoke_native(full, *args))
    assert "no space left" in error
    assert str(full.state_dir / "native" / "data") in error  # the folder
    if args[0] != "db.load":
        assert "needed" in error  # and how much
    assert content_digest(info) == before
    assert invoke_native(full, "db.snapshot.list").returncode == 0
    assert temporaries(info.for_database("postgres")) == []


def test_a_dump_into_a_full_folder_names_it(full: Settings, disk: Path) -> None:
    fill(disk / "balloon2", 1024)  # not even the dump's 6 kB fit
    try:
        error = _one_error(invoke_native(full, "db.dump", str(disk / "out.dump")))
    finally:
        (disk / "balloon2").unlink()
    assert f"no space left in {disk}" in error
    assert not (disk / "out.dump").exists()
    assert not (disk / "out.dump.part").exists()


def test_everything_works_again_once_space_is_freed(full: Settings, disk: Path) -> None:
    (disk / "balloon").unlink()
    info = reset.project_conninfo(full)
    assert invoke_native(full, "db.snapshot.save", "s1").returncode == 0
    assert invoke_native(full, "db.reset", "--yes").returncode == 0
    loaded = invoke_native(full, "db.load", "b.dump", "--yes")
    assert loaded.returncode == 0, loaded.stderr
    with connect(info) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (100,)
