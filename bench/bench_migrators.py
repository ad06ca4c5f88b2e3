"""Test databases for projects that migrate with Django or Alembic, side by side in one run.

    pip install -e ".[dev,bench]"    # pytest-django, for the comparison only
    python bench/bench_migrators.py [--tests 200] [--runs 2]

One native server for everything. Django (tests/fixtures/django_project): the same N-test suite,
each test inserting a row and counting rows through a plain cursor, run with devdb's `fresh_db`
(a new database per test, cloned from the template) and `db_conn`, and with pytest-django's
`django_db` (one test database), `--create-db` and `--reuse-db`. Figures: the
wall time of the whole pytest process (total) and per test (the sum of the tests' setup, call
and teardown from pytest's JUnit XML, divided by N). Like for like: `fresh_db` (a database of its
own, real commits) against pytest-django's `transaction=True` (tables flushed after each test;
unlike fresh_db's template, the data migration's rows are gone after the first test; with
`serialized_rollback=True` a second `--reuse-db` session found them gone here too);
`db_conn` (rolled back) against `django_db`. `--create-db` includes Django's migrate.

Alembic (tests/fixtures/alembic_project): `fresh_db`'s cost per test, as bench_reset measures
it (a suite with `fresh_db` minus the same suite without), target <= 30 ms; and `db.reset` after
an unchanged digest, with the number of times Alembic ran (its env.py counts runs): target 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
DEVDB_SUITE = """
import pytest

COUNT = "SELECT count(*) FROM catalog_category WHERE slug = %s"

@pytest.mark.parametrize("n", range({n}))
def test_devdb({fixture}, n):
    {fixture}.execute("INSERT INTO catalog_category (slug, name) VALUES (%s, 'x')", (f"s{{n}}",))
    count = {fixture}.execute(COUNT, (f"s{{n}}",)).fetchone()
    assert count == (1,)
"""
DJANGO_SUITE = """
import pytest
from django.db import connection

COUNT = "SELECT count(*) FROM catalog_category WHERE slug = %s"

@pytest.mark.django_db(transaction={transaction})
@pytest.mark.parametrize("n", range({n}))
def test_django_db(n):
    with connection.cursor() as cur:
        cur.execute("INSERT INTO catalog_category (slug, name) VALUES (%s, 'x')", [f"s{{n}}"])
        cur.execute(COUNT, [f"s{{n}}"])
        assert cur.fetchone() == (1,)
