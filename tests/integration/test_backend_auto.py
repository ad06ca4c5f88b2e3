"""``auto`` with a real Docker engine: docker only when the engine answers and has (or can pull)
the image, else native with a one-line reason; the engine is found through the current Docker
context, as the docker CLI finds it."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from conftest import make_project

from devdb import server
from devdb.backends import resolve_backend_name
from devdb.backends.docker import DockerBackend
from devdb.backends.dockerengine import docker_host
from devdb.backends.native import NativeBackend

pytestmark = pytest.mark.docker
UNPULLABLE = "devdb-test/no-such-image:1"  # no registry has it (and none is reachable here)


def _context(config: Path, name: str, endpoint: str) -> None:
    """A Docker CLI context as `docker context create` writes it, made current."""
    meta = config / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    doc = {"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": endpoint}}}
    (meta / "meta.json").write_text(json.dumps(doc))
    (config / "config.json").write_text(json.dumps({"currentContext": name}))


@pytest.fixture
def engine_socket(docker_ready: str) -> str:
    host = docker_host()
    if not host.startswith("unix://"):
        pytest.fail(f"this test needs a Unix-socket Docker engine, not {host}")
    return host.removeprefix("unix://")


def test_an_image_that_cannot_be_pulled_falls_back_to_native(
    tmp_path: Path, docker_ready: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_project(tmp_path / "p", backend="auto", postgres_image=UNPULLABLE)
    try:
        result = server.up(settings)
        assert result.backend == "native"
        err = capsys.readouterr().err
        line = next(x for x in err.splitlines() if x.startswith("backend: "))
        assert line.startswith(f"backend: native (the image {UNPULLABLE} could not be pulled")
        assert resolve_backend_name(settings, announce=False) == "native"  # remembered
    finally:
        NativeBackend(settings).remove()


def test_a_present_image_picks_docker(tmp_path: Path, docker_ready: str) -> None:
    settings = make_project(tmp_path / "p", backend="auto", postgres_image=docker_ready)
    assert resolve_backend_name(settings, announce=False) == "docker"
    missing = make_project(tmp_path / "q", backend="auto", postgres_image=UNPULLABLE)
    assert resolve_backend_name(missing, announce=False) == "native"  # no pull outside db.up


def test_the_current_docker_context_endpoint_is_followed(
    tmp_path: Path, engine_socket: str, docker_ready: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "run" / "engine.sock"  # a non-default path to the same engine
    elsewhere.parent.mkdir()
    elsewhere.symlink_to(engine_socket)
    config = tmp_path / "docker-config"
    config.mkdir()
    _context(config, "devdb-test", f"unix://{elsewhere}")
    for name in ("DOCKER_HOST", "DOCKER_CONTEXT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    assert docker_host() == f"unix://{elsewhere}"
    settings = make_project(tmp_path / "p", backend="auto", postgres_image=docker_ready)
    assert resolve_backend_name(settings, announce=False) == "docker"
    status = DockerBackend(settings).status()  # the SDK reaches the engine through it
    assert "error" not in status.detail


def test_a_context_whose_engine_is_gone_means_native_with_the_reason(
    tmp_path: Path,
    docker_ready: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "docker-config"
    config.mkdir()
    dead = tmp_path / "colima" / "docker.sock"
    _context(config, "colima", f"unix://{dead}")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    settings = make_project(tmp_path / "p", backend="auto", postgres_image=docker_ready)
    assert resolve_backend_name(settings, announce=True) == "native"
    err = capsys.readouterr().err
    assert f"backend: native (no Docker engine answers at unix://{dead}" in err
    # DOCKER_CONTEXT names a context too, and DOCKER_HOST wins over both, as in the docker CLI
    monkeypatch.setenv("DOCKER_HOST", f"unix://{os.devnull}")
    assert docker_host() == f"unix://{os.devnull}"
