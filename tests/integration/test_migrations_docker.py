"""Migrations on the docker backend: pg_dump runs inside the container when no local pg_dump
matches the server (skipped without Docker; a failure under DEVDB_REQUIRE_DOCKER=1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, make_project

from devdb import server
from devdb.backends.docker import DockerBackend
from devdb.migrations import migrate, schema
from devdb.settings import Settings

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_ready")]


@pytest.fixture
def project(tmp_path: Path, docker_ready: str) -> Iterator[Settings]:
    settings = make_project(
        tmp_path / "proj",
        with_demo=True,
        backend="docker",
        postgres_image=docker_ready,
        compose_file=REPO / "compose" / "compose.yaml",
        ready_timeout=90,
    )
    yield settings
    DockerBackend(settings).remove()


def test_schema_dump_inside_the_container_equals_a_local_one(
    project: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    conninfo = server.up(project).conninfo
    assert len(migrate(project, conninfo)) >= 8
    major = schema.server_major(conninfo)
    local = schema.dump(project, conninfo, schema.find_pg_dump(project, major))
    # a machine without a pg_dump of the server's version: the container's is used
    monkeypatch.setattr(schema, "_candidates", lambda settings: [])
    tool = schema.find_pg_dump(project, major)
    assert tool.in_container and tool.command[:2] == ("docker", "exec")
    assert schema.dump(project, conninfo, tool) == local
    assert 'CREATE TABLE "user".users' in local