"""


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def project(fixture: str, root: Path, env_lines: dict[str, str]) -> None:
    shutil.copytree(FIXTURES / fixture, root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "tasks.py").write_text("from devdb.tasks import ns\nnamespace = ns\n")
    (root / ".env").write_text("".join(f"{k}={v}\n" for k, v in env_lines.items()))
    (root / "benchtests").mkdir()


def pytest_run(root: Path, env: dict[str, str], *args: str) -> tuple[float, float]:
    """(wall seconds of the process, seconds summed over the tests' setup/call/teardown)."""
    report = root / "junit.xml"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider"]
    started = time.perf_counter()
    out = subprocess.run(
        [*cmd, f"--junitxml={report}", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if out.returncode != 0:
        sys.exit(f"pytest {' '.join(args)} failed:\n{out.stdout[-3000:]}{out.stderr[-3000:]}")
    tests = ET.parse(report).getroot().iter("testcase")
    return wall, sum(float(t.get("time", 0)) for t in tests)


def invoke(root: Path, env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "invoke", *args], cwd=root, env=env, check=True)
    return time.perf_counter() - started


def django_side_by_side(root: Path, env: dict[str, str], url: str, n: int, runs: int) -> None:
    tests = root / "benchtests"
    for fixture in ("fresh_db", "db_conn"):
        (tests / f"test_{fixture}.py").write_text(DEVDB_SUITE.format(n=n, fixture=fixture))
    for name, transaction in (("rollback", False), ("transactional", True)):
        suite = DJANGO_SUITE.format(n=n, transaction=transaction)
        (tests / f"test_django_{name}.py").write_text(suite)
    ours = ("-p", "no:django")
    theirs = ("-p", "no:devdb", "--ds", "shopsite.settings")
    django_env = env | {"DATABASE_URL": url}

    def repeat(run_env: dict[str, str], *args: str) -> list[tuple[float, float]]:
        return [pytest_run(root, run_env, *args) for _ in range(runs)]

    rollback, transactional = (
        "benchtests/test_django_rollback.py",
        "benchtests/test_django_transactional.py",
    )
    rows = {
        "devdb fresh_db, first run (builds the template)": [
            pytest_run(root, env, *ours, "benchtests/test_fresh_db.py")
        ],
        "devdb fresh_db (a new database per test)": repeat(
            env, *ours, "benchtests/test_fresh_db.py"
        ),
        "devdb db_conn (rolled back per test)": repeat(env, *ours, "benchtests/test_db_conn.py"),
        "pytest-django --create-db, django_db": repeat(
            django_env, *theirs, "--create-db", rollback
        ),
        "pytest-django --reuse-db, django_db": repeat(django_env, *theirs, "--reuse-db", rollback),
        "pytest-django --reuse-db, transaction=True": repeat(
            django_env, *theirs, "--reuse-db", transactional
        ),
    }
    print(f"\nDjango, {n} tests, one process each (median of {runs} runs; load {load()}):")
    print(f"  {'':58} {'total':>9} {'per test':>10}")
    for label, figures in rows.items():
        total = statistics.median(w for w, _ in figures)
        per_test = statistics.median(t for _, t in figures) / n
        print(f"  {label:58} {total:8.2f}s {per_test * 1000:8.1f}ms")
    from bench_reset import fixture_cost

    extra, with_pytest = fixture_cost(root, env, n)
    print(
        f"  fresh_db, measured as for Alembic below: {extra * 1000:.1f} ms per test "
        f"({with_pytest * 1000:.1f} ms including pytest itself)"
    )


def alembic_figures(root: Path, env: dict[str, str], n: int, runs: int) -> None:
    from bench_reset import fixture_cost  # the same measure as for devdb's own migrations

    extra, total = fixture_cost(root, env, n)
    print(f"\nAlembic (load {load()}):")
    print(
        f"  fresh_db: {extra * 1000:.1f} ms per test over {n} tests "
        f"({total * 1000:.1f} ms including pytest itself; target <= 30 ms)"
    )
    log = Path(env["ALEMBIC_RUN_LOG"])
    first = invoke(root, env, "db.reset", "--yes")
    ran_before = len(log.read_text().splitlines())
    resets = [invoke(root, env, "db.reset", "--yes") for _ in range(runs)]
    ran = len(log.read_text().splitlines()) - ran_before
    print(f"  first db.reset (builds the dev template with Alembic): {first:.2f} s")
    print(
        f"  db.reset, digest unchanged: median {statistics.median(resets):.2f} s over {runs} "
        f"runs; Alembic ran {ran} time(s) (target: 0)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--runs", type=int, default=2)
    opts = parser.parse_args()
    from devdb import server
    from devdb.backends.native import NativeBackend
    from devdb.settings import load_settings

    print(f"load average at start: {load()}")
    tmp = Path(tempfile.mkdtemp(prefix="devdb-bench-migrators-"))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("DEVDB_", "PYTEST_"))}
    base_env.pop("DATABASE_URL", None)
    django = tmp / "shopsite"
    project("django_project", django, {"DEVDB_MIGRATOR": "django", "DEVDB_BACKEND": "native"})
    settings = load_settings(root=django, environ=base_env)
    try:
        conninfo = server.up(settings).conninfo
        django_side_by_side(
            django, base_env, conninfo.url(show_password=True), opts.tests, opts.runs
        )
        shop = tmp / "shop"
        project("alembic_project", shop, {"DEVDB_MIGRATOR": "alembic"})
        alembic_env = base_env | {
            "DEVDB_BACKEND": "external",
            "DATABASE_URL": conninfo.url(show_password=True, dbname="shop"),
            "DEVDB_DATABASE": "shop",
            "ALEMBIC_RUN_LOG": str(tmp / "alembic-runs.log"),
        }
        alembic_figures(shop, alembic_env, opts.tests, opts.runs)
        print(f"\nload average at the end: {load()}")
    finally:
        NativeBackend(settings).remove()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
