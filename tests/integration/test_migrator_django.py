"""The django migrator against a real Django project with two apps (tests/fixtures/
django_project) on a real server: db.setup, db.reset, fresh_db/db_conn under pytest -n 2, seeds on
top, db.schema.check, db.migrate.verify, status and downs (`migrate APP zero`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devdb.conninfo import ConnInfo
from devdb.settings import Settings
from tests.conftest import run_invoke
from tests.integration.adopted import adopt, drop_templates, ok, query, run_plugin

APPLIED = "SELECT app || '.' || name FROM django_migrations ORDER BY id"
CHECKS = """
def check(conn):
    assert conn.execute("SELECT count(*) FROM django_migrations").fetchone() == (5,)
    assert conn.execute("SELECT count(*) FROM catalog_category").fetchone() == (3,)
    assert conn.execute("SELECT count(*) FROM catalog_product").fetchone() == (5,)
    assert conn.execute("SELECT to_regclass('public.mine')").fetchone() == (None,)
"""


@pytest.fixture
def project(
    tmp_path: Path, scratch_db: ConnInfo, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    monkeypatch.setenv("DJANGO_RUN_LOG", str(tmp_path / "django-runs.log"))  # manage.py counts
    yield adopt("django_project", tmp_path / "shopsite", scratch_db, DEVDB_MIGRATOR="django")
    drop_templates(scratch_db)


def _migrate_runs(settings: Settings) -> int:
    log = settings.root.parent / "django-runs.log"
    return log.read_text().splitlines().count("migrate") if log.is_file() else 0


def test_setup_reset_and_seeds_on_top(project: Settings, scratch_db: ConnInfo) -> None:
    out = ok(project, "db.setup")
    assert "applied 5 migration(s)" in out
    assert "Applying orders.0002_order_status... OK" in out  # Django's own output
    assert query(scratch_db, APPLIED)[-1] == ("orders.0002_order_status",)
    assert query(scratch_db, "SELECT count(*) FROM catalog_product") == [(5,)]

    query(scratch_db, "DELETE FROM catalog_product; DROP TABLE orders_orderline")
    ok(project, "db.reset", "--yes")
    assert query(scratch_db, "SELECT count(*) FROM catalog_product") == [(5,)]
    assert query(scratch_db, "SELECT to_regclass('public.orders_orderline')::text") == [
        ("orders_orderline",)
    ]
    runs = _migrate_runs(project)
    ok(project, "db.reset", "--yes")
    assert _migrate_runs(project) == runs  # unchanged digest: a clone, Django never ran


def test_fresh_db_and_db_conn_under_xdist(project: Settings) -> None:
    run = run_plugin(project, CHECKS)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "8 passed" in run.stdout


def test_schema_check_and_verify(project: Settings) -> None:
    ok(project, "db.schema.dump")
    schema = (project.root / "schema.sql").read_text()
    assert "CREATE TABLE public.orders_orderline" in schema
    assert "matches the migrations" in ok(project, "db.schema.check")
    out = ok(project, "db.migrate.verify")
    assert "all 5 migration(s) verified" in out
    models = project.root / "catalog" / "migrations" / "0003_product_active.py"
    models.write_text(models.read_text().replace("default=True", "default=True, db_index=True"))
    check = run_invoke(project, "db.schema.check")
    assert check.returncode == 1
    assert "catalog_product_active" in check.stdout


def test_status_and_downs(project: Settings, scratch_db: ConnInfo) -> None:
    assert "nothing to roll back" in ok(project, "db.migrate.down")  # and no undo saved
    ok(project, "db.migrate")
    unknown = run_invoke(project, "db.migrate.down", "--to", "nope")
    assert unknown.returncode == 1, unknown.stderr
    assert unknown.stderr.startswith("Error: --to nope: the django migrator knows no such")
    assert "orders.0002_order_status" in unknown.stderr and "saved the undo" not in unknown.stderr
    assert "5 applied, 0 pending" in ok(project, "db.migrate.status")
    assert "rolled back 1 migration(s)" in ok(project, "db.migrate.down")
    applied = [str(r[0]) for r in query(scratch_db, APPLIED)]
    assert len(applied) == 4
    assert "orders.0002_order_status" not in applied  # the newest, in Django's plan
    ok(project, "db.migrate.down", "--to", "orders")  # migrate orders zero
    assert [r for r in query(scratch_db, APPLIED) if str(r[0]).startswith("orders.")] == []
    assert "3 applied, 2 pending" in ok(project, "db.migrate.status")
    ok(project, "db.migrate", "--to", "orders.0001_initial")  # migrate orders 0001_initial
    assert "4 applied, 1 pending" in ok(project, "db.migrate.status")
    new = run_invoke(project, "db.migrate.new", "add_coupons")
    assert new.returncode == 1
    assert new.stderr.startswith("Error: the django migrator cannot write a new migration")
    assert "makemigrations" in new.stderr
