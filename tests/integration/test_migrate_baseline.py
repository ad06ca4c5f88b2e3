"""db.migrate.baseline: adopting a database another tool migrated, without running anything.

The history tables are created with each tool's own column layout (sql-migrate's gorp_migrations,
goose's goose_db_version, Flyway's flyway_schema_history); dbmate's is written by dbmate itself
in tests/integration/test_migrate_corpus.py.
"""

from __future__ import annotations

import pytest

from devdb.conninfo import ConnInfo
from devdb.database import connect
from devdb.errors import MigrationError
from devdb.migrations import migrate, status
from devdb.migrations.baseline import baseline
from devdb.settings import Settings
from tests.conftest import run_invoke
from tests.integration.test_migrations import project, scalar

__all__ = ["project"]

HISTORIES = {
    "sql-migrate": (
        "CREATE TABLE gorp_migrations (id varchar(255) PRIMARY KEY, applied_at timestamptz);"
        "INSERT INTO gorp_migrations VALUES ('1_a.sql', '2024-01-02 03:04:05+00'), "
        "('2_b.sql', now()), ('0_gone.sql', now());"
    ),
    "goose": (
        "CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL, "
        "is_applied boolean NOT NULL, tstamp timestamp DEFAULT now());"
        "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true), "
        "(2, true), (3, true), (3, false);"
    ),
    "flyway": (
        "CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), "
        "description varchar(200), type varchar(20), script varchar(1000), checksum int, "
        "installed_by varchar(100), installed_on timestamp DEFAULT now(), "
        "execution_time int, success boolean);"
        "INSERT INTO flyway_schema_history VALUES "
        "(1, '1', 'a', 'SQL', '1_a.sql', 0, 'me', now(), 1, true), "
        "(2, '2', 'b', 'SQL', '2_b.sql', 0, 'me', now(), 1, true), "
        "(3, '3', 'c', 'SQL', '3_c.sql', 0, 'me', now(), 1, false);"
    ),
}


def _files(project: Settings) -> None:
    for version, table in ((1, "a"), (2, "b"), (3, "c")):
        (project.migrations_dir / f"{version}_{table}.sql").write_text(
            f"-- +migrate Up\nCREATE TABLE {table} (id int);\n"
            f"-- +migrate Down\nDROP TABLE {table};\n"
        )


@pytest.mark.parametrize("tool", sorted(HISTORIES))
def test_baseline_imports_what_the_tool_applied_and_migrate_runs_the_rest(
    project: Settings, scratch_db: ConnInfo, tool: str
) -> None:
    _files(project)
    with connect(scratch_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE a (id int); CREATE TABLE b (id int);" + HISTORIES[tool])
    done = baseline(project, scratch_db)
    assert done.source == tool and done.imported == ["1", "2"]
    assert done.no_file == (["0_gone.sql"] if tool == "sql-migrate" else [])
    assert migrate(project, scratch_db) == ["3"]  # a and b were never created again
    assert [r["state"] for r in status(project, scratch_db)] == ["applied"] * 3
    who = scalar(scratch_db, "SELECT applied_by FROM devdb.schema_migrations WHERE version = '1'")
    assert who == f"baseline from {tool}"
    assert baseline(project, scratch_db).already == ["1", "2"]


def test_baseline_up_to_a_version_and_its_task(project: Settings, scratch_db: ConnInfo) -> None:
    _files(project)
    with connect(scratch_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE a (id int); CREATE TABLE b (id int);")
    with pytest.raises(MigrationError, match="no migration history"):
        baseline(project, scratch_db)
    out = run_invoke(project, "db.migrate.baseline", "--to", "2", "--dry-run")
    assert out.returncode == 0 and out.stdout.split("\n")[:2] == [
        "would record 1",
        "would record 2",
    ]
    assert scalar(scratch_db, "SELECT to_regclass('devdb.schema_migrations')") is None
    out = run_invoke(project, "db.migrate.baseline", "--to", "2")
    assert "recorded 2 migration(s) as applied from up to 2" in out.stderr
    assert migrate(project, scratch_db) == ["3"]
    bad = run_invoke(project, "db.migrate.baseline", "--to", "9")
    assert bad.returncode == 1 and "Error: no migration file has the version 9" in bad.stderr
