"""db.psql with the real psql binaries: arguments through, exit codes back, password hidden."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devdb import psql
from devdb.conninfo import ConnInfo
from devdb.settings import Settings
from tests.conftest import make_project

SYSTEM_PSQL = Path("/usr/bin/psql")


def test_arguments_pass_through_and_output_is_psqls(
    project_on_server: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    code = psql.psql(project_on_server, args=["-XAt", "-c", "select 40 + 2, current_database()"])
    assert code == 0
    out = capfd.readouterr().out
    assert out.strip() == f"42|{project_on_server.database}"


def test_exit_code_is_psqls(project_on_server: Settings, tmp_path: Path) -> None:
    assert psql.psql(project_on_server, args=["-X", "-q", "-c", "select * from nope"]) == 1
    script = tmp_path / "fails.sql"
    script.write_text("select 1;\nselect * from nope;\n")
    code = psql.psql(
        project_on_server, args=["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script)]
    )
    assert code == 3  # psql: an error in a script with ON_ERROR_STOP


def test_other_database(project_on_server: Settings, capfd: pytest.CaptureFixture[str]) -> None:
    code = psql.psql(
        project_on_server, database="postgres", args=["-XAt", "-c", "select current_database()"]
    )
    assert code == 0
    assert capfd.readouterr().out.strip() == "postgres"


def test_password_goes_through_the_environment_only(project_on_server: Settings) -> None:
    command = psql.command_for(project_on_server, args=["-c", "select 1"])
    password = project_on_server.database_url.split(":")[2].split("@")[0]  # type: ignore[union-attr]
    assert password
    assert all(password not in arg for arg in command.argv)
    assert command.env["PGPASSWORD"]
    assert command.argv[-2:] == ["-c", "select 1"]


def test_native_backend_uses_its_own_psql(
    tmp_path: Path, native_server: tuple[Settings, ConnInfo], capfd: pytest.CaptureFixture[str]
) -> None:
    settings, _ = native_server
    command = psql.command_for(settings, args=["-XAt", "-c", "show server_version"])
    assert command.where == "native"
    assert Path(command.argv[0]).name == "psql" and Path(command.argv[0]) != SYSTEM_PSQL
    assert psql.run(command) == 0
    assert capfd.readouterr().out.strip().split(".")[0] == "18"


def test_without_local_psql_docker_exec_is_used(
    project_on_server: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no psql on PATH (cannot uninstall it for real)
    conninfo = ConnInfo("127.0.0.1", 5432, "devdb", "s3cret-pw", "app")
    command = psql.build_command(
        project_on_server,
        conninfo,
        ["-c", "select 1"],
        backend_name="docker",
        container="devdb-app-1",
        interactive=False,
    )
    assert command.argv[:3] == ["docker", "exec", "-i"]
    assert "-ePGPASSWORD" in command.argv and "s3cret-pw" not in " ".join(command.argv)
    assert command.argv[command.argv.index("devdb-app-1") + 1 :] == [
        "psql",
        "-U",
        "devdb",
        "-d",
        "app",
        "-c",
        "select 1",
    ]
    with pytest.raises(psql.BinariesNotFound, match="psql is not installed"):
        psql.build_command(project_on_server, conninfo, backend_name="external")


@pytest.mark.skipif(not SYSTEM_PSQL.is_file(), reason="no system psql")
def test_task_passes_args_after_double_dash_and_returns_psqls_code(
    project_on_server: Settings,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env.update(
        DEVDB_BACKEND="external",
        DATABASE_URL=project_on_server.database_url or "",
        DEVDB_DATABASE=project_on_server.database,
    )

    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "invoke", "db.psql", *args],
            cwd=project_on_server.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    ok = invoke("--", "-XAt", "-c", "select 'two words', 1 + 1")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "two words|2"
    bad = invoke("--", "-X", "-v", "ON_ERROR_STOP=1", "-c", "select nope")
    assert bad.returncode == 1
    assert 'column "nope" does not exist' in bad.stderr
    via_args = invoke("--database", "postgres", "-a", "-XAt -c 'select current_database()'")
    assert via_args.returncode == 0 and via_args.stdout.strip() == "postgres"


def test_no_server_is_an_error(tmp_path: Path) -> None:
    settings = make_project(
        tmp_path / "p", backend="external", database_url="postgresql://u:pw@127.0.0.1:9/db"
    )
    with pytest.raises(psql.ConnectionFailed):
        psql.command_for(settings)
