"""Benchmark: db.reset, db.snapshot.restore and the fresh_db fixture (issue 5's speed targets).

    python bench/bench_reset.py [--profile demo] [--runs 5] [--tests 200]

Starts a throwaway native server for a copy of the demo project, then measures, side by side:

- ``invoke db.reset --yes`` when nothing changed (whole command, wall clock), against rebuilding
  (drop, create, migrate, seed) in-process: no interpreter start-up for the rebuild, so the ratio
  is conservative. Runs wait until the background spare copy is made (a developer resets seconds
  apart); one more run with the spares dropped shows the copying path;
- ``invoke db.snapshot.restore NAME --yes`` (whole command, wall clock), the same way;
- the ``fresh_db`` fixture (first, on the fresh server): a pytest run of N tests using it minus a
  run of N tests using only the session fixture, divided by N.

Targets: reset <= 0.5 s and >= 20x faster than rebuilding; restore <= 0.5 s; fresh_db <= 30 ms.
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
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def make_project(root: Path) -> dict[str, str]:
    root.mkdir(parents=True)
    (root / "tasks.py").write_text("from devdb.tasks import ns\nnamespace = ns\n")
    for folder in ("migrations", "seeds"):
        shutil.copytree(REPO / folder, root / folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env.pop("DATABASE_URL", None)
    env["DEVDB_BACKEND"] = "native"
    return env


def wall(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{proc.stderr}")
    return seconds


def invoke(*args: str) -> list[str]:
    return [sys.executable, "-m", "invoke", *args]


def rebuild(settings: object, profile: str) -> float:
    """Drop, create, migrate, seed: what a reset without templates would do."""
    from devdb.copies.reset import project_conninfo
    from devdb.database import connect, create_database, drop_database
    from devdb.migrations import migrate
    from devdb.seeds import seed

    info = project_conninfo(settings)  # type: ignore[arg-type]
    started = time.perf_counter()
    with connect(info.for_database("postgres"), autocommit=True) as conn:
        drop_database(conn, info.dbname)
        create_database(conn, info.dbname, owner=info.user)
    migrate(settings, info)  # type: ignore[arg-type]
    seed(settings, info, profile=profile)  # type: ignore[arg-type]
    return time.perf_counter() - started


def wait_for_spares(settings: object, source: str | None = None) -> None:
    """Wait until the background process has made the spare copy of ``source`` (default: the
    template the database was reset from) and dropped the discarded databases."""
    from devdb.copies import names
    from devdb.copies.dbops import get_meta
    from devdb.copies.reset import project_conninfo
    from devdb.copies.spare import APPLICATION, spare_name
    from devdb.database import connect, database_exists

    info = project_conninfo(settings)  # type: ignore[arg-type]
    busy = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
    with connect(info.for_database("postgres"), autocommit=True) as conn:
        source = source or str(get_meta(conn, info.dbname).get("template"))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            row = conn.execute(busy, (APPLICATION,)).fetchone()
            trash = [t for t in names.temporaries(conn) if t.kind == names.TRASH]
            if database_exists(conn, spare_name(source)) and row and row[0] == 0 and not trash:
                return
            time.sleep(0.1)


def drop_spares(settings: object) -> None:
    from devdb.copies.dbops import drop
    from devdb.copies.reset import project_conninfo
    from devdb.copies.spare import SPARE_PREFIX
    from devdb.database import connect

    info = project_conninfo(settings)  # type: ignore[arg-type]
    with connect(info.for_database("postgres"), autocommit=True) as conn:
        query = "SELECT datname FROM pg_database WHERE starts_with(datname, %s)"
        for (name,) in conn.execute(query, (SPARE_PREFIX,)).fetchall():
            drop(conn, name)


FRESH = """
import pytest

@pytest.mark.parametrize("n", range({n}))
def test_fresh(fresh_db, n):
    fresh_db.execute("SELECT 1")
"""
BASE = """
import pytest

@pytest.mark.parametrize("n", range({n}))
def test_base(devdb_session, n):
    pass
"""


def fixture_cost(root: Path, env: dict[str, str], n: int) -> tuple[float, float]:
    tests = root / "benchtests"
    tests.mkdir(exist_ok=True)
    (tests / "test_fresh.py").write_text(FRESH.format(n=n))
    (tests / "test_base.py").write_text(BASE.format(n=n))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider"]
    wall([*cmd, "benchtests/test_base.py"], root, env)  # builds the test template once
    base = wall([*cmd, "benchtests/test_base.py"], root, env)
    fresh = wall([*cmd, "benchtests/test_fresh.py"], root, env)
    return (fresh - base) / n, fresh / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tests", type=int, default=200)
    opts = parser.parse_args()

    from devdb import server
    from devdb.backends.native import NativeBackend
    from devdb.copies.snapshots import snapshot_database
    from devdb.settings import load_settings

    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    tmp = Path(tempfile.mkdtemp(prefix="devdb-bench-reset-"))
    root = tmp / "benchproj"
    env = make_project(root)
    settings = load_settings(root=root, environ=env, profile=opts.profile)
    try:
        server.up(settings)
        # First, before hundreds of MB of demo copies give the kernel writeback to do (which
        # slows every later file copy for a while: 21 ms became 47-76 ms per test here).
        extra, total = fixture_cost(root, env, opts.tests)
        print(
            f"fresh_db: {extra * 1000:.1f} ms per test over {opts.tests} tests "
            f"({total * 1000:.1f} ms per test including pytest itself; target <= 30 ms)"
        )
        first = wall(invoke("db.reset", "--yes", "--profile", opts.profile), root, env)
        print(f"first db.reset (builds the {opts.profile} template): {first:.2f} s")
        reset_cmd = invoke("db.reset", "--yes", "--profile", opts.profile)
        resets = []
        for _ in range(opts.runs):
            wait_for_spares(settings)  # a developer resets seconds apart, not back to back
            resets.append(wall(reset_cmd, root, env))
        wait_for_spares(settings)
        drop_spares(settings)
        copying = wall(reset_cmd, root, env)
        slow = rebuild(settings, opts.profile)
        median = statistics.median(resets)
        print(
            f"db.reset, nothing changed: median {median:.3f} s, max {max(resets):.3f} s "
            f"over {opts.runs} runs (target <= 0.5 s)"
        )
        print(f"db.reset without a spare copy ready (copies the template): {copying:.3f} s")
        print(f"rebuild (drop, create, migrate, seed): {slow:.2f} s")
        ratio = f"{slow / median:.0f}x (without a spare: {slow / copying:.0f}x)"
        print(f"speed-up: {ratio} (target >= 20x)")

        wall(invoke("db.snapshot.save", "bench", "--replace"), root, env)
        snap = snapshot_database(settings.database, "bench")
        restore_cmd = invoke("db.snapshot.restore", "bench", "--yes")
        restores = []
        for _ in range(opts.runs):
            wait_for_spares(settings, snap)
            restores.append(wall(restore_cmd, root, env))
        wait_for_spares(settings, snap)
        drop_spares(settings)
        copying = wall(restore_cmd, root, env)
        print(
            f"db.snapshot.restore: median {statistics.median(restores):.3f} s, "
            f"max {max(restores):.3f} s (target <= 0.5 s); without a spare: {copying:.3f} s"
        )
        wait_for_spares(settings, snap)

        print("load average at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    finally:
        NativeBackend(settings).remove()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
