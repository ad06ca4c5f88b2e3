"""Shared fixtures: a real PostgreSQL server (native backend) per test session.

Integration tests talk to a real server. One native cluster is started per pytest session (per
xdist worker) in a temporary project, and each test that needs a clean slate gets its own database.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from devdb.conninfo import ConnInfo
from devdb.settings import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """As root, the native server runs as another user, who must traverse every folder above
    its cluster. pytest resets its shared temp root to 0700 whenever any session starts, which
    cuts running servers off (PostgreSQL opens some files by absolute path, and its checkpointer
    panics). So, as root and unless --basetemp is given, a run gets a temp folder of its own."""
    if os.geteuid() != 0 or config.option.basetemp or hasattr(config, "workerinput"):
        return
    base = tempfile.mkdtemp(prefix="devdb-pytest-")
    config.option.basetemp = base
    config.add_cleanup(lambda: shutil.rmtree(base, ignore_errors=True))


def make_project(root: Path, *, with_demo: bool = False, **overrides: object) -> Settings:
    """A throwaway project folder (with a tasks.py) and its settings, native backend."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "tasks.py").write_text("from devdb.tasks import ns\nnamespace = ns\n")
    if with_demo:
        for folder in ("migrations", "seeds", "queries"):
            if (REPO / folder).is_dir():
                shutil.copytree(REPO / folder, root / folder, dirs_exist_ok=True)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("DEVDB_") and k != "DATABASE_URL"
    }
    env["DEVDB_BACKEND"] = "native"
    return load_settings(root=root, environ=env, **overrides)


@pytest.fixture(scope="session")
def native_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, ConnInfo]]:
    """A running native server for the whole session; removed at the end."""
    from devdb import server
    from devdb.backends.native import NativeBackend

    settings = make_project(tmp_path_factory.mktemp("server") / "proj")
    result = server.up(settings)
    yield settings, result.conninfo
    NativeBackend(settings).remove()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under DEVDB_REQUIRE_DOCKER=1 (CI), a test marked ``docker`` that skips, however it
    skips, is reported as a failure."""
    report = yield
    if (
        report.skipped
        and item.get_closest_marker("docker") is not None
        and os.environ.get("DEVDB_REQUIRE_DOCKER") == "1"
    ):
        report.outcome = "failed"
        report.longrepr = f"a Docker test skipped under DEVDB_REQUIRE_DOCKER=1: {report.longrepr}"
    return report


def skip_or_fail(reason: str) -> None:
    """Skip a Docker test, except under DEVDB_REQUIRE_DOCKER=1 (CI), where it fails instead."""
    if os.environ.get("DEVDB_REQUIRE_DOCKER") == "1":
        pytest.fail(f"{reason} (DEVDB_REQUIRE_DOCKER=1: Docker tests must run, not skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_ready() -> str:
    """The image Docker tests use (DEVDB_POSTGRES_IMAGE, default stand-in/postgres:15), once a
    Docker engine, the compose CLI and that image are all here; else skip (or fail in CI)."""
    from devdb.backends.docker import compose_command, connect_engine
    from devdb.errors import DevdbError

    image = os.environ.get("DEVDB_POSTGRES_IMAGE") or "stand-in/postgres:15"
    try:
        client = connect_engine()
        compose_command()
    except DevdbError as exc:
        skip_or_fail(exc.message)
    try:
        client.images.get(image)
    except Exception:
        skip_or_fail(f"the Docker image {image} is not on this machine")
    finally:
        client.close()
    return image


@pytest.fixture(scope="session")
def server_conninfo(native_server: tuple[Settings, ConnInfo]) -> ConnInfo:
    """Owner connection info of the session's server (database: the project database)."""
    return native_server[1]


@pytest.fixture
def scratch_db(server_conninfo: ConnInfo) -> Iterator[ConnInfo]:
    """A brand-new empty database on the session's server, dropped after the test."""
    from devdb.database import ADMIN_DB, connect, create_database, drop_database

    name = f"t_{uuid.uuid4().hex[:12]}"
    with connect(server_conninfo.for_database(ADMIN_DB), autocommit=True) as conn:
        create_database(conn, name)
    yield server_conninfo.for_database(name)
    with connect(server_conninfo.for_database(ADMIN_DB), autocommit=True) as conn:
        drop_database(conn, name)


@pytest.fixture
def project_on_server(
    tmp_path: Path, native_server: tuple[Settings, ConnInfo], scratch_db: ConnInfo
) -> Settings:
    """Settings for a demo-project copy whose database is a fresh scratch database on the
    session's server (external backend over loopback, so devdb treats it as its own)."""
    return make_project(
        tmp_path / "proj",
        with_demo=True,
        backend="external",
        database_url=scratch_db.url(show_password=True),
        database=scratch_db.dbname,
    )


def run_invoke(
    settings: Settings, *args: str, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``invoke ARGS`` in the project of ``settings`` (an external-backend scratch
    database, as from ``project_on_server``), as a user would, and capture what it prints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env.update(
        DEVDB_BACKEND="external",
        DATABASE_URL=settings.database_url or "",
        DEVDB_DATABASE=settings.database,
        DEVDB_QUERIES_DIR=str(settings.queries_dir),
        NO_COLOR="1",
    )
    env.pop("GITHUB_STEP_SUMMARY", None)
    env.update(extra or {})
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=settings.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
