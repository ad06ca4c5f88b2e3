"""Docker backend error paths and pure logic, without needing an engine.

A dead engine is real here: DOCKER_HOST points at a socket nobody listens on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import make_project

from devdb.backends import get_backend
from devdb.backends.docker import DockerBackend, compose_command, engine_available, mount_for_tag
from devdb.backends.dockerengine import (
    image_major,
    io_setting,
    major_from_env,
    major_from_tag,
    pgdata_mount,
)
from devdb.errors import BackendError, ConfigError, EngineUnavailable, ServerStartError
from devdb.settings import Settings


@pytest.mark.parametrize(
    ("image", "mount"),
    [
        ("postgres:18", "/var/lib/postgresql"),
        ("postgres:18.1-alpine", "/var/lib/postgresql"),
        ("postgres", "/var/lib/postgresql"),
        ("postgres:latest", "/var/lib/postgresql"),
        ("postgres:19beta1", "/var/lib/postgresql"),
        ("postgres:17", "/var/lib/postgresql/data"),
        ("postgres:16.4-bookworm", "/var/lib/postgresql/data"),
        ("stand-in/postgres:15", "/var/lib/postgresql/data"),
        ("registry.local:5000/team/postgres:15", "/var/lib/postgresql/data"),
        ("registry.local:5000/team/postgres", "/var/lib/postgresql"),
        ("postgres:13@sha256:" + "a" * 64, "/var/lib/postgresql/data"),
    ],
)
def test_volume_mount_follows_the_image_major_version(image: str, mount: str) -> None:
    assert mount_for_tag(image) == mount


@pytest.mark.parametrize(
    ("image", "major"),
    [
        ("postgres:18", 18),
        ("postgres:18.1-alpine", 18),
        ("postgres:19beta1", 19),
        ("postgres:17", 17),
        ("registry.local:5000/team/postgres:15", 15),
        ("postgres:13@sha256:" + "a" * 64, 13),
        ("postgres", None),
        ("postgres:latest", None),
        ("mycorp/pg:2024.01", None),  # not a major: unknown, so nothing is set
    ],
)
def test_major_from_the_tag(image: str, major: int | None) -> None:
    assert major_from_tag(image) == major


@pytest.mark.parametrize(
    ("image", "major"),
    [
        ("postgres:18", 18),
        ("docker.io/library/postgres:18-alpine", 18),
        ("registry.local:5000/mirror/postgres:17", 17),  # a mirror keeps the official tags
        ("team/pg:20-pg16", None),  # another image's numbers may mean anything
        ("team/postgres-custom:18", None),
    ],
)
def test_only_a_postgres_image_tag_is_trusted_when_the_image_is_not_here(
    image: str, major: int | None
) -> None:
    assert image_major(None, image) == major


def test_the_image_environment_wins_over_its_tag() -> None:
    config = {"Env": ["PG_MAJOR=16"], "Volumes": {"/var/lib/postgresql/data": {}}}
    assert image_major(config, "team/pg:20-pg16") == 16
    assert image_major(config, "postgres:18") == 16
    assert image_major({"Env": ["PATH=/usr/bin"]}, "postgres:18") == 18
    assert pgdata_mount(config, "postgres:18") == "/var/lib/postgresql/data"
    assert pgdata_mount(None, "postgres:18") == "/var/lib/postgresql"


def test_major_from_the_image_environment() -> None:
    official = ["PATH=/usr/local/sbin:/usr/lib/postgresql/18/bin", "PG_MAJOR=18", "PG_VERSION=18.1"]
    assert major_from_env(official) == 18
    assert major_from_env(["PATH=/usr/lib/postgresql/15/bin:/usr/bin", "LANG=C.UTF-8"]) == 15
    assert major_from_env(["PATH=/usr/local/bin:/usr/bin"]) is None


def test_io_setting_only_where_io_method_exists() -> None:
    assert io_setting(18) == "io_method=sync"
    assert io_setting(19) == "io_method=sync"
    # before 18 (or unknown), io_method would stop the server: a placeholder instead
    assert io_setting(17) == io_setting(None) == "devdb.io_method=unchanged"


@pytest.fixture
def dead_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    host = f"unix://{tmp_path / 'no-docker.sock'}"
    monkeypatch.setenv("DOCKER_HOST", host)
    return host


def test_docker_asked_for_without_an_engine(tmp_path: Path, dead_engine: str) -> None:
    settings = make_project(tmp_path / "proj", backend="docker")
    backend = get_backend(settings)
    with pytest.raises(EngineUnavailable) as err:
        backend.start()
    assert dead_engine in err.value.message
    assert "DEVDB_BACKEND=native" in err.value.hint
    assert not engine_available()
    # status never raises: it says the server is not running and why
    st = backend.status()
    assert not st.running
    assert "no Docker engine answers" in st.detail["error"]


def test_auto_picks_native_without_an_engine(
    tmp_path: Path, dead_engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_project(tmp_path / "proj", backend="auto")
    assert get_backend(settings).name == "native"
    assert "no Docker engine answers" in capsys.readouterr().err


def test_db_up_task_prints_one_error_and_a_hint(tmp_path: Path, dead_engine: str) -> None:
    root = tmp_path / "proj"
    make_project(root)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env.update(DEVDB_BACKEND="docker", DOCKER_HOST=dead_engine)
    out = subprocess.run(
        [sys.executable, "-m", "invoke", "db.up"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert lines[0].startswith("Error: no Docker engine answers")
    assert lines[1].startswith("Hint: ")
    assert "Traceback" not in out.stderr


def test_missing_compose_file_is_a_config_error(tmp_path: Path) -> None:
    backend = DockerBackend(make_project(tmp_path / "proj", backend="docker"))
    with pytest.raises(ConfigError, match="compose file"):
        backend._check_compose_file()


def test_no_compose_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    compose_command.cache_clear()
    try:
        with pytest.raises(BackendError, match="docker-compose"):
            compose_command()
    finally:
        compose_command.cache_clear()


def test_an_old_compose_file_on_an_18_image_is_told_what_it_misses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A compose.yaml scaffolded before DEVDB_IO_SETTING still starts; devdb says what to add."""
    old = tmp_path / "compose.yaml"
    text = (Path(__file__).parents[2] / "compose" / "compose.yaml").read_text()
    lines = [line for line in text.splitlines() if "DEVDB_IO_SETTING" not in line]
    old.write_text("\n".join(lines) + "\n")
    settings = replace(make_project(tmp_path / "proj"), compose_file=old)
    for major, told in ((18, True), (15, False)):
        backend = DockerBackend(settings)
        backend._image = {"Env": [f"PG_MAJOR={major}"]}  # as the engine gives it
        backend._check_io_setting()
        assert ("does not pass DEVDB_IO_SETTING" in capsys.readouterr().err) is told
    backend = DockerBackend(replace(settings, compose_file=old.with_name("x.yaml")))
    backend.settings.compose_file.write_text(text)
    backend._image = {"Env": ["PG_MAJOR=18"]}
    backend._check_io_setting()
    assert "DEVDB_IO_SETTING" not in capsys.readouterr().err


