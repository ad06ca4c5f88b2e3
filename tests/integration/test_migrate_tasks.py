"""The db.migrate.* and db.schema.* tasks, run as a user runs them (`invoke ...` in a project)."""

from __future__ import annotations

import json

from devdb.conninfo import ConnInfo
from devdb.database import connect
from devdb.settings import Settings
from tests.conftest import run_invoke


def test_migrate_status_down_new_and_schema_tasks(
    project_on_server: Settings, scratch_db: ConnInfo
) -> None:
    settings = project_on_server
    dry = run_invoke(settings, "db.migrate", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would apply 20250101000000" in dry.stdout
    done = run_invoke(settings, "db.migrate")
    assert done.returncode == 0, done.stderr
    assert "applied 20250101000800_add_audit_events_indexes.sql" in done.stderr

    status = run_invoke(settings, "db.migrate.status", "--json")
    rows = json.loads(status.stdout)
    assert {r["state"] for r in rows} == {"applied"} and len(rows) >= 9

    down = run_invoke(settings, "db.migrate.down", "--steps", "2")
    assert down.returncode == 0, down.stderr
    assert "rolled back 20250101000700_create_audit_events.sql" in down.stderr
    text = run_invoke(settings, "db.migrate.status").stdout
    assert "pending" in text and text.rstrip().endswith("2 pending")

    new = run_invoke(settings, "db.migrate.new", "add_users_nickname")
    path = settings.root / new.stdout.strip()
    assert path.name.endswith("_add_users_nickname.sql") and path.is_file()
    path.write_text(
        '-- +migrate Up\nALTER TABLE "user".users ADD nickname text;\n'
        '-- +migrate Down\nALTER TABLE "user".users DROP nickname;\n'
    )
    assert run_invoke(settings, "db.schema.dump").returncode == 0
    assert "nickname text" in settings.schema_file.read_text()
    assert run_invoke(settings, "db.schema.check").returncode == 0
    path.unlink()
    check = run_invoke(settings, "db.schema.check")
    assert check.returncode == 1
    assert "-    nickname text" in check.stdout
    assert "Hint: Run `invoke db.schema.dump`" in check.stderr


def test_a_failing_migration_prints_file_line_sqlstate_and_exits_1(
    project_on_server: Settings, scratch_db: ConnInfo
) -> None:
    settings = project_on_server
    (settings.migrations_dir / "20991231000000_add_bad_column.sql").write_text(
        '-- +migrate Up\nALTER TABLE "user".users\n  ADD COLUMN score numerc;\n'
        '-- +migrate Down\nALTER TABLE "user".users DROP COLUMN score;\n'
    )
    result = run_invoke(settings, "db.migrate")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    error = next(line for line in lines if line.startswith("Error: "))
    assert error.startswith('Error: 20991231000000_add_bad_column.sql:3:20: type "numerc"')
    assert "SQLSTATE: 42704 (undefined_object)" in lines
    assert lines[-1].startswith("Hint: ")
    assert "Traceback" not in result.stderr
    with connect(scratch_db, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM devdb.schema_migrations").fetchone()
    assert row is not None and row[0] >= 9  # the good ones stay applied


def test_malformed_file_is_rejected_before_anything_runs(
    project_on_server: Settings, scratch_db: ConnInfo
) -> None:
    settings = project_on_server
    (settings.migrations_dir / "20991231000000_add_thing.sql").write_text(
        "-- +migrate up\nCREATE TABLE thing (id int);\n"
    )
    result = run_invoke(settings, "db.migrate")
    assert result.returncode == 1
    assert "Error: 20991231000000_add_thing.sql:1: unknown migration directive" in result.stderr
    assert "Hint: Write `-- +migrate Up`" in result.stderr
    with connect(scratch_db, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass('devdb.schema_migrations')").fetchone()
    assert row is not None and row[0] is None


def test_verify_task_passes_on_the_demo_and_fails_on_a_leaky_down(
    project_on_server: Settings, scratch_db: ConnInfo
) -> None:
    settings = project_on_server
    ok = run_invoke(settings, "db.migrate.verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (settings.migrations_dir / "20991231000000_add_flags.sql").write_text(
        "-- +migrate Up\nCREATE TABLE public.flags (id int);\n"
        "CREATE INDEX flags_id ON public.flags (id);\nCREATE SCHEMA extra;\n"
        "-- +migrate Down\nDROP TABLE public.flags;\n"
    )
    bad = run_invoke(settings, "db.migrate.verify", "--json")
    assert bad.returncode == 1
    report = {v["version"]: v for v in json.loads(bad.stdout)}
    assert report["20991231000000"]["left_behind"] == ["SCHEMA extra"]


def test_down_and_redo_plan_first_and_keep_the_undo_when_nothing_can_roll_back(
    project_on_server: Settings, scratch_db: ConnInfo
) -> None:
    from devdb.copies.names import undo_name
    from devdb.copies.snapshots import save_undo
    from devdb.database import ADMIN_DB, drop_database

    settings = project_on_server
    save_undo(settings, scratch_db)  # stands for the undo of the user's last reset
    undo = scratch_db.for_database(undo_name(scratch_db.dbname))

    admin = scratch_db.for_database(ADMIN_DB)

    def undo_oid() -> object:  # a new undo is a new database (the undo takes no connections)
        with connect(admin, autocommit=True) as conn:
            row = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", (undo.dbname,))
            return row.fetchone()

    kept = undo_oid()
    assert kept is not None

    def undo_kept() -> bool:
        return undo_oid() == kept

    def refused(*args: str, code: int, says: str) -> None:
        run = run_invoke(settings, *args)
        assert run.returncode == code, run.stderr
        assert says in run.stderr and "saved the undo" not in run.stderr, run.stderr
        assert "Traceback" not in run.stderr and undo_kept(), args

    try:
        refused("db.migrate.down", code=0, says="nothing to roll back")
        refused("db.migrate.redo", code=1, says="Error: no migration is applied: nothing to redo")
        assert run_invoke(settings, "db.migrate").returncode == 0
        refused("db.migrate.down", "--steps", "0", code=0, says="nothing to roll back")
        refused("db.migrate.down", "--to", "nope", code=1, says="Error: --to nope: no migration")
        refused("db.migrate.down", "--to", "nope", code=1, says="20250101000800")
        (settings.migrations_dir / "20991231000000_add_no_down.sql").write_text(
            "-- +migrate Up\nCREATE TABLE no_down (id int);\n"
        )
        assert run_invoke(settings, "db.migrate").returncode == 0
        refused("db.migrate.down", "--steps", "2", code=1, says="has no Down section")
        refused("db.migrate.redo", code=1, says="has no Down section")
        with connect(scratch_db, autocommit=True) as conn:  # nothing half rolled back
            assert conn.execute("SELECT to_regclass('no_down') IS NOT NULL").fetchone() == (True,)

        (settings.migrations_dir / "20991231000000_add_no_down.sql").write_text(
            "-- +migrate Up\nCREATE TABLE no_down (id int);\n"
            "-- +migrate Down\nDROP TABLE no_down;\n"
        )
        assert run_invoke(settings, "db.migrate.accept").returncode == 0
        run = run_invoke(settings, "db.migrate.down", "--to", "20250101000700")
        assert run.returncode == 0, run.stderr
        assert "saved the undo" in run.stderr and "rolled back 2 migration(s)" in run.stderr
        assert not undo_kept()  # the test can tell a kept undo from a replaced one
    finally:
        with connect(admin, autocommit=True) as conn:
            drop_database(conn, undo.dbname)
