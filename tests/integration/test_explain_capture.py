"""Capture on the demo project: the demo app's own test suite runs under ``pytest
--devdb-capture``; its statements show up in the report with their plans, and the gate fails
once a migration drops the index one of them needs.

A native server of its own (PostgreSQL 18), as a developer's project would have; the docker
backend (PostgreSQL 15) is covered by test_explain_capture_docker.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devdb.conninfo import ConnInfo
from devdb.database import connect
from devdb.errors import ExplainError
from devdb.explain import api, capture
from devdb.settings import Settings
from tests.conftest import REPO, make_project

pytestmark = pytest.mark.slow
DROP_INDEX = """-- A refactoring that loses the index the activity feed needs.
-- +migrate Up
DROP INDEX audit.events_actor_id_idx;
-- +migrate Down
CREATE INDEX events_actor_id_idx ON audit.events (actor_id);
"""
FEED = "FROM audit.events WHERE actor_id = $1 ORDER BY occurred_at DESC LIMIT $2"


@pytest.fixture
def demo_project(tmp_path: Path) -> Iterator[Settings]:
    """The demo project with the demo app's tests in app/, on a native server of its own."""
    from devdb.backends.native import NativeBackend

    settings = make_project(tmp_path / "proj", with_demo=True)
    shutil.copytree(REPO / "examples" / "app", settings.root / "app")
    yield settings
    NativeBackend(settings).remove()


def run_app_tests(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEVDB_", "PYTEST_"))}
    env.update(DEVDB_BACKEND="native", NO_COLOR="1")
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "app", "-q", "-p", "no:cacheprovider",
         "--devdb-profile", "dev", *args],
        cwd=settings.root, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def feed_statement(settings: Settings) -> dict[str, object]:
    doc = json.loads((settings.reports_dir / "capture-latest.json").read_text())
    return next(s for s in doc["statements"] if FEED in s["text"])


