"""devdb under invoke's conventions (--dry, -r, invoke.yaml, -h) and the ``devdb`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import run_invoke

from devdb.conninfo import parse_url
from devdb.database import connect
from devdb.settings import Settings

TASKS = "from devdb.tasks import ns\nnamespace = ns\n"


def _run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DEVDB_", "PG"))}
    return subprocess.run(
        args,
        cwd=cwd,
        env=base | {"NO_COLOR": "1"} | env,
        capture_output=True,
        text=True,
        check=False,
    )


def _invoke(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return _run(cwd, sys.executable, "-m", "invoke", *args, **env)


def _devdb(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return _run(cwd, sys.executable, "-m", "devdb.cli", *args, **env)


def _tables(settings: Settings) -> list[str]:
    assert settings.database_url
    with connect(parse_url(settings.database_url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT schemaname || '.' || tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
    return sorted(str(r[0]) for r in rows)


def test_dry_changes_nothing_and_says_what_would_run(project_on_server: Settings) -> None:
    for args in (("--dry", "db.migrate"), ("--dry", "db.setup"), ("--dry", "db.seed")):
        proc = run_invoke(project_on_server, *args)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("--dry: would run: "), proc.stdout
        assert "nothing was run" in proc.stderr
    assert _tables(project_on_server) == []
    assert run_invoke(project_on_server, "db.migrate").returncode == 0
    assert _tables(project_on_server) != []


def test_search_root_is_the_project_root(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(TASKS)
    sub = tmp_path / "docs"
    sub.mkdir()
    proc = _invoke(sub, "-r", "..", "db.status", "--json", DEVDB_BACKEND="native")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["project"] == tmp_path.name.lower().replace("_", "-")
    assert doc["data_dir"].startswith(str(tmp_path.resolve() / ".devdb"))
    assert not (sub / ".devdb").exists()


def test_invoke_yaml_devdb_section_is_a_settings_layer(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(TASKS)
    (tmp_path / "invoke.yaml").write_text("devdb:\n  backend: native\n  database: from_yaml\n")
    doc = json.loads(_invoke(tmp_path, "db.status", "--json").stdout)
    assert (doc["backend"], doc["database"]) == ("native", "from_yaml")
    doc = json.loads(_invoke(tmp_path, "db.status", "--json", DEVDB_DATABASE="from_env").stdout)
    assert doc["database"] == "from_env"
    # invoke's own variables fill the same section
    doc = json.loads(_invoke(tmp_path, "db.status", "--json", INVOKE_DEVDB_DATABASE="inv").stdout)
    assert doc["database"] == "inv"


def test_dash_h_is_help_not_a_flag(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(TASKS)
    proc = _invoke(tmp_path, "db.reset", "-h")
    assert proc.returncode == 0
    assert "Usage:" in proc.stdout and "--hard" in proc.stdout
    assert "-h, --hard" not in proc.stdout


def test_bad_settings_are_one_error_line_and_a_hint(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(TASKS)
    cases: list[tuple[dict[str, str], bytes]] = [
        ({}, b"DEVDB_PROFILE=caf\xe9\n"),
        ({"DEVDB_SCALE": "nan"}, b""),
        ({"DEVDB_LOCK_TIMEOUT": "five seconds"}, b""),
    ]
    for env, dotenv in cases:
        (tmp_path / ".env").write_bytes(dotenv)
        proc = _invoke(tmp_path, "db.status", DEVDB_BACKEND="native", **env)
        assert proc.returncode == 1
        lines = proc.stderr.splitlines()
        assert lines[0].startswith("Error: ") and lines[1].startswith("Hint: "), proc.stderr
        assert "Traceback" not in proc.stderr


def test_devdb_command_without_a_project_points_to_init(tmp_path: Path) -> None:
    proc = _devdb(tmp_path, "up")
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: no devdb project")
    assert "devdb init" in proc.stderr
    assert not any(tmp_path.iterdir())  # nothing was created
    assert _devdb(tmp_path, "init", "--bogus").returncode == 2  # a usage error


def test_devdb_command_runs_every_task_in_a_project_without_tasks_py(tmp_path: Path) -> None:
    listed = _devdb(tmp_path, "--list").stdout
    for name in ("up", "setup", "reset", "migrate.new", "snapshot.restore", "explain.check"):
        assert f"  {name} " in listed, listed
    assert _devdb(tmp_path, "init", "shop").returncode == 0
    project = tmp_path / "shop"
    (project / "tasks.py").unlink()  # a team that does not use invoke
    proc = _devdb(project, "migrate.new", "add_orders")
    assert proc.returncode == 0, proc.stderr
    assert len(list((project / "migrations").glob("*_add_orders.sql"))) == 1
    doc = json.loads(_devdb(project, "status", "--json", DEVDB_BACKEND="native").stdout)
    assert doc["project"] == "shop"
    assert _devdb(project, "--version").stdout.startswith("devdb ")


def test_devdb_command_hints_name_devdb_commands(tmp_path: Path) -> None:
    """Without a tasks.py, `invoke db.up` does not run: the devdb command's hints say `devdb up`
    (invoke's keep saying `invoke db.up`)."""
    (tmp_path / "migrations").mkdir()
    env = {"DEVDB_BACKEND": "external", "DATABASE_URL": "postgresql://u:pw@127.0.0.1:1/x"}
    proc = _devdb(tmp_path, "migrate.status", **env)
    assert proc.returncode == 1, proc.stderr
    assert "Try `devdb up`" in proc.stderr, proc.stderr
    assert "invoke db." not in proc.stderr, proc.stderr
    (tmp_path / "tasks.py").write_text(TASKS)
    proc = _invoke(tmp_path, "db.migrate.status", **env)
    assert "Try `invoke db.up`" in proc.stderr, proc.stderr


def test_bad_flag_values_are_one_error_line_before_anything_runs(tmp_path: Path) -> None:
    """A negative window or line count: one Error line and a hint, no traceback, nothing
    changed on any server (no server is even needed)."""
    (tmp_path / "migrations").mkdir()
    for args in (("explain.capture", "--seconds", "-1"), ("logs", "--lines", "-5")):
        proc = _devdb(tmp_path, *args, DEVDB_BACKEND="native")
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith(f"Error: {args[1]} must be"), proc.stderr
        assert "Hint: " in proc.stderr
