"""Against a real server: statements arrive byte for byte (compared with psql's own run of the same
file), an interrupted CREATE INDEX CONCURRENTLY is rebuilt, and verify checks every migration,
privileges included, going on after failures."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from devdb.conninfo import ConnInfo
from devdb.database import ADMIN_DB, connect, create_database, drop_database
from devdb.migrations import migrate
from devdb.migrations.verify import verify
from devdb.psql import local_psql
from devdb.settings import Settings
from tests.conftest import run_invoke
from tests.integration.test_migrations import project, scalar, write

__all__ = ["project"]  # the fixture, imported for these tests

EXACT = """-- +migrate Up
CREATE TABLE notes (
  body text NOT NULL DEFAULT 'two trailing spaces  
-- a line that looks like a comment
end'
);
CREATE FUNCTION public.shout(t text) RETURNS text LANGUAGE plpgsql AS $fn$
-- a comment line inside the body   
BEGIN
  RETURN upper(t) || '!   ';  
END;
$fn$;
CREATE FUNCTION public.atomic_sum(a int, b int) RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT a + b;
END;
-- +migrate Down
DROP FUNCTION public.atomic_sum(int, int);
DROP FUNCTION public.shout(text);
DROP TABLE notes;
"""  # noqa: W291 (the trailing spaces are the point)

STORED = """
SELECT pg_get_functiondef('public.shout(text)'::regprocedure),
       pg_get_functiondef('public.atomic_sum(int, int)'::regprocedure),
       (SELECT prosrc FROM pg_proc WHERE oid = 'public.shout(text)'::regprocedure),
       (SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'notes'::regclass)
