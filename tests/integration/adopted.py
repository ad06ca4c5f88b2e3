"""Projects that migrate with another tool (tests/fixtures/*_project), copied onto the session's
server: helpers shared by the migrator tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from devdb.conninfo import ConnInfo
from devdb.database import connect
from devdb.settings import Settings
from tests.conftest import REPO, make_project, run_invoke

FIXTURES = REPO / "tests" / "fixtures"
PLUGIN_TESTS = """
import psycopg
import pytest

{checks}


@pytest.mark.parametrize("n", range(4))
def test_fresh_db_is_migrated_and_seeded_and_private(fresh_db, n):
    check(fresh_db)
    fresh_db.execute("CREATE TABLE public.mine (x int)")
    fresh_db.commit()


@pytest.mark.parametrize("n", range(4))
def test_db_conn_is_migrated_and_seeded(db_conn, n):
    check(db_conn)
"""


def adopt(fixture: str, dest: Path, scratch: ConnInfo, **env: str) -> Settings:
    """A copy of ``tests/fixtures/<fixture>`` whose database is ``scratch``; ``env`` goes into
    its ``.env`` (DEVDB_MIGRATOR and friends), as a team would commit settings."""
    shutil.copytree(FIXTURES / fixture, dest, ignore=shutil.ignore_patterns("__pycache__"))
    env = {"DEVDB_PROFILE": "test", **env}
    (dest / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return make_project(
        dest,
        backend="external",
        database_url=scratch.url(show_password=True),
        database=scratch.dbname,
    )


def ok(settings: Settings, *args: str) -> str:
    """``invoke ARGS`` in the project, which must succeed; what it printed."""
    run = run_invoke(settings, *args)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout + run.stderr


def query(conninfo: ConnInfo, sql: str) -> list[tuple[object, ...]]:
    """The rows of ``sql`` (none for a statement that returns none)."""
    with connect(conninfo, autocommit=True) as conn:
        cur = conn.execute(sql)
        return [tuple(row) for row in cur.fetchall()] if cur.description else []


def run_plugin(settings: Settings, checks: str) -> subprocess.CompletedProcess[str]:
    """The project's own test suite using fresh_db and db_conn, under ``pytest -n 2``."""
    tests = settings.root / "tests_sample"
    tests.mkdir()
    (tests / "test_sample.py").write_text(PLUGIN_TESTS.format(checks=checks))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEVDB_", "PYTEST_"))}
    env |= {
        "DEVDB_BACKEND": "external",
        "DATABASE_URL": settings.database_url or "",
        "DEVDB_DATABASE": settings.database,
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "tests_sample"],
        cwd=settings.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def drop_templates(conninfo: ConnInfo) -> None:
    """Drop what resets and the plugin left on the shared server (templates, spares, undo)."""
    from devdb.copies import dbops

    with dbops.admin_connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, 'devdb_tpl_') "
            "OR starts_with(datname, 'devdb_spare_') OR starts_with(datname, 'devdb_trash_') "
            "OR datname = 'devdb_undo'"
        ).fetchall()
        for (name,) in rows:
            dbops.drop(conn, name)
