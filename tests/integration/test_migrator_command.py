"""The command migrator with a real tool, dbmate (npm package `dbmate`; CI installs it), on a
real server: db.setup, db.reset, seeds on top, db.schema.check, fresh_db, the digest of the
named files, a failing migration, and the one-line "cannot" of what a command cannot do."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from devdb.conninfo import ConnInfo
from devdb.settings import Settings
from tests.conftest import run_invoke
from tests.integration.adopted import adopt, drop_templates, ok, query, run_plugin

DBMATE = "dbmate --no-dump-schema --migrations-dir db/migrations up"
CHECKS = """
def check(conn):
    assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (2,)
    assert conn.execute("SELECT count(*) FROM notes.pages").fetchone() == (7,)
    assert conn.execute("SELECT to_regclass('public.mine')").fetchone() == (None,)
"""


@pytest.fixture
def project(tmp_path: Path, scratch_db: ConnInfo) -> Iterator[Settings]:
    if shutil.which("dbmate") is None:
        pytest.fail("dbmate is not installed: `npm install -g dbmate` (.ci/run does)")
    yield adopt(
        "dbmate_project",
        tmp_path / "notes",
        scratch_db,
        DEVDB_MIGRATOR="command",
        DEVDB_MIGRATE_COMMAND=f'"{DBMATE}"',
        DEVDB_MIGRATOR_INPUTS="db/migrations/*.sql",
    )
    drop_templates(scratch_db)


def test_setup_reset_schema_check_and_fresh_db(project: Settings, scratch_db: ConnInfo) -> None:
    out = ok(project, "db.setup")
    assert "Applying: 20250111090000_create_pages.sql" in out  # dbmate's own output
    assert "ran the migrate command" in out
    assert query(scratch_db, "SELECT count(*) FROM notes.pages") == [(7,)]
    query(scratch_db, "DROP TABLE notes.pages")
    ok(project, "db.reset", "--yes")
    assert query(scratch_db, "SELECT count(*) FROM notes.pages") == [(7,)]
    ok(project, "db.schema.dump")
    assert "CREATE TABLE notes.pages" in (project.root / "schema.sql").read_text()
    assert "matches the migrations" in ok(project, "db.schema.check")
    run = run_plugin(project, CHECKS)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


def test_the_named_files_make_the_digest(project: Settings) -> None:
    from devdb.migrator import digest

    first = digest(project)
    (project.root / "db" / "migrations" / "20250112090000_more.sql").write_text(
        "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n"
    )
    assert digest(project) != first


def test_a_failing_migration_is_one_error_with_the_tools_output(project: Settings) -> None:
    (project.root / "db" / "migrations" / "20250112090000_broken.sql").write_text(
        "-- migrate:up\nCREATE TABLE notes.pages (id int);\n-- migrate:down\n"
    )
    run = run_invoke(project, "db.setup")
    assert run.returncode == 1
    assert "Error: dbmate failed (exit code 2)" in run.stderr, run.stderr
    assert 'relation "pages" already exists' in run.stderr
    assert (project.database_url or "").split("@")[0].split(":")[-1] not in run.stderr
    assert "Traceback" not in run.stderr


def test_what_a_command_cannot_do_is_one_line(project: Settings) -> None:
    cannot = ("db.migrate.status", "db.migrate.down", "db.migrate.verify", "db.migrate.baseline")
    for args in ((task,) for task in cannot):
        run = run_invoke(project, *args)
        assert run.returncode == 1
        assert run.stderr.startswith("Error: the command migrator cannot "), run.stderr


ENV_DUMP = """
import json, os, sys
seen = {k: v for k, v in os.environ.items() if k.startswith("PG") or k == "DATABASE_URL"}
open("tool_env.json", "w").write(json.dumps(seen))
"""


def test_the_tool_gets_the_url_and_none_of_the_callers_libpq_variables(
    tmp_path: Path, scratch_db: ConnInfo
) -> None:
    import json
    import sys

    project = adopt(
        "dbmate_project",
        tmp_path / "notes",
        scratch_db,
        DEVDB_MIGRATOR="command",
        DEVDB_MIGRATE_COMMAND=f'"{sys.executable} envdump.py"',
        DEVDB_MIGRATOR_INPUTS="envdump.py",
    )
    (project.root / "envdump.py").write_text(ENV_DUMP)
    elsewhere = {
        "PGHOST": "elsewhere.invalid",
        "PGPORT": "6543",
        "PGDATABASE": "other",
        "PGOPTIONS": "-c search_path=elsewhere",
        "PGHOSTADDR": "127.0.0.1",  # devdb itself honours it: the same server
    }
    run = run_invoke(project, "db.migrate", extra=elsewhere)
    assert run.returncode == 0, run.stdout + run.stderr
    seen = json.loads((project.root / "tool_env.json").read_text())
    assert not set(seen) & set(elsewhere), seen
    assert urlsplit(seen["DATABASE_URL"]).path == f"/{scratch_db.dbname}"
