"""Copies whose cost does not grow with the data: reset, snapshots and fresh_db at four scales,
on ext4 and on a reflink XFS file system.

    sudo python bench/bench_copies.py [--scales 1,5,10,20] [--runs 3] [--tests 20] [--fs ext4,xfs]

For each file system (ext4 and a reflink XFS, each made on a sparse loop file and mounted by this
script, which needs root, and unmounted at the end; or ``tmp``, the temporary folder's own: see
filesystems.py) a native PostgreSQL 18 server runs a copy of the demo project; `db.up` probes
whether copies can be clones (`file_copy_method = clone`). For each demo scale:

- `invoke db.reset --yes` (whole command, wall) with the background spare ready, and with no
  spare (the template is copied: its cost is the copy's);
- `invoke db.snapshot.save` (a copy of the database) and the disk space one save takes;
- `invoke db.snapshot.restore --yes` with a spare ready and without;
- `fresh_db` per test (demo profile at that scale): a pytest run of N tests minus one of N tests
  with only the session fixture, divided by N;
- `CREATE DATABASE ... TEMPLATE` of the template with each strategy and method (file_copy +
  clone, file_copy + copy, wal_log), which is what the choice in devdb/copies/clone.py rests on.

Medians of --runs, with the load average (the machine is shared: figures are noisy).
Targets (issue 15): on reflink, a reset without a spare and a snapshot save of a 1 GB database
<= 0.5 s; on ext4 with PostgreSQL 18 <= 2 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from bench_reset import (  # noqa: E402 - after the path set-up
    drop_spares,
    fixture_cost,
    invoke,
    make_project,
    wait_for_spares,
    wall,
)
from filesystems import fs_type, native_project  # noqa: E402 - after the path set-up


def load_avg() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def project(root: Path) -> dict[str, str]:
    env = make_project(root)
    env["DEVDB_PROFILE"] = "demo"
    return env


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms"


def timed_runs(
    runs: int, before: object, command: list[str], root: Path, env: dict[str, str]
) -> list[float]:
    out = []
    for _ in range(runs):
        before()  # type: ignore[operator]
        out.append(wall(command, root, env))
    return out


def strategies(settings: object, template: str, runs: int) -> str:
    """ms per CREATE DATABASE of ``template`` with file_copy + clone / + copy, and wal_log."""
    from devdb.copies.reset import project_conninfo
    from devdb.database import connect

    info = project_conninfo(settings)  # type: ignore[arg-type]
    cases = {"clone": "file_copy", "copy": "file_copy", "wal_log": "wal_log"}
    times: dict[str, list[float]] = {case: [] for case in cases}
    with connect(info.for_database("postgres"), autocommit=True) as conn:
        for _ in range(runs):
            for case, strategy in cases.items():
                method = "copy" if case == "wal_log" else case
                conn.execute(f"SET file_copy_method = {method}".encode())
                started = time.perf_counter()
                stmt = f'CREATE DATABASE bench_strategy TEMPLATE "{template}" STRATEGY {strategy}'
                conn.execute(stmt.encode())
                times[case].append(time.perf_counter() - started)
                conn.execute("DROP DATABASE bench_strategy")
        conn.execute("RESET file_copy_method")
    return ", ".join(f"{case} {median_ms(v)}" for case, v in times.items())


def settled_free(path: Path) -> int:
    """Free bytes once the file system has finished freeing what was dropped (XFS frees the
    blocks of unlinked files in the background): two readings 0.5 s apart agree."""
    last = -1
    for _ in range(40):
        subprocess.run(["sync"], check=False)
        free = shutil.disk_usage(path).free
        if free == last:
            return free
        last = free
        time.sleep(0.5)
    return last


def bench_scale(root: Path, env: dict[str, str], scale: str, runs: int, tests: int) -> None:
    from devdb.copies.dbops import get_meta
    from devdb.copies.reset import project_conninfo
    from devdb.copies.snapshots import snapshot_database
    from devdb.database import connect
    from devdb.settings import load_settings

    env = {**env, "DEVDB_SCALE": scale}
    settings = load_settings(root=root, environ=env)
    reset = invoke("db.reset", "--yes")
    build = wall(reset, root, env)
    info = project_conninfo(settings)
    with connect(info.for_database("postgres"), autocommit=True) as conn:
        template = str(get_meta(conn, info.dbname).get("template"))
        row = conn.execute("SELECT pg_database_size(%s)", (template,)).fetchone()
    size = int(row[0]) if row else 0
    print(
        f"  scale {scale}: template {size / 1e6:.0f} MB, built in {build:.1f} s; load {load_avg()}"
    )

    def no_spare() -> None:
        wait_for_spares(settings)
        drop_spares(settings)

    with_spare = timed_runs(runs, lambda: wait_for_spares(settings), reset, root, env)
    without = timed_runs(runs, no_spare, reset, root, env)
    print(f"    db.reset: spare ready {median_ms(with_spare)}, no spare {median_ms(without)}")
    wait_for_spares(settings)
    save = invoke("db.snapshot.save", "bench", "--replace")
    saves = timed_runs(runs, lambda: wait_for_spares(settings), save, root, env)
    wait_for_spares(settings)
    drop_spares(settings)
    free = settled_free(root)
    wall(invoke("db.snapshot.save", "bench2", "--replace"), root, env)
    used = free - settled_free(root)
    restore = invoke("db.snapshot.restore", "bench", "--yes")
    snap = snapshot_database(settings.database, "bench")
    wall(restore, root, env)  # the first restore of a snapshot has no spare; it makes one
    restores = timed_runs(runs, lambda: wait_for_spares(settings, snap), restore, root, env)

    def no_snap_spare() -> None:
        wait_for_spares(settings, snap)
        drop_spares(settings)

    cold = timed_runs(runs, no_snap_spare, restore, root, env)
    wait_for_spares(settings, snap)
    print(
        f"    db.snapshot.save {median_ms(saves)} (one save took {used / 1e6:.0f} MB of disk); "
        f"restore: spare ready {median_ms(restores)}, no spare {median_ms(cold)}"
    )
    extra, _ = fixture_cost(root, {**env, "PYTEST_ADDOPTS": "--devdb-profile demo"}, tests)
    print(f"    fresh_db: {extra * 1000:.0f} ms per test over {tests} tests")
    print(
        f"    CREATE DATABASE TEMPLATE: {strategies(settings, template, runs)}; load {load_avg()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,5,10,20")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tests", type=int, default=20)
    parser.add_argument("--fs", default="ext4,xfs")
    opts = parser.parse_args()

    from devdb import server

    print(f"load average at start: {load_avg()}")
    for kind in opts.fs.split(","):
        with native_project(kind, "devdb-bench-copies-", project) as (root, env, settings):
            method = server.status(settings).get("copy_method")
            print(f"{kind} ({fs_type(root)}): copies are {method}")
            for scale in opts.scales.split(","):
                bench_scale(root, env, scale, opts.runs, opts.tests)
    print(f"load average at the end: {load_avg()}")


if __name__ == "__main__":
    main()