def test_app_statements_show_up_with_plans_and_the_gate_catches_a_dropped_index(
    demo_project: Settings,
) -> None:
    settings = demo_project
    first = run_app_tests(settings, "--devdb-capture", "-n", "2")  # xdist: captured for all
    assert first.returncode == 0, first.stdout + first.stderr
    assert "devdb capture" in first.stdout and "capture-report-" in first.stdout

    feed = feed_statement(settings)
    assert feed["calls"] == 5 and feed["executions_logged"] == 5
    plan_text = json.dumps(feed["plan"])
    assert "events_actor_id_idx" in plan_text and '"Actual Loops"' in plan_text
    report = json.loads(sorted(settings.reports_dir.glob("capture-report-*.json"))[-1].read_text())
    totals = [q["stats"]["total_ms"] for q in report["queries"]]
    assert totals == sorted(totals, reverse=True) and len(totals) >= 5  # slowest first
    assert all(q["nodes"] for q in report["queries"])

    count, _ = api.record_captured_baseline(settings)
    assert count == len(totals)
    assert api.check_captured(settings).check.ok  # type: ignore[union-attr]

    (settings.migrations_dir / "20991231000000_drop_events_actor_id_idx.sql").write_text(DROP_INDEX)
    second = run_app_tests(settings, "--devdb-capture")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "events_actor_id_idx" not in json.dumps(feed_statement(settings)["plan"])

    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    gate = subprocess.run(
        [sys.executable, "-m", "invoke", "db.explain.check", "--captured"],
        cwd=settings.root, env={**env, "DEVDB_BACKEND": "native", "NO_COLOR": "1"},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert gate.stdout.split()[:3] == ["statement", "total", "ms"]  # totals, slowest first
    assert "plan shape changed" in gate.stdout
    assert "-      Outer: Bitmap Index Scan using events_actor_id_idx" in gate.stdout or (
        "events_actor_id_idx" in gate.stdout
    )
    assert gate.stderr.strip().splitlines()[-2].startswith("Error: plan regressions")


def test_without_the_option_nothing_is_captured(demo_project: Settings) -> None:
    result = run_app_tests(demo_project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "devdb capture" not in result.stdout
    assert not (demo_project.reports_dir / "capture-latest.json").exists()


def auto_conf(conninfo: ConnInfo) -> dict[str, str]:
    """What postgresql.auto.conf sets among the names capture changes."""
    with connect(conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name, setting FROM pg_file_settings WHERE sourcefile LIKE '%%auto.conf'"
        ).fetchall()
    ours = ("auto_explain.", "session_preload_libraries", "compute_query_id")
    return {str(n): str(v) for n, v in rows if str(n).startswith(ours)}


def test_a_killed_capture_is_undone_and_own_settings_survive(
    native_server: tuple[Settings, ConnInfo],
) -> None:
    settings, conninfo = native_server
    with connect(conninfo, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET auto_explain.log_min_duration = '250'")
    try:
        capture.start(settings, conninfo, capture.Scope("database", conninfo.dbname))
        # ... and the process dies here, without capture.stop().
        assert auto_conf(conninfo)["auto_explain.log_min_duration"] == "0"
        with connect(conninfo, autocommit=True) as app:
            row = app.execute("SHOW session_preload_libraries").fetchone()
            assert row is not None and "auto_explain" in row[0]
        assert api.undo_capture(settings) is True
        assert auto_conf(conninfo) == {"auto_explain.log_min_duration": "250"}
        assert api.undo_capture(settings) is False
    finally:
        with connect(conninfo, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM RESET auto_explain.log_min_duration")
            conn.execute("SELECT pg_reload_conf()")


def test_capture_on_an_external_server_reads_its_log_file_over_sql(tmp_path: Path) -> None:
    """An external server (here a native one restarted with logging_collector = on, reached as
    DEVDB_BACKEND=external): the plans come from pg_current_logfile() through pg_read_file."""
    from devdb import server
    from devdb.backends.native import NativeBackend

    owner = make_project(tmp_path / "owner")
    conninfo = server.up(owner).conninfo
    try:
        with connect(conninfo, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET logging_collector = on")
        server.down(owner)
        conninfo = server.up(owner).conninfo
        external = make_project(
            tmp_path / "ext", backend="external", database_url=conninfo.url(show_password=True)
        )
        window = capture.start(external, conninfo, capture.Scope("database", conninfo.dbname))
        with connect(conninfo, autocommit=True) as app:
            for n in (1, 2):
                app.execute("SELECT count(*) FROM generate_series(1, %s::int * 1000)", (n,))
        capture.stop(window)
    finally:
        NativeBackend(owner).remove()
    (stmt,) = window.statements
    assert stmt.calls == 2 and len(stmt.plans) == 2
    assert stmt.plans[0].document["Plan"]["Node Type"] == "Aggregate"


def test_an_external_server_without_a_log_file_is_refused_with_nothing_changed(
    native_server: tuple[Settings, ConnInfo], tmp_path: Path
) -> None:
    _, conninfo = native_server  # logging_collector is off: its log goes to stderr only
    external = make_project(
        tmp_path / "ext", backend="external", database_url=conninfo.url(show_password=True)
    )
    before = auto_conf(conninfo)
    with pytest.raises(ExplainError, match="no log file that devdb can read") as exc:
        capture.start(external, conninfo, capture.Scope("database", conninfo.dbname))
    assert "logging_collector = on" in exc.value.hint
    assert auto_conf(conninfo) == before
    assert not (external.state_dir / capture.STATE_FILE).exists()


def test_capture_task_records_a_window_and_reports_it(demo_project: Settings) -> None:
    """``invoke db.explain.capture --seconds N`` as a developer runs it while using the app."""
    import time

    from devdb import server

    conninfo = server.up(demo_project).conninfo
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env.update(DEVDB_BACKEND="native", NO_COLOR="1")
    task = subprocess.Popen(
        [sys.executable, "-m", "invoke", "db.explain.capture", "--seconds", "6"],
        cwd=demo_project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while auto_conf(conninfo).get("auto_explain.log_format") != "json":
        assert task.poll() is None and time.monotonic() < deadline, task.communicate()
        time.sleep(0.1)
    time.sleep(0.5)  # the server applies the reload
    with connect(conninfo, autocommit=True) as app:  # the "app", connected after the start
        for n in (3, 4, 5):
            app.execute("SELECT count(*) FROM generate_series(1, %s::int)", (n,))
    out, err = task.communicate(timeout=120)
    assert task.returncode == 0, out + err
    assert "capturing for 6 s" in err and "report: " in err
    assert out.split()[:3] == ["statement", "total", "ms"]
    doc = json.loads((demo_project.reports_dir / "capture-latest.json").read_text())
    (stmt,) = [s for s in doc["statements"] if "generate_series" in s["text"]]
    assert stmt["calls"] == 3 and stmt["executions_logged"] == 3
    assert auto_conf(conninfo) == {}  # settings put back
    stop = subprocess.run(
        [sys.executable, "-m", "invoke", "db.explain.capture", "--stop"],
        cwd=demo_project.root, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert stop.returncode == 0 and "no capture was left running" in stop.stderr