class _Images:
    """The engine's image store, as the SDK shows it: ``image`` arrives on its first pull."""

    def __init__(self, image: str, config: dict[str, object], *, pullable: bool) -> None:
        self.image, self.config, self.pullable = image, config, pullable
        self.here, self.pulls = False, 0

    def get(self, name: str) -> object:
        from docker.errors import ImageNotFound

        if name != self.image or not self.here:
            raise ImageNotFound(f"No such image: {name}")
        return type("Image", (), {"attrs": {"Config": self.config}})()

    def pull(self, name: str) -> None:
        from docker.errors import APIError

        self.pulls += 1
        if not self.pullable:
            raise APIError("pull access denied", explanation="pull access denied for " + name)
        self.here = True


class _Client:
    def __init__(self, images: _Images) -> None:
        self.images = images
        self.api = type("API", (), {"timeout": 60})()


def _with_engine(settings: Settings, images: _Images) -> DockerBackend:
    backend = DockerBackend(settings)
    backend._client = _Client(images)  # type: ignore[assignment]
    return backend


def test_a_missing_image_is_pulled_before_the_container_settings_are_worked_out(
    tmp_path: Path,
) -> None:
    """The settings come from the pulled image (its PG_MAJOR, its data volume), so the next
    db.up, with the image already here, computes the same container and does not recreate it."""
    image = "team/pg:latest"  # a tag that says nothing: only the image can tell
    config = {"Env": ["PG_MAJOR=18"], "Volumes": {"/var/lib/postgresql/data": {}}}
    compose = Path(__file__).parents[2] / "compose" / "compose.yaml"
    settings = replace(make_project(tmp_path / "proj"), postgres_image=image, compose_file=compose)
    images = _Images(image, config, pullable=True)
    first = _with_engine(settings, images)
    first._ensure_image(required=True)
    assert images.pulls == 1
    assert first.compose_vars(5432)["DEVDB_IO_SETTING"] == "io_method=sync"
    assert first.compose_vars(5432)["DEVDB_PGDATA_MOUNT"] == "/var/lib/postgresql/data"
    second = _with_engine(settings, images)
    second._ensure_image(required=True)
    assert images.pulls == 1  # here now
    assert second._fingerprint(5432) == first._fingerprint(5432)
    assert first._client.api.timeout == 60  # type: ignore[union-attr]  # the pull's is undone


def test_an_image_that_cannot_be_pulled_is_one_error_unless_a_container_exists(
    tmp_path: Path,
) -> None:
    settings = replace(make_project(tmp_path / "proj"), postgres_image="team/pg:latest")
    backend = _with_engine(settings, _Images("team/pg:latest", {}, pullable=False))
    with pytest.raises(ServerStartError) as err:
        backend._ensure_image(required=True)
    assert err.value.message == (
        "could not start the postgres container: the image team/pg:latest could not be pulled "
        "(pull access denied for team/pg:latest)"
    )
    backend._ensure_image(required=False)  # a stopped container may still start: compose tells
