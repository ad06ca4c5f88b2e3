"""Guard rails: which servers destructive tasks may touch, decided before connecting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devdb.errors import GuardError
from devdb.guard import confirm_drop, require_owned, target_of
from devdb.settings import load_settings

# 192.0.2.0/24 is TEST-NET-1 (RFC 5737): nothing answers there, so a connection attempt would
# hang until its timeout or fail with a connection error, never with a GuardError.
REMOTE = "postgresql://devdb:s3cretpassword@192.0.2.10:5432/appdb"


def _settings(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    (tmp_path / "tasks.py").write_text("")
    return load_settings(root=tmp_path, environ=env)


def test_remote_host_is_refused_and_named(tmp_path: Path) -> None:
    settings = _settings(tmp_path, DEVDB_BACKEND="external", DATABASE_URL=REMOTE)
    with pytest.raises(GuardError) as err:
        require_owned(settings, force=False, action="reset the database")
    assert "'192.0.2.10'" in err.value.message
    assert "appdb" in err.value.message
    assert "DEVDB_ALLOWED_HOSTS" in err.value.hint
    assert "s3cretpassword" not in err.value.render()


def test_loopback_external_counts_as_owned(tmp_path: Path) -> None:
    for host in ("127.0.0.1", "localhost", "[::1]"):
        url = f"postgresql://devdb:pw@{host}:5432/appdb"
        settings = _settings(tmp_path, DEVDB_BACKEND="external", DATABASE_URL=url)
        target = require_owned(settings, force=False, action="reset")
        assert target.owned
        assert target.database == "appdb"


def test_allowed_hosts_and_force_let_a_remote_host_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    allowed = _settings(
        tmp_path,
        DEVDB_BACKEND="external",
        DATABASE_URL=REMOTE,
        DEVDB_ALLOWED_HOSTS="ci-db, 192.0.2.10",
    )
    assert require_owned(allowed, force=False, action="reset").allowed
    forced = _settings(tmp_path, DEVDB_BACKEND="external", DATABASE_URL=REMOTE)
    assert not require_owned(forced, force=True, action="reset").owned
    assert "--force" in capsys.readouterr().err


def test_native_and_docker_servers_are_owned(tmp_path: Path) -> None:
    for backend in ("native", "docker"):
        target = target_of(_settings(tmp_path, DEVDB_BACKEND=backend, DEVDB_DATABASE="shop"))
        assert target.owned
        assert target.host == "127.0.0.1"
        assert target.database == "shop"


def test_confirm_without_terminal_is_a_refusal_naming_the_database() -> None:
    # pytest gives no terminal on stdin, like CI: the question must refuse, never hang.
    with pytest.raises(GuardError) as err:
        confirm_drop("shop_dev", action="db.reset", yes=False)
    assert "'shop_dev'" in err.value.message
    assert "--yes" in err.value.hint
    confirm_drop("shop_dev", action="db.reset", yes=True)


def test_postgres_own_databases_are_never_dropped() -> None:
    for name in ("postgres", "template0", "template1"):
        with pytest.raises(GuardError):
            confirm_drop(name, action="db.reset", yes=True)


@pytest.mark.parametrize(
    "args",
    [
        ["db.reset", "--yes"],
        ["db.snapshot.restore", "demo", "--yes"],
        ["db.snapshot.restore", "--undo", "--yes"],
        ["db.load", "some.dump", "--yes"],
    ],
)
def test_tasks_refuse_a_remote_host_before_connecting(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "tasks.py").write_text("from devdb.tasks import ns\nnamespace = ns\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env |= {"DEVDB_BACKEND": "external", "DATABASE_URL": REMOTE}
    proc = subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 1
    # A GuardError, not a connection error: nothing was attempted against 192.0.2.10.
    assert proc.stderr.startswith("Error: refusing to"), proc.stderr
    assert "'192.0.2.10'" in proc.stderr
    assert "s3cretpassword" not in proc.stderr


@pytest.mark.parametrize(
    ("url", "env", "local"),
    [
        # a name is never looked up: "127." in front of a domain is not loopback
        ("postgresql://u:pw@127.prod.example.com/app", {}, False),
        ("postgresql://u:pw@localhost.example.com/app", {}, False),
        ("postgresql://u:pw@127.0.0.2:5432/app", {}, True),
        ("postgresql://u:pw@[::1]/app", {}, True),
        ("postgresql://u:pw@/app?host=/var/run/postgresql", {}, True),
        # hostaddr is where libpq connects, whatever the host name says
        ("postgresql://u:pw@localhost/app?hostaddr=192.0.2.10", {}, False),
        ("postgresql://u:pw@db.example.com/app?hostaddr=127.0.0.1", {}, True),
        # the environment fills what the URL lacks, as in libpq: the guard sees it
        ("postgresql://u:pw@127.0.0.1/app", {"PGHOSTADDR": "192.0.2.10"}, False),
        ("postgresql://u:pw@/app", {"PGHOST": "192.0.2.10"}, False),
        # every host of a list must be local
        ("postgresql://u:pw@127.0.0.1:5432,192.0.2.10:5432/app", {}, False),
    ],
)
def test_local_means_the_address_libpq_connects_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, env: dict[str, str], local: bool
) -> None:
    for name in ("PGHOST", "PGHOSTADDR", "PGSERVICE", "PGPORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = _settings(tmp_path, DEVDB_BACKEND="external", DATABASE_URL=url)
    assert target_of(settings).owned is local
    if not local:
        with pytest.raises(GuardError) as err:
            require_owned(settings, force=False, action="reset")
        assert "pw@" not in err.value.render()


def test_a_service_cannot_redirect_a_destructive_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = tmp_path / "pg_service.conf"
    services.write_text("[prod]\nhostaddr=192.0.2.10\n")
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    monkeypatch.setenv("PGSERVICE", "prod")
    settings = _settings(
        tmp_path, DEVDB_BACKEND="external", DATABASE_URL="postgresql://u:pw@localhost/app"
    )
    with pytest.raises(GuardError, match=r"192\.0\.2\.10"):
        require_owned(settings, force=False, action="reset")


def test_local_backends_pin_the_address_they_connect_to() -> None:
    from devdb.conninfo import ConnInfo

    kwargs = ConnInfo("127.0.0.1", 5432, "u", "pw", "app").kwargs()
    assert kwargs["hostaddr"] == "127.0.0.1"  # PGHOSTADDR cannot take over
