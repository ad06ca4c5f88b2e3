"""The pytest plugin in a sample project, run in a subprocess with ``pytest -n 2``.

The sample project has no server running: the plugin starts one (native backend) on its own,
builds the `test` template once between the two workers, and hands each test its databases.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devdb.database import connect
from devdb.settings import Settings
from tests.conftest import make_project

SAMPLE_TESTS = """
import os

import psycopg
import pytest

ORGS = 'SELECT count(*) FROM "user".organizations WHERE slug = %s'
ADD_ORG = "INSERT INTO \\"user\\".organizations (name, slug, plan) VALUES ('S', %s, 'free')"


@pytest.mark.parametrize("n", range(6))
def test_db_conn_commits_are_rolled_back_after_the_test(db_conn, n):
    assert db_conn.execute(ORGS, ("plugin-sample",)).fetchone() == (0,)
    db_conn.execute(ADD_ORG, ("plugin-sample",))
    db_conn.commit()  # what code under test does
    assert db_conn.execute(ORGS, ("plugin-sample",)).fetchone() == (1,)


def test_db_conn_rollback_goes_back_to_the_last_commit(db_conn):
    db_conn.execute(ADD_ORG, ("kept-by-commit",))
    db_conn.commit()
    db_conn.execute(ADD_ORG, ("undone-by-rollback",))
    db_conn.rollback()
    assert db_conn.execute(ORGS, ("kept-by-commit",)).fetchone() == (1,)
    assert db_conn.execute(ORGS, ("undone-by-rollback",)).fetchone() == (0,)


def test_db_conn_has_the_seeded_test_profile(db_conn):
    assert db_conn.execute('SELECT count(*) FROM "user".users').fetchone()[0] > 0


@pytest.mark.parametrize("n", range(6))
def test_fresh_db_allows_ddl_and_real_commits(fresh_db, fresh_database, n):
    assert fresh_db.execute("SELECT to_regclass('public.t')").fetchone() == (None,)
    fresh_db.execute("CREATE TABLE public.t (x int)")
    fresh_db.execute("INSERT INTO public.t VALUES (1)")
    fresh_db.commit()
    with psycopg.connect(fresh_database.url(show_password=True)) as other:
        assert other.execute("SELECT count(*) FROM public.t").fetchone() == (1,)


def test_fresh_database_alone_has_no_session_open_on_it(fresh_database):
    # the pool opens a connection ahead of time for fresh_db; without fresh_db it is closed
    with psycopg.connect(fresh_database.url(show_password=True)) as conn:
        others = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert others == (0,)


def test_each_worker_has_its_own_databases(db_conn, fresh_database):
    worker = os.environ["PYTEST_XDIST_WORKER"]
    assert f"_{worker}_" in db_conn.info.dbname
    assert f"_{worker}_" in fresh_database.dbname


def test_failing_on_purpose(fresh_db):
    if not os.environ.get("SAMPLE_FAIL"):
        pytest.skip("only in the --devdb-keep-failed run")
    fresh_db.execute("CREATE TABLE public.evidence (x int)")
    fresh_db.commit()
    assert False, "fails on purpose"
"""

LAZY_TEST = """
import sys


def test_plugin_loads_nothing_heavy_without_its_fixtures(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("devdb")
    for module in ("psycopg", "devdb.copies.reset", "devdb.server", "devdb.settings"):
        assert module not in sys.modules, module
"""


KILLED_TEST = """
import os
import signal


def test_killed(db_conn, fresh_db):
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[tuple[Settings, dict[str, str]]]:
    settings = make_project(tmp_path / "sample", with_demo=True)
    tests = settings.root / "tests"
    tests.mkdir()
    (tests / "test_sample.py").write_text(SAMPLE_TESTS)
    (tests / "test_lazy.py").write_text(LAZY_TEST)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DEVDB_", "PYTEST_")) and k != "DATABASE_URL"
    }
    env["DEVDB_BACKEND"] = "native"
    yield settings, env
    from devdb.backends.native import NativeBackend

    NativeBackend(settings).remove()


def _pytest(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def _test_databases(settings: Settings) -> list[str]:
    from devdb.copies.reset import project_conninfo

    with connect(project_conninfo(settings).for_database("postgres")) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, 'devdb_test_')"
        ).fetchall()
    return sorted(str(r[0]) for r in rows)


def test_plugin_fixtures_in_parallel_with_xdist(sample: tuple[Settings, dict[str, str]]) -> None:
    settings, env = sample
    from devdb.backends.native import NativeBackend

    assert not NativeBackend(settings).status().running
    lazy = _pytest(settings.root, env, "-p", "no:xdist", "tests/test_lazy.py")
    assert lazy.returncode == 0, lazy.stdout + lazy.stderr
    assert not NativeBackend(settings).status().running  # unused fixtures start nothing

    run = _pytest(settings.root, env, "-n", "2", "tests/test_sample.py")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "16 passed, 1 skipped" in run.stdout
    assert NativeBackend(settings).status().running  # the plugin started the server itself
    assert _test_databases(settings) == []  # every test database was dropped

    env_fail = env | {"SAMPLE_FAIL": "1"}
    failed = _pytest(
        settings.root, env_fail, "-n", "2", "--devdb-keep-failed", "-k", "failing_on_purpose"
    )
    assert failed.returncode == 1
    match = re.search(r"kept database (devdb_test_\w+)", failed.stdout)
    assert match, failed.stdout[-3000:]
    kept = match.group(1)
    assert f"invoke db.url --database {kept}" in failed.stdout
    assert _test_databases(settings) == [kept]
    from devdb.copies.reset import project_conninfo

    with connect(project_conninfo(settings).for_database(kept)) as conn:
        assert conn.execute("SELECT to_regclass('public.evidence')").fetchone() == ("evidence",)
    # ... until `invoke db.drop-kept` lets them go.
    dropped = subprocess.run(
        [sys.executable, "-m", "invoke", "db.drop-kept", "--yes"],
        cwd=settings.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert dropped.returncode == 0, dropped.stderr
    assert kept in dropped.stderr
    assert _test_databases(settings) == []

    # A run killed mid-test leaves its databases; the next run drops them (the dead run's lease
    # on the server is free), and nothing of a live run.
    (settings.root / "tests" / "test_killed.py").write_text(KILLED_TEST)
    killed = _pytest(settings.root, env, "-p", "no:xdist", "tests/test_killed.py")
    assert killed.returncode == -9, killed.stdout[-3000:]
    assert _test_databases(settings) != []
    again = _pytest(settings.root, env, "-p", "no:xdist", "tests/test_sample.py", "-k", "seeded")
    assert again.returncode == 0, again.stdout[-3000:]
    assert _test_databases(settings) == []


def test_plugin_says_what_failed_without_a_traceback(tmp_path: Path) -> None:
    import socket

    settings = make_project(tmp_path / "sample", with_demo=True)
    (settings.root / "test_one.py").write_text("def test_one(fresh_db):\n    pass\n")
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEVDB_", "PYTEST_"))}
    env |= {
        "DEVDB_BACKEND": "external",
        "DATABASE_URL": f"postgresql://devdb:secretpw@127.0.0.1:{port}/shop",
        "DEVDB_READY_TIMEOUT": "1",
    }
    run = _pytest(settings.root, env, "-p", "no:xdist", "test_one.py")
    assert run.returncode == 1
    assert "devdb: Error:" in run.stdout, run.stdout[-3000:]
    assert "Traceback" not in run.stdout
    assert "secretpw" not in run.stdout