"""


def _other_database(conninfo: ConnInfo, name: str) -> ConnInfo:
    with connect(conninfo.for_database(ADMIN_DB), autocommit=True) as conn:
        drop_database(conn, name)
        create_database(conn, name)
    return conninfo.for_database(name)


def test_stored_bodies_and_defaults_are_byte_identical_to_psqls(
    project: Settings, scratch_db: ConnInfo, tmp_path: Path
) -> None:
    write_path = project.migrations_dir / "1_exact.sql"
    write_path.write_text(EXACT)
    migrate(project, scratch_db)
    found = local_psql(project, "native")
    assert found is not None, "psql is needed for this test"
    theirs = _other_database(scratch_db, scratch_db.dbname + "_psql")
    up_only = tmp_path / "up.sql"
    up_only.write_text(EXACT.split("-- +migrate Down", maxsplit=1)[0])
    env = {**os.environ, "PGPASSWORD": theirs.password or ""}
    where = ["-h", theirs.host, "-p", str(theirs.port), "-U", theirs.user, "-d", theirs.dbname]
    try:
        subprocess.run(
            [found[0], "-X", "-q", "-v", "ON_ERROR_STOP=1", *where, "-f", str(up_only)],
            check=True,
            env=env,
            capture_output=True,
        )
        with connect(scratch_db, autocommit=True) as a, connect(theirs, autocommit=True) as b:
            ours, psqls = a.execute(STORED).fetchone(), b.execute(STORED).fetchone()
    finally:
        with connect(scratch_db.for_database(ADMIN_DB), autocommit=True) as admin:
            drop_database(admin, theirs.dbname)
    assert ours == psqls
    assert ours is not None and "-- a comment line inside the body   \n" in ours[2]
    assert "two trailing spaces  \n-- a line that looks like a comment\nend" in ours[3]


def _invalid_index(conninfo: ConnInfo) -> None:
    """What an interrupted ``CREATE UNIQUE INDEX CONCURRENTLY`` leaves: an invalid index."""
    with connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (a int); INSERT INTO t VALUES (1), (1)")
        with pytest.raises(Exception, match="could not create unique index"):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY t_a_key ON t (a)")
        conn.execute("DELETE FROM t WHERE ctid = (SELECT max(ctid) FROM t)")


def test_a_rerun_rebuilds_the_invalid_index_its_concurrent_build_left(
    project: Settings, scratch_db: ConnInfo
) -> None:
    _invalid_index(scratch_db)
    valid = "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_a_key'::regclass"
    assert scalar(scratch_db, valid) is False
    write(
        project,
        "20250101000100_idx.sql",
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_a_key ON t (a);",
        "DROP INDEX CONCURRENTLY t_a_key;",
        opts=" notransaction",
    )
    assert migrate(project, scratch_db) == ["20250101000100"]
    assert scalar(scratch_db, valid) is True


def test_verify_goes_on_after_failures_and_reports_every_migration(
    project: Settings, scratch_db: ConnInfo
) -> None:
    write(project, "1_a.sql", "CREATE TABLE a (id int);", "DROP TABLE a;")
    write(project, "2_broken_up.sql", "CREATE TABLE b (id int REFERENCES nope);", "DROP TABLE b;")
    write(project, "3_c.sql", "CREATE TABLE c (id int);", "DROP TABLE c;")
    write(project, "4_bad_down.sql", "CREATE TABLE d (id int);", "DROP TABLE d;\nDROP TABLE zz;")
    write(project, "5_grant.sql", "GRANT SELECT ON a TO PUBLIC;", "")
    write(
        project,
        "6_default_privileges.sql",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO PUBLIC;",
        "",
    )
    write(project, "7_e.sql", "CREATE TABLE e (id int);", "DROP TABLE e;")
    # a Down that leaves a column behind: the second Up builds a schema the first did not
    write(project, "8_x.sql", "ALTER TABLE a ADD x int;", "ALTER TABLE a RENAME x TO y;")
    write(project, "9_f.sql", "CREATE TABLE f (id int);", "DROP TABLE f;")
    verdicts = {v.filename: v for v in verify(project, scratch_db)}
    assert list(verdicts) == [f"{n}.sql" for n in ("1_a", "2_broken_up", "3_c", "4_bad_down")] + [
        "5_grant.sql",
        "6_default_privileges.sql",
        "7_e.sql",
        "8_x.sql",
        "9_f.sql",
    ]
    assert verdicts["1_a.sql"].ok and verdicts["3_c.sql"].ok and verdicts["7_e.sql"].ok
    assert verdicts["8_x.sql"].changed == ["TABLE public.a"] and verdicts["9_f.sql"].ok
    assert verdicts["2_broken_up.sql"].not_checked == "its Up fails"
    assert verdicts["4_bad_down.sql"].error is not None
    assert verdicts["4_bad_down.sql"].error.startswith("Down fails")
    assert verdicts["5_grant.sql"].changed == ["TABLE public.a"]
    assert verdicts["6_default_privileges.sql"].left_behind[0].startswith("DEFAULT PRIVILEGES")
    out = run_invoke(project, "db.migrate.verify", "--json")
    assert out.returncode == 1
    rows = json.loads(out.stdout)
    assert [r["checked"] for r in rows] == [True, False] + [True] * 7
    assert rows[1]["not_checked"] == "its Up fails"
    text = run_invoke(project, "db.migrate.verify")
    assert "ok    7_e.sql" in text.stdout and "not checked: its Up fails" in text.stdout
    assert "Error: 5 of 9 migration(s) fail verification (1 could not be checked)" in text.stderr


def test_a_snapshot_reusing_unchanged_definitions_equals_a_fresh_one(scratch_db: ConnInfo) -> None:
    from devdb.migrations.catalog import Snapshots, snapshot

    steps = [
        "CREATE TABLE t (a int DEFAULT 1, b text); CREATE INDEX t_a ON t (a);"
        "CREATE TABLE u (id int PRIMARY KEY, t_a int)",
        "ALTER TABLE t RENAME COLUMN a TO aa",
        "ALTER TABLE t ALTER b SET DEFAULT 'x'",
        "GRANT SELECT (b) ON t TO PUBLIC",
        "COMMENT ON TABLE t IS 'c'",
        "ALTER TABLE u ADD CONSTRAINT fk FOREIGN KEY (t_a) REFERENCES u (id)",
        "ALTER TABLE u RENAME TO u2",
        "CREATE SCHEMA s; ALTER TABLE t SET SCHEMA s",
        "ALTER SCHEMA s RENAME TO s2",
        "DROP INDEX s2.t_a",
        "CREATE VIEW v AS SELECT id FROM u2; CREATE OR REPLACE VIEW v AS SELECT id, t_a FROM u2",
    ]
    snaps = Snapshots()
    with connect(scratch_db, autocommit=True) as conn:
        snaps.take(conn)
        for sql in steps:
            conn.execute(sql)
            assert snaps.take(conn) == snapshot(conn), sql


def test_a_failing_down_is_reported_as_a_down(project: Settings, scratch_db: ConnInfo) -> None:
    from devdb.errors import MigrationFailed
    from devdb.migrations import down

    write(project, "1_a.sql", "CREATE TABLE a (id int);", "DROP TABLE a;\nDROP TABLE nope;")
    migrate(project, scratch_db)
    with pytest.raises(MigrationFailed) as caught:
        down(project, scratch_db)
    err = caught.value
    assert err.message.startswith("1_a.sql:5:1: ")  # DROP TABLE nope, the Down's 2nd line
    assert any("Down section was rolled back" in d for d in err.details)
    assert "`invoke db.migrate.down`" in err.hint and "Down section of 1_a.sql" in err.hint
    assert scalar(scratch_db, "SELECT count(*) FROM devdb.schema_migrations") == 1


def test_an_error_inside_begin_atomic_points_at_its_file_position(
    project: Settings, scratch_db: ConnInfo
) -> None:
    from devdb.errors import MigrationFailed

    (project.migrations_dir / "1_atomic.sql").write_text(
        "\n\n-- +migrate Up\nSELECT 1;\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n"
        "  SELECT count(*) FROM missing_table;\nEND;\n"
    )
    with pytest.raises(MigrationFailed) as caught:
        migrate(project, scratch_db)
    assert caught.value.message.startswith("1_atomic.sql:8:24: ")  # where missing_table starts
    assert 'relation "missing_table" does not exist' in caught.value.message


def test_an_unnamed_concurrent_index_rebuilt_leaves_no_invalid_twin(
    project: Settings, scratch_db: ConnInfo
) -> None:
    _invalid_index(scratch_db)  # t_a_key, invalid; an unnamed rerun would build t_a_idx
    with connect(scratch_db, autocommit=True) as conn:
        conn.execute("ALTER INDEX t_a_key RENAME TO t_a_idx")
    write(
        project,
        "20250101000100_idx.sql",
        "CREATE UNIQUE INDEX CONCURRENTLY ON t (a);",
        "DROP INDEX CONCURRENTLY t_a_idx1;",
        opts=" notransaction",
    )
    assert migrate(project, scratch_db) == ["20250101000100"]
    rows = "SELECT string_agg(indexrelid::regclass || ':' || indisvalid, ',') FROM pg_index "
    assert scalar(scratch_db, rows + "WHERE indrelid = 't'::regclass") == "t_a_idx1:true"


def test_bad_names_and_files_are_one_error_line_and_a_hint(project: Settings) -> None:
    out = run_invoke(project, "db.migrate.new", "x" * 300)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("Error: the migration name is 300 characters long (at most 100)")
    assert "\nHint: " in out.stderr and not list(project.migrations_dir.iterdir())
    (project.migrations_dir / "1_binary.sql").write_bytes(b"\x00\x01\x02-- +migrate Up\n")
    out = run_invoke(project, "db.migrate")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("Error: 1_binary.sql: a binary file, not SQL text\nHint: ")
