"""Secrets stay secret: the app role's generated password never reaches the server in clear
(not in its log with every statement logged, not in pg_stat_statements), and dump files are
readable by their owner only."""

from __future__ import annotations

import stat
import time
from pathlib import Path

from devdb.conninfo import ConnInfo
from devdb.copies import pgdump
from devdb.database import connect
from devdb.roles import app_conninfo, ensure_app_role
from devdb.settings import Settings
from devdb.state import role_password
from tests.conftest import make_project


def _log_everything(admin: ConnInfo, on: bool) -> None:
    with connect(admin, autocommit=True) as conn:
        if on:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            conn.execute("ALTER SYSTEM SET log_statement = 'all'")
        else:
            conn.execute("ALTER SYSTEM RESET log_statement")
        conn.execute("SELECT pg_reload_conf()")
    time.sleep(0.3)  # the postmaster rereads its configuration asynchronously


def test_the_app_role_password_reaches_the_server_only_as_a_scram_verifier(
    native_server: tuple[Settings, ConnInfo], scratch_db: ConnInfo, tmp_path: Path
) -> None:
    server_settings, server_info = native_server
    settings = make_project(
        tmp_path / "proj",
        backend="external",
        database_url=scratch_db.url(show_password=True),
        database=scratch_db.dbname,
    )
    admin = server_info.for_database("postgres")
    _log_everything(admin, on=True)
    try:
        role = ensure_app_role(settings, scratch_db)  # CREATE ROLE
        ensure_app_role(settings, scratch_db)  # ALTER ROLE
    finally:
        _log_everything(admin, on=False)
    password = role_password(settings, role.name)
    with connect(app_conninfo(settings, scratch_db)) as conn:  # the verifier is the right one
        conn.execute("SELECT 1")

    log = (server_settings.state_dir / "native" / "postgres.log").read_text(errors="replace")
    assert f"ROLE {role.name}" in log or f'ROLE "{role.name}"' in log  # it logged the statement
    assert "PASSWORD 'SCRAM-SHA-256$4096:" in log
    assert password not in log
    with connect(admin, autocommit=True) as conn:
        rows = conn.execute("SELECT query FROM pg_stat_statements").fetchall()
    statements = "\n".join(str(r[0]) for r in rows)
    assert role.name in statements  # pg_stat_statements saw the role statements
    assert password not in statements


def test_dump_files_are_readable_by_their_owner_only(
    native_server: tuple[Settings, ConnInfo], scratch_db: ConnInfo, tmp_path: Path
) -> None:
    path = tmp_path / "state.dump"
    pgdump.dump(native_server[0], scratch_db, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_bytes(b"")  # dumping again over a file that exists keeps it private too
    path.chmod(0o644)
    pgdump.dump(native_server[0], scratch_db, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
