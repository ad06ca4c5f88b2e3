"""The alembic migrator against a real Alembic project (tests/fixtures/alembic_project) on a real
server: db.setup, db.reset, fresh_db/db_conn under pytest -n 2, seeds on top, db.schema.check,
db.migrate.verify, status/down/new, and the one-line "cannot" of what Alembic lacks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from devdb.conninfo import ConnInfo, parse_url
from devdb.settings import Settings
from tests.conftest import run_invoke
from tests.integration.adopted import adopt, drop_templates, ok, query, run_plugin

HEAD = "d4b6c8e0f2a3"
CHECKS = """
def check(conn):
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("d4b6c8e0f2a3",)
    assert conn.execute("SELECT count(*) FROM shop.order_statuses").fetchone() == (3,)
    assert conn.execute("SELECT count(*) FROM shop.customers").fetchone() == (4,)
    assert conn.execute("SELECT count(*) FROM shop.orders").fetchone() == (6,)
    assert conn.execute("SELECT to_regclass('public.mine')").fetchone() == (None,)
"""


@pytest.fixture
def project(
    tmp_path: Path, scratch_db: ConnInfo, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    settings = adopt(
        "alembic_project", tmp_path / "shop-alembic", scratch_db, DEVDB_MIGRATOR="alembic"
    )
    monkeypatch.setenv("ALEMBIC_RUN_LOG", str(tmp_path / "alembic-runs.log"))  # env.py counts runs
    yield settings
    drop_templates(scratch_db)


def _runs(settings: Settings) -> int:
    log = settings.root.parent / "alembic-runs.log"
    return len(log.read_text().splitlines()) if log.is_file() else 0


def test_setup_reset_and_seeds_on_top(project: Settings, scratch_db: ConnInfo) -> None:
    out = ok(project, "db.setup")
    assert "applied 4 migration(s)" in out
    assert "Running upgrade c3a5b7c9d1e2 -> d4b6c8e0f2a3" in out  # Alembic's own log line
    assert query(scratch_db, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert query(scratch_db, "SELECT count(*) FROM shop.orders") == [(6,)]  # test profile seeds
    app = parse_url(run_invoke(project, "db.url", "--role", "app").stdout.strip())
    assert query(app, "SELECT count(*) FROM shop.orders") == [(6,)]  # grants follow Alembic
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        query(app, "CREATE TABLE shop.not_yours (x int)")

    query(scratch_db, "DELETE FROM shop.orders; ALTER TABLE shop.customers ADD COLUMN junk int")
    before = _runs(project)
    ok(project, "db.reset", "--yes")
    assert _runs(project) == before + 1  # the template was built: Alembic ran once
    assert query(scratch_db, "SELECT count(*) FROM shop.orders") == [(6,)]
    assert query(
        scratch_db,
        "SELECT count(*) FROM information_schema.columns WHERE column_name = 'junk'",
    ) == [(0,)]
    ok(project, "db.reset", "--yes")
    assert _runs(project) == before + 1  # unchanged digest: a clone, Alembic never ran


def test_a_new_revision_changes_the_digest_and_rebuilds(project: Settings) -> None:
    from devdb.migrator import digest

    first = digest(project)
    versions = project.root / "alembic" / "versions"
    shutil.copy(versions / "d4b6c8e0f2a3_customers_display_name.py", project.root / "keep.py")
    (versions / "d4b6c8e0f2a3_customers_display_name.py").write_text(
        (project.root / "keep.py").read_text().replace("split_part(name, ' ', 1)", "name")
    )
    assert digest(project) != first  # a migration's content keys the template


def test_fresh_db_and_db_conn_under_xdist(project: Settings) -> None:
    run = run_plugin(project, CHECKS)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "8 passed" in run.stdout
    assert _runs(project) == 1  # two workers, one template build


def test_schema_dump_and_check(project: Settings) -> None:
    ok(project, "db.schema.dump")
    schema = (project.root / "schema.sql").read_text()
    assert "CREATE TABLE shop.orders" in schema
    assert "CREATE TABLE public.alembic_version" in schema
    assert "matches the migrations" in ok(project, "db.schema.check")
    target = project.root / "alembic" / "versions" / "d4b6c8e0f2a3_customers_display_name.py"
    target.write_text(
        target.read_text().replace(
            'sa.Column("display_name", sa.Text)', 'sa.Column("display_name", sa.String(40))'
        )
    )
    check = run_invoke(project, "db.schema.check")
    assert check.returncode == 1
    assert "display_name character varying(40)" in check.stdout


def test_verify_status_down_and_new(project: Settings) -> None:
    out = ok(project, "db.migrate.verify")
    assert "all 4 migration(s) verified" in out
    assert "nothing to roll back" in ok(project, "db.migrate.down")  # and no undo saved
    ok(project, "db.migrate")
    unknown = run_invoke(project, "db.migrate.down", "--to", "nope")
    assert unknown.returncode == 1, unknown.stderr
    assert unknown.stderr.startswith("Error: --to nope: the alembic migrator knows no such")
    assert HEAD in unknown.stderr and "saved the undo" not in unknown.stderr
    status = ok(project, "db.migrate.status")
    assert "4 applied, 0 pending" in status
    assert "rolled back 1 migration(s)" in ok(
        project, "db.migrate.down", "--yes" if False else "--steps=1"
    )
    assert "3 applied, 1 pending" in ok(project, "db.migrate.status")
    assert "applied 1 migration(s)" in ok(project, "db.migrate", "--to", HEAD)
    new = run_invoke(project, "db.migrate.new", "add_coupons")
    assert new.returncode == 0, new.stderr
    path = Path(new.stdout.strip().splitlines()[-1])
    assert path.parent == project.root / "alembic" / "versions"
    assert "add_coupons" in path.read_text()


def test_verify_names_what_a_bad_downgrade_leaves_behind(project: Settings) -> None:
    target = project.root / "alembic" / "versions" / "b2e4d6f8a0c1_create_orders_and_statuses.py"
    text = target.read_text()
    target.write_text(text.replace('    op.drop_table("order_statuses", schema="shop")\n', ""))
    run = run_invoke(project, "db.migrate.verify")
    assert run.returncode == 1
    assert "Down leaves behind TABLE shop.order_statuses" in run.stdout
    assert "Error: 1 of 4 migration(s) fail verification" in run.stderr, run.stdout
    assert "ok    d4b6c8e0f2a3" in run.stdout  # the steps after it are still verified


def test_what_alembic_cannot_do_is_one_line(project: Settings) -> None:
    for args in (("db.migrate.redo",), ("db.migrate.accept",), ("db.migrate", "--dry-run")):
        run = run_invoke(project, *args)
        assert run.returncode == 1
        assert run.stderr.startswith("Error: the alembic migrator cannot "), run.stderr
        assert "Traceback" not in run.stderr


def test_init_in_an_alembic_project_then_setup(project: Settings, scratch_db: ConnInfo) -> None:
    (project.root / ".env").unlink()
    (project.root / "tasks.py").unlink()
    init = subprocess.run(
        [sys.executable, "-m", "devdb.cli", "init"],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    assert "alembic.ini found: alembic migrates" in init.stdout
    assert not (project.root / "migrations").exists()
    (project.root / ".env").write_text((project.root / ".env").read_text() + "DEVDB_PROFILE=test\n")
    assert "applied 4 migration(s)" in ok(project, "db.setup")
    assert query(scratch_db, "SELECT count(*) FROM shop.customers") == [(4,)]
