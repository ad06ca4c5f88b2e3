"""db.psql and db.inspect on the docker backend: psql inside the container when none is local.

Skipped without an engine or the image; under DEVDB_REQUIRE_DOCKER=1 (CI) that is a failure.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, make_project

from devdb import psql, server
from devdb.backends.docker import DockerBackend
from devdb.inspect import inspect_database
from devdb.settings import Settings

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_ready")]


@pytest.fixture
def project(tmp_path: Path, docker_ready: str) -> Iterator[Settings]:
    settings = make_project(
        tmp_path / "proj",
        backend="docker",
        postgres_image=docker_ready,
        compose_file=REPO / "compose" / "compose.yaml",
        ready_timeout=90,
    )
    server.up(settings)
    yield settings
    DockerBackend(settings).remove()


def test_psql_runs_inside_the_container_without_a_local_psql(
    project: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    docker = Path(shutil.which("docker") or "docker")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "docker").symlink_to(docker)
    monkeypatch.setenv("PATH", str(bindir))  # docker, but no psql on PATH

    command = psql.command_for(project, args=["-XAt", "-c", "select current_database(), 6 * 7"])
    assert command.where == "container"
    assert command.argv[:2] == ["docker", "exec"]
    assert all(project.password is None or project.password not in a for a in command.argv)
    assert psql.run(command) == 0
    assert capfd.readouterr().out.strip() == f"{project.database}|42"
    assert psql.psql(project, args=["-X", "-q", "-c", "select * from nope"]) == 1


def test_inspect_on_the_docker_server(project: Settings) -> None:
    conninfo = DockerBackend(project).conninfo()
    doc = inspect_database(conninfo)
    section = doc["slow_statements"]
    assert section["rows"] or "not available" in section["note"]
    assert {r["what"] for r in doc["cache_hit"]["rows"]} == {"tables", "indexes"}
