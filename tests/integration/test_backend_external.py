"""The external backend against the session's native server, and ``db.status --json`` end to end."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import make_project

from devdb import server
from devdb.conninfo import ConnInfo
from devdb.errors import AuthenticationFailed, BackendError, ConnectionFailed
from devdb.settings import Settings


def external(root: Path, url: str, **overrides: object) -> Settings:
    return make_project(root, backend="external", database_url=url, **overrides)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_up_waits_for_the_server_and_uses_it(
    tmp_path: Path, server_conninfo: ConnInfo, native_server: tuple[Settings, ConnInfo]
) -> None:
    settings = external(tmp_path / "p", server_conninfo.url(show_password=True))
    result = server.up(settings)
    assert result.backend == "external"
    assert result.conninfo == server_conninfo
    assert result.created_database is False
    st = server.status(settings)
    assert st["running"] is True and st["backend"] == "external"
    with pytest.raises(BackendError):
        server.destroy(settings)  # devdb never removes an external server


def test_wrong_password_is_authentication_failed(tmp_path: Path, server_conninfo: ConnInfo) -> None:
    wrong = replace(server_conninfo, password="not-the-password")
    settings = external(tmp_path / "p", wrong.url(show_password=True))
    with pytest.raises(AuthenticationFailed) as err:
        server.up(settings)
    assert "wrong password" in err.value.message
    assert "not-the-password" not in err.value.render()


def test_nothing_listening_is_connection_failed(tmp_path: Path) -> None:
    url = f"postgresql://devdb:pw@127.0.0.1:{closed_port()}/app"
    settings = external(tmp_path / "p", url, ready_timeout=0.5)
    with pytest.raises(ConnectionFailed) as err:
        server.up(settings)
    assert not isinstance(err.value, AuthenticationFailed)
    assert "DATABASE_URL" in err.value.message


def test_unresolvable_host_fails_without_waiting(tmp_path: Path) -> None:
    settings = external(tmp_path / "p", "postgresql://devdb:pw@devdb-no-such-host.invalid/app")
    assert settings.ready_timeout == 60  # it must not wait for this
    with pytest.raises(ConnectionFailed, match="does not resolve"):
        server.up(settings)


def test_status_json_prints_one_document(
    tmp_path: Path, server_conninfo: ConnInfo, native_server: tuple[Settings, ConnInfo]
) -> None:
    root = tmp_path / "proj"
    make_project(root)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env.update(DEVDB_BACKEND="external", DATABASE_URL=server_conninfo.url(show_password=True))
    out = subprocess.run(
        [sys.executable, "-m", "invoke", "db.status", "--json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    doc = json.loads(out.stdout)  # exactly one document: json.loads refuses trailing data
    assert doc["backend"] == "external"
    assert doc["running"] is True
    assert doc["url"] == server_conninfo.url()
    assert server_conninfo.password and server_conninfo.password not in out.stdout + out.stderr
    assert doc["server_version"].split(".")[0].isdigit()
