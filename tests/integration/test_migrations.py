"""Migrations against a real server: apply, roll back, drift, locking, failures, verify, schema."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from devdb.conninfo import ConnInfo
from devdb.database import connect
from devdb.errors import MigrationDrift, MigrationError, MigrationFailed
from devdb.migrations import accept, down, migrate, plan_down, redo, status
from devdb.migrations.schema import schema_diff, write_schema
from devdb.migrations.verify import verify
from devdb.settings import Settings
from tests.conftest import make_project


@pytest.fixture
def project(tmp_path: Path, scratch_db: ConnInfo) -> Settings:
    """An empty project (no migrations yet) whose database is the scratch database."""
    settings = make_project(
        tmp_path / "proj",
        backend="external",
        database_url=scratch_db.url(show_password=True),
        database=scratch_db.dbname,
        lock_timeout="200ms",
        migrate_wait="20",
    )
    settings.migrations_dir.mkdir()
    return settings


def write(settings: Settings, name: str, up: str, down: str | None = "", opts: str = "") -> Path:
    text = f"-- +migrate Up{opts}\n{up}\n"
    if down is not None:
        text += f"-- +migrate Down{opts}\n{down}\n"
    path = settings.migrations_dir / name
    path.write_text(text)
    return path


def scalar(conninfo: ConnInfo, query: str) -> Any:
    with connect(conninfo, autocommit=True) as conn:
        row = conn.execute(query).fetchone()
    return row[0] if row else None


def exists(conninfo: ConnInfo, relation: str) -> bool:
    return bool(scalar(conninfo, f"SELECT to_regclass('{relation}') IS NOT NULL"))


def test_demo_migrations_apply_roll_back_and_redo(
    project_on_server: Settings, scratch_db: ConnInfo
) -> None:
    settings = project_on_server
    applied = migrate(settings, scratch_db)
    assert len(applied) >= 8 and applied == sorted(applied)
    assert migrate(settings, scratch_db) == []
    assert exists(scratch_db, '"user".users') and exists(scratch_db, "audit.events_actor_id_idx")
    rows = status(settings, scratch_db)
    assert {r["state"] for r in rows} == {"applied"}
    assert all(r["applied_by"] and r["duration_ms"] is not None for r in rows)

    assert down(settings, scratch_db, steps=2) == applied[-1:-3:-1]
    assert not exists(scratch_db, "audit.events")
    assert [r["state"] for r in status(settings, scratch_db)][-2:] == ["pending", "pending"]
    assert migrate(settings, scratch_db, to=applied[-2]) == [applied[-2]]
    assert redo(settings, scratch_db) == applied[-2]
    assert exists(scratch_db, "audit.events")
    assert migrate(settings, scratch_db, dry_run=True) == [applied[-1]]
    assert migrate(settings, scratch_db) == [applied[-1]]
    assert down(settings, scratch_db, to=applied[0]) == applied[:0:-1]
    assert scalar(scratch_db, "SELECT count(*) FROM devdb.schema_migrations") == 1
    assert plan_down(settings, scratch_db, to="0") == applied[:1]  # 0: every applied one
    assert down(settings, scratch_db, to="0") == applied[:1]
    assert plan_down(settings, scratch_db) == []


def test_a_statement_failing_halfway_leaves_nothing_applied(
    project: Settings, scratch_db: ConnInfo
) -> None:
    write(project, "20250101000000_ok.sql", "CREATE TABLE kept (id int);", "DROP TABLE kept;")
    write(
        project,
        "20250101000100_broken.sql",
        "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\nCREATE INDEX a_id ON a (id);\n"
        "INSERT INTO a SELECT id FROM\n    missing_table;\nCREATE TABLE b (id int);",
        "DROP TABLE b;\nDROP TABLE a;",
    )
    with pytest.raises(MigrationFailed) as caught:
        migrate(project, scratch_db)
    err = caught.value
    # line 6 of the file (the Up marker is line 1), column 5: where "missing_table" starts
    assert err.message.startswith("20250101000100_broken.sql:6:5: ")
    assert 'relation "missing_table" does not exist' in err.message
    assert "SQLSTATE: 42P01 (undefined_table)" in err.details
    assert any(
        "Nothing of 20250101000100_broken.sql's Up section was applied" in d for d in err.details
    )
    assert exists(scratch_db, "kept")
    assert not exists(scratch_db, "a") and not exists(scratch_db, "a_id")
    assert [r["state"] for r in status(project, scratch_db)] == ["applied", "pending"]


def test_runtime_error_without_position_points_at_the_statement(
    project: Settings, scratch_db: ConnInfo
) -> None:
    write(
        project,
        "20250101000000_dupe.sql",
        "CREATE TABLE t (id int PRIMARY KEY);\n\nINSERT INTO t VALUES (1), (1);",
        "DROP TABLE t;",
    )
    with pytest.raises(MigrationFailed) as caught:
        migrate(project, scratch_db)
    assert caught.value.message.startswith("20250101000000_dupe.sql:4:1: duplicate key")
    assert any(d.startswith("Detail: Key (id)=(1) already exists") for d in caught.value.details)
    assert "(unique_violation)" in " ".join(caught.value.details)
    assert not exists(scratch_db, "t")


def test_two_concurrent_runs_apply_each_migration_once(
    project: Settings, scratch_db: ConnInfo
) -> None:
    write(
        project,
        "20250101000000_slow.sql",
        "CREATE TABLE slow (id int);\nSELECT pg_sleep(0.5);",
        "DROP TABLE slow;",
    )
    write(project, "20250101000100_next.sql", "CREATE TABLE nxt (id int);", "DROP TABLE nxt;")
    results: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        try:
            results.append(migrate(project, scratch_db))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results, key=len) == [[], ["20250101000000", "20250101000100"]]
    assert scalar(scratch_db, "SELECT count(*) FROM devdb.schema_migrations") == 2
    # both ran in one batch; each duration is its own, not counted from the batch's start
    slow, nxt = (r["duration_ms"] for r in status(project, scratch_db))
    assert nxt < slow


def test_waiting_for_the_lock_times_out_with_a_clear_error(
    project: Settings, scratch_db: ConnInfo
) -> None:
    from devdb.migrations.tracking import LOCK_KEYS

    write(project, "20250101000000_a.sql", "CREATE TABLE a (id int);", "DROP TABLE a;")
    impatient = project.with_overrides(migrate_wait=0.2)
    with connect(scratch_db, autocommit=True) as holder:
        holder.execute(f"SELECT pg_advisory_lock({LOCK_KEYS[0]}, {LOCK_KEYS[1]})")
        with pytest.raises(MigrationError, match="another migration run holds the lock"):
            migrate(impatient, scratch_db)
    assert migrate(impatient, scratch_db) == ["20250101000000"]


def test_lock_timeout_stops_a_migration_stuck_behind_a_long_transaction(
    project: Settings, scratch_db: ConnInfo
) -> None:
    write(project, "20250101000000_t.sql", "CREATE TABLE t (id int);", "DROP TABLE t;")
    migrate(project, scratch_db)
    write(project, "20250101000100_alter.sql", "ALTER TABLE t ADD COLUMN x int;", "")
    with connect(scratch_db) as blocker:
        blocker.execute("SELECT * FROM t")  # holds ACCESS SHARE until rollback
        with pytest.raises(MigrationFailed) as caught:
            migrate(project, scratch_db)
        blocker.rollback()
    assert "SQLSTATE: 55P03 (lock_not_available)" in caught.value.details
    assert "DEVDB_LOCK_TIMEOUT" in caught.value.hint


def test_an_edited_applied_file_is_an_error_until_accepted(
    project: Settings, scratch_db: ConnInfo
) -> None:
    path = write(project, "20250101000000_a.sql", "CREATE TABLE a (id int);", "DROP TABLE a;")
    migrate(project, scratch_db)
    path.write_text(path.read_text().replace("id int", "id bigint"))
    write(project, "20250101000100_b.sql", "CREATE TABLE b (id int);", "DROP TABLE b;")
    with pytest.raises(MigrationDrift, match=r"20250101000000_a\.sql") as caught:
        migrate(project, scratch_db)
    assert "db.migrate.accept 20250101000000" in caught.value.hint
    assert not exists(scratch_db, "b")
    assert status(project, scratch_db)[0]["state"] == "changed"
    with pytest.raises(MigrationDrift, match="changed since it was applied"):
        down(project, scratch_db)
    assert accept(project, scratch_db) == [("20250101000000", "20250101000000_a.sql")]
    assert migrate(project, scratch_db) == ["20250101000100"]


def test_an_applied_migration_without_its_file_is_an_error(
    project: Settings, scratch_db: ConnInfo
) -> None:
    path = write(project, "20250101000000_a.sql", "CREATE TABLE a (id int);", "DROP TABLE a;")
    migrate(project, scratch_db)
    path.unlink()
    with pytest.raises(MigrationDrift, match="with no file: 20250101000000_a"):
        migrate(project, scratch_db)
    assert status(project, scratch_db)[0]["state"] == "missing"


def test_out_of_order_pending_files_are_refused_unless_allowed(
    project: Settings, scratch_db: ConnInfo
) -> None:
    write(project, "20250101000200_new.sql", "CREATE TABLE n (id int);", "DROP TABLE n;")
    migrate(project, scratch_db)
    write(project, "20250101000100_old.sql", "CREATE TABLE o (id int);", "DROP TABLE o;")
    assert status(project, scratch_db)[0]["state"] == "out-of-order"
    with pytest.raises(MigrationDrift, match="older than the newest applied"):
        migrate(project, scratch_db)
    assert not exists(scratch_db, "o")
    assert migrate(project, scratch_db, allow_out_of_order=True) == ["20250101000100"]


def test_notransaction_migration_builds_two_indexes_concurrently(
    project: Settings, scratch_db: ConnInfo
) -> None:
    write(project, "20250101000000_t.sql", "CREATE TABLE t (a int, b int);", "DROP TABLE t;")
    write(
        project,
        "20250101000100_idx.sql",
        "CREATE INDEX CONCURRENTLY t_a ON t (a);\nCREATE INDEX CONCURRENTLY t_b ON t (b);",
        "DROP INDEX CONCURRENTLY t_b;\nDROP INDEX CONCURRENTLY t_a;",
        opts=" notransaction",
    )
    assert migrate(project, scratch_db) == ["20250101000000", "20250101000100"]
    assert exists(scratch_db, "t_a") and exists(scratch_db, "t_b")
    assert down(project, scratch_db) == ["20250101000100"]
    assert not exists(scratch_db, "t_a")


def test_failed_concurrent_index_names_the_invalid_index_left_behind(
    project: Settings, scratch_db: ConnInfo
) -> None:
    write(
        project,
        "20250101000000_t.sql",
        "CREATE TABLE t (a int);\nINSERT INTO t VALUES (1), (1);",
        "DROP TABLE t;",
    )
    write(
        project,
        "20250101000100_idx.sql",
        "CREATE UNIQUE INDEX CONCURRENTLY t_a_key ON t (a);",
        "DROP INDEX CONCURRENTLY t_a_key;",
        opts=" notransaction",
    )
    with pytest.raises(MigrationFailed) as caught:
        migrate(project, scratch_db)
    err = caught.value
    assert err.message.startswith("20250101000100_idx.sql:2:1: could not create unique index")
    assert "public.t_a_key" in " ".join(err.details)
    assert "DROP INDEX CONCURRENTLY IF EXISTS public.t_a_key;" in err.hint
    assert scalar(scratch_db, "SELECT count(*) FROM devdb.schema_migrations") == 1


def test_verify_reports_what_an_incomplete_down_leaves_behind(
    project: Settings, scratch_db: ConnInfo
) -> None:
    write(project, "20250101000000_base.sql", "CREATE TABLE base (id int);", "DROP TABLE base;")
    write(
        project,
        "20250101000100_leaky.sql",
        "CREATE TABLE leaky (id int);\nCREATE INDEX base_id ON base (id);\n"
        "CREATE FUNCTION public.helper() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;",
        "DROP TABLE leaky;",
    )
    base, leaky = verify(project, scratch_db)
    assert base.ok
    assert leaky.left_behind == ["FUNCTION public.helper()", "INDEX public.base_id"]
    assert leaky.not_restored == [] and not leaky.ok
    assert leaky.error is not None and leaky.error.startswith("Up after Down fails: ")
    assert not exists(scratch_db, "base")  # verify never touches the project database


def test_verify_reports_what_a_down_drops_that_it_did_not_create(
    project: Settings, scratch_db: ConnInfo
) -> None:
    write(project, "20250101000000_base.sql", "CREATE TABLE base (id int);", "DROP TABLE base;")
    write(
        project,
        "20250101000100_greedy.sql",
        "CREATE TABLE greedy (id int);\nALTER TABLE base ADD note text;",
        "DROP TABLE greedy;\nALTER TABLE base ADD other int;\nDROP TABLE base CASCADE;",
    )
    _, greedy = verify(project, scratch_db)
    assert greedy.not_restored == ["TABLE public.base"] and greedy.left_behind == []
    assert greedy.error is not None and 'relation "base" does not exist' in greedy.error


def test_verify_reports_a_down_that_fails(project: Settings, scratch_db: ConnInfo) -> None:
    write(project, "20250101000000_a.sql", "CREATE TABLE a (id int);", "DROP TABLE nope;")
    (verdict,) = verify(project, scratch_db)
    assert verdict.error is not None and verdict.error.startswith("Down fails: ")
    assert 'table "nope" does not exist' in verdict.error


def test_the_demo_migrations_pass_verify(project_on_server: Settings, scratch_db: ConnInfo) -> None:
    verdicts = verify(project_on_server, scratch_db)
    assert len(verdicts) >= 8
    assert [v.as_dict() for v in verdicts if not v.ok] == []


def test_schema_dump_is_stable_and_check_detects_drift(
    project_on_server: Settings, scratch_db: ConnInfo
) -> None:
    settings = project_on_server
    path = write_schema(settings, scratch_db)
    first = path.read_text()
    assert 'CREATE TABLE "user".users' in first and "schema_migrations" not in first
    assert "Dumped" not in first and "\nSET " not in first and "\\restrict" not in first
    assert schema_diff(settings, scratch_db) == []
    assert write_schema(settings, scratch_db).read_text() == first
    write(
        settings,
        "20991231000000_add_users_nickname.sql",
        'ALTER TABLE "user".users ADD nickname text;',
        'ALTER TABLE "user".users DROP nickname;',
    )
    diff = schema_diff(settings, scratch_db)
    assert any(line.startswith("+") and "nickname text" in line for line in diff)


def test_a_failure_inside_a_batch_keeps_the_earlier_migrations_and_names_the_bad_one(
    project: Settings, scratch_db: ConnInfo
) -> None:
    for i, name in enumerate(("one", "two")):
        write(project, f"2025010100000{i}_{name}.sql", f"CREATE TABLE {name} (id int);", "")
    write(project, "20250101000002_bad.sql", "CREATE TABLE bad (id int);\nCREAT TABLE x ();", "")
    write(project, "20250101000003_four.sql", "CREATE TABLE four (id int);", "")
    with pytest.raises(MigrationFailed) as caught:
        migrate(project, scratch_db)
    assert caught.value.message.startswith(
        '20250101000002_bad.sql:3:1: syntax error at or near "CREAT"'
    )
    assert exists(scratch_db, "one") and exists(scratch_db, "two")
    assert not exists(scratch_db, "bad") and not exists(scratch_db, "four")
    states = [r["state"] for r in status(project, scratch_db)]
    assert states == ["applied", "applied", "pending", "pending"]


def test_the_committed_schema_sql_matches_the_demo_migrations(
    project_on_server: Settings, scratch_db: ConnInfo
) -> None:
    from tests.conftest import REPO

    settings = project_on_server
    settings.schema_file.write_text((REPO / "schema.sql").read_text())
    assert schema_diff(settings, scratch_db) == [], "run `invoke db.schema.dump` and commit it"
