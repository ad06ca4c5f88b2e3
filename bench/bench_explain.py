"""Benchmark: what db.explain adds to the named queries' own execution time (issue 6's target),
and what capture (``pytest --devdb-capture``) adds to a test suite's wall time (issue 12's).

    python bench/bench_explain.py [--profile demo] [--runs 5] [--suite-tests 500] [--suite-runs 3]

Starts a throwaway native server for a copy of the demo project, migrates it and seeds it with the
given profile, then runs the explain pipeline over every query in queries/ several times. For each
run it measures the wall time and subtracts the queries' own time as PostgreSQL reports it
(planning + execution, summed over the queries). What is left is devdb's overhead: connecting,
pinning the plan environment, resolving parameters, the EXPLAIN round trips and JSON, plan
arithmetic, findings, and (second figure) writing the HTML/JSON/Markdown reports.

Target: the overhead (everything, reports included) is <= 1 s. The first run also analyzes the
tables once when seeding left them without statistics; it is reported separately.

Capture: the demo app's tests (examples/app) plus a generated module of ``--suite-tests`` tests
(each a login lookup and an activity feed on ``db_conn``, dev seed profile) run under pytest in the
same project, alternately without and with ``--devdb-capture``, ``--suite-runs`` times each after
one warm-up run that builds the test template. Target: capture adds <= 10 % to the wall time
(pytest start-up, capture start/stop, reading the log and writing the report included).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_reset import wall  # the same timed subprocess run

REPO = Path(__file__).resolve().parent.parent


def make_settings(root: Path, profile: str) -> object:
    from devdb.settings import load_settings

    root.mkdir(parents=True)
    (root / "tasks.py").write_text("from devdb.tasks import ns\nnamespace = ns\n")
    for folder in ("migrations", "seeds", "queries"):
        shutil.copytree(REPO / folder, root / folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env.pop("DATABASE_URL", None)
    env["DEVDB_BACKEND"] = "native"
    env["DEVDB_PROFILE"] = profile
    return load_settings(root=root, environ=env)


def one_run(settings: object, conninfo: object) -> tuple[float, float, float, int]:
    """(wall s incl. reports, wall s of the explain step alone, queries' own s, tables analyzed)"""
    from devdb.explain import api

    started = time.perf_counter()
    outcome = api.explain(settings, conninfo=conninfo)  # type: ignore[arg-type]
    total = time.perf_counter() - started
    run = outcome.run
    if run.failed:
        sys.exit(f"query failed: {run.failed[0].name}: {run.failed[0].error}")
    own = sum(r.plan.planning_time + r.plan.execution_time for r in run.results if r.plan) / 1000
    return total, run.wall_ms / 1000, own, len(run.analyzed)


SUITE = """
import demo_app
import pytest


@pytest.mark.parametrize("i", range({count}))
def test_lookup_and_feed(db_conn, i):
    row = db_conn.execute(
        'SELECT id, email FROM "user".users ORDER BY id OFFSET %s LIMIT 1', (i % 50,)
    ).fetchone()
    assert demo_app.user_by_email(db_conn, row[1].upper()) is not None
    demo_app.recent_events(db_conn, row[0])
"""


def run_suite(root: Path, capture: bool) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEVDB_", "PYTEST_"))}
    env.pop("DATABASE_URL", None)
    env["DEVDB_BACKEND"] = "native"
    args = [sys.executable, "-m", "pytest", "app", "-q", "-p", "no:cacheprovider"]
    args += ["--devdb-profile", "dev"] + (["--devdb-capture"] if capture else [])
    return wall(args, root, env)


def bench_capture(root: Path, tests: int, runs: int) -> None:
    shutil.copytree(REPO / "examples" / "app", root / "app")
    (root / "app" / "test_many.py").write_text(SUITE.replace("{count}", str(tests)))
    print(f"\ncapture: {tests + 5} tests, warm-up run (builds the dev template) ...")
    run_suite(root, capture=False)
    plain, captured = [], []
    for i in range(runs):
        plain.append(run_suite(root, capture=False))
        captured.append(run_suite(root, capture=True))
        print(
            f"run {i + 1}: without capture {plain[-1]:.2f} s, with capture {captured[-1]:.2f} s "
            f"(load {os.getloadavg()[0]:.2f})"
        )
    base, cap = statistics.median(plain), statistics.median(captured)
    print(
        f"capture: median {base:.2f} s -> {cap:.2f} s, +{100 * (cap - base) / base:.1f} % "
        f"(target <= 10 %); load average {os.getloadavg()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--suite-tests", type=int, default=500)
    parser.add_argument("--suite-runs", type=int, default=3)
    args = parser.parse_args()

    from devdb import server
    from devdb.backends.native import NativeBackend
    from devdb.migrations import migrate
    from devdb.seeds import seed

    tmp = Path(tempfile.mkdtemp(prefix="bench-explain-"))
    settings = make_settings(tmp / "proj", args.profile)
    try:
        conninfo = server.up(settings).conninfo  # type: ignore[arg-type]
        migrate(settings, conninfo)  # type: ignore[arg-type]
        started = time.perf_counter()
        seed(settings, conninfo, profile=args.profile)  # type: ignore[arg-type]
        print(f"seeded profile {args.profile!r} in {time.perf_counter() - started:.1f} s")
        rows = []
        for i in range(args.runs):
            total, step, own, analyzed = one_run(settings, conninfo)
            rows.append((total, step, own))
            note = f" (analyzed {analyzed} tables first)" if analyzed else ""
            print(
                f"run {i + 1}: wall {total:.3f} s, queries' own {own:.3f} s, "
                f"overhead {total - own:.3f} s (explain step alone {step - own:.3f} s){note}"
            )
        steady = rows[1:] or rows
        overheads = [t - o for t, _, o in steady]
        print(
            f"\n{len(list((REPO / 'queries').glob('*.sql')))} queries, profile {args.profile}: "
            f"median overhead {statistics.median(overheads):.3f} s, max {max(overheads):.3f} s "
            f"(reports included; target <= 1 s); first run {rows[0][0] - rows[0][2]:.3f} s; "
            f"load average {os.getloadavg()}"
        )
        if args.suite_runs:
            bench_capture(tmp / "proj", args.suite_tests, args.suite_runs)
    finally:
        NativeBackend(settings).remove()  # type: ignore[arg-type]
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
