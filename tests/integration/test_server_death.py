"""A real ``kill -9`` of the postmaster in the middle of reset, restore, undo, load and migrate:
one ``Error:`` line that says what the database holds, no traceback; ``db.up`` brings the server
back with the project database intact and the next command sweeps what was left."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devdb import server
from devdb.backends.native import NativeBackend
from devdb.copies import pgdump, reset, snapshots
from devdb.settings import Settings
from tests.conftest import make_project
from tests.integration.dbdigest import content_digest
from tests.integration.faultkit import (
    change,
    invoke_native,
    kill_postmaster,
    native_env,
    privileges,
    restart,
    start_paused,
    temporaries,
    write_migrations,
)


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    root = tmp_path_factory.mktemp("death") / "proj"
    write_migrations(root)
    settings = make_project(root)
    server.up(settings)
    info = reset.project_conninfo(settings)
    reset.reset(settings)
    change(info, "B")
    snapshots.save(info, "s1", replace=True)
    pgdump.dump(settings, info, root / "b.dump")
    yield settings
    NativeBackend(settings).remove()


PREVIOUS = "holds its previous content (nothing was swapped)"
EITHER = "holds either its previous or the new content"  # the COMMIT got no answer
CASES = [
    pytest.param(("db.reset", "--yes"), "swap.before_commit", EITHER, id="reset"),
    pytest.param(("db.reset", "--yes", "--hard"), "build.migrated", PREVIOUS, id="build"),
    pytest.param(("db.snapshot.restore", "s1", "--yes"), "copy.built", PREVIOUS, id="restore"),
    pytest.param(
        ("db.snapshot.restore", "--undo", "--yes"), "swap.before_commit", EITHER, id="undo"
    ),
    pytest.param(("db.load", "b.dump", "--yes"), "load.restored", PREVIOUS, id="load"),
]


@pytest.mark.parametrize(("args", "point", "holds"), CASES)
def test_the_server_dies_mid_command(
    native: Settings, tmp_path: Path, args: tuple[str, ...], point: str, holds: str
) -> None:
    info = reset.project_conninfo(native)
    reset.reset(native)
    change(info, "A")
    old = content_digest(info)
    admin = info.for_database("postgres")
    acl = privileges(admin, info.dbname)
    marker = tmp_path / "paused"
    proc = start_paused(native, list(args), point, marker, native_env(native))
    kill_postmaster(native.state_dir / "native" / "data")
    marker.unlink()
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, stderr
    assert f"the server went away during {args[0]}" in errors[0]
    assert holds in errors[0]

    restart(native)  # the server comes back; nothing is created or lost
    assert content_digest(info) == old
    assert privileges(admin, info.dbname) == acl
    assert invoke_native(native, "db.snapshot.list").returncode == 0  # the next command sweeps
    assert temporaries(admin) == []


def test_the_server_dies_during_a_migration(native: Settings, tmp_path: Path) -> None:
    """The migration in progress is rolled back and not recorded; one Error line."""
    info = reset.project_conninfo(native)
    reset.reset(native)
    old = content_digest(info)
    slow = native.root / "migrations" / "20250101000200_slow.sql"
    slow.write_text("-- +migrate Up\nCREATE TABLE slow (id int);\nSELECT pg_sleep(60);\n")
    try:
        _killed_while(native, info, "pg_sleep", "db.migrate")
        restart(native)
        assert content_digest(info) == old  # no table slow, no record of the migration
        status = invoke_native(native, "db.migrate.status")
        assert "pending" in status.stdout and "20250101000200_slow" in status.stdout
    finally:
        slow.unlink()
        restart(native)


def _killed_while(native: Settings, info: object, query: str, *args: str) -> str:
    """Run ``invoke ARGS``, kill -9 the server once ``query`` runs; returns its stderr, which
    must be one Error line (exit 1, no traceback)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=native.root,
        env=native_env(native),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_query(info, query)
    kill_postmaster(native.state_dir / "native" / "data")
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr, stderr
    assert len([x for x in stderr.splitlines() if x.startswith("Error:")]) == 1, stderr
    return stderr


def _wait_for_query(info: object, text: str) -> None:
    import time

    from devdb.conninfo import ConnInfo
    from devdb.database import connect

    assert isinstance(info, ConnInfo)
    deadline = time.monotonic() + 60
    with connect(info.for_database("postgres"), autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND pid <> "
                "pg_backend_pid()",
                (f"%{text}%",),
            ).fetchone()
            if row and row[0]:
                return
            time.sleep(0.05)
    raise AssertionError(f"no query with {text!r} started")


def test_the_server_dies_while_pg_restore_runs(native: Settings, tmp_path: Path) -> None:
    """Not the file's fault: the error says the server went away and what the database holds,
    never that the dump may be incomplete."""
    from devdb.database import connect

    info = reset.project_conninfo(native)
    reset.reset(native)
    old = content_digest(info)
    admin = info.for_database("postgres")
    with connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS slow_source")
        conn.execute("CREATE DATABASE slow_source")
    with connect(info.for_database("slow_source"), autocommit=True) as conn:
        # instant here; 60 s when pg_restore refreshes it in devdb's temporary database
        conn.execute(
            "CREATE MATERIALIZED VIEW slow AS SELECT 1 AS x FROM pg_sleep(CASE WHEN "
            "current_database() = 'slow_source' THEN 0 ELSE 60 END)"
        )
    pgdump.dump(native, info.for_database("slow_source"), tmp_path / "slow.dump")
    args = ("db.load", str(tmp_path / "slow.dump"), "--yes")
    stderr = _killed_while(native, info, "REFRESH MATERIALIZED VIEW", *args)
    assert "the server went away during db.load" in stderr, stderr
    assert "holds its previous content" in stderr, stderr
    assert "Is the file complete" not in stderr, stderr
    restart(native)
    assert content_digest(info) == old
    assert invoke_native(native, "db.snapshot.list").returncode == 0  # the next command sweeps
    assert temporaries(admin) == []
