"""Benchmark: what db.explain adds to the named queries' own execution time (issue 6's target).

    python bench/bench_explain.py [--profile demo] [--runs 5]

Starts a throwaway native server for a copy of the demo project, migrates it and seeds it with the
given profile, then runs the explain pipeline over every query in queries/ several times. For each
run it measures the wall time and subtracts the queries' own time as PostgreSQL reports it
(planning + execution, summed over the queries). What is left is devdb's overhead: connecting,
pinning the plan environment, resolving parameters, the EXPLAIN round trips and JSON, plan
arithmetic, findings, and (second figure) writing the HTML/JSON/Markdown reports.

Target: the overhead (everything, reports included) is <= 1 s. The first run also analyzes the
tables once when seeding left them without statistics; it is reported separately.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--runs", type=int, default=5)
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
            f"(reports included; target <= 1 s); first run {rows[0][0] - rows[0][2]:.3f} s"
        )
    finally:
        NativeBackend(settings).remove()  # type: ignore[arg-type]
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
