"""db.up: two at once on a fresh checkout both succeed (a file lock around initdb and start);
a missing project database comes back from devdb's undo copy instead of being created empty."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devdb import server
from devdb.backends.native import NativeBackend
from devdb.conninfo import ConnInfo
from devdb.copies import dbops, names, snapshots
from devdb.database import connect
from devdb.settings import Settings
from tests.conftest import make_project
from tests.integration.dbdigest import content_digest
from tests.integration.faultkit import native_env


def test_two_db_up_at_once_on_a_fresh_checkout_both_succeed(tmp_path: Path) -> None:
    settings = make_project(tmp_path / "proj")
    env = native_env(settings)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "invoke", "db.up"],
            cwd=settings.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        results = [(p.wait(timeout=300), p.communicate()[1]) for p in procs]
        for code, stderr in results:
            assert code == 0, stderr
            assert "Traceback" not in stderr
        assert sum("created the database" in stderr for _, stderr in results) == 1
    finally:
        NativeBackend(settings).remove()


def test_db_up_brings_back_the_undo_instead_of_an_empty_database(
    project_on_server: Settings, scratch_db: ConnInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    with connect(scratch_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE work (id int)")
        conn.execute("INSERT INTO work SELECT generate_series(1, 30)")
    before = content_digest(scratch_db)
    snapshots.save_undo(project_on_server, scratch_db)
    with dbops.admin_connect(scratch_db) as conn:  # lost: by hand, or by an older devdb's crash
        dbops.drop(conn, scratch_db.dbname)
    assert server.ensure_database(scratch_db) is False
    assert content_digest(scratch_db) == before
    assert "brought back devdb's copy" in capsys.readouterr().err
    with dbops.admin_connect(scratch_db) as conn:
        assert not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (names.undo_name(scratch_db.dbname),)
        ).fetchone()
