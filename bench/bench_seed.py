"""Seed speed: the demo seeds side by side with ``pg_restore --data-only`` of the same data.

    python bench/bench_seed.py [--scales 1,5] [--rss-scales 1,5,20] [--runs 3] [--workers N]

Starts a throwaway native PostgreSQL server in a temporary project and removes it at the end.
For each scale of ``--scales``:

1. ``devdb.seeds.seed`` of the demo profile into a freshly migrated database, in a child process
   (the whole load: seed import, Faker pools, generation, COPY, merge, foreign-key checks, ledger);
2. ``pg_dump --data-only --format=custom`` of those very tables, then ``pg_restore --data-only``
   (one job) into another freshly migrated database: the anchor, the same rows and indexes;
3. rows/s of both, and devdb's share of pg_restore's rate (target >= 50%).

For each scale of ``--rss-scales`` the child also reports its peak resident memory and its
generator workers' (``ru_maxrss``): flat as the scale grows is the target. Runs alternate devdb
and pg_restore; medians are printed with the load average (other processes share these cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from devdb.conninfo import ConnInfo  # noqa: E402 - after the path set-up
from devdb.settings import Settings  # noqa: E402

SEEDED_SCHEMAS = ("user", "auth", "billing", "audit")  # the demo's tables, not devdb's own

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
from devdb.settings import load_settings
from devdb.conninfo import parse_url
from devdb.seeds import seed
import devdb.seeds.generate as generate
if {workers} > 0:
    generate.WORKERS = {workers}
settings = load_settings(root=Path({root!r}), environ={{"DEVDB_BACKEND": "external"}},
                         backend="external", database_url={url!r})
started = time.perf_counter()
report = seed(settings, parse_url({url!r}), profile="demo", scale={scale}, force=True)
seconds = time.perf_counter() - started
rows = sum(t["rows"] for s in report.seeds for t in s.tables.values())
print(json.dumps({{
    "rows": rows, "seconds": seconds,
    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "workers_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}}))
"""


def load_avg() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def make_settings(root: Path) -> Settings:
    from devdb.settings import load_settings

    root.mkdir(parents=True, exist_ok=True)
    (root / "tasks.py").write_text("from devdb.tasks import ns\nnamespace = ns\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env.pop("DATABASE_URL", None)
    env["DEVDB_BACKEND"] = "native"
    return load_settings(root=root, environ=env)


def demo_project(root: Path) -> Settings:
    root.mkdir(parents=True, exist_ok=True)
    for folder in ("migrations", "seeds"):
        shutil.copytree(REPO / folder, root / folder)
    return make_settings(root)


def migrated_database(server: ConnInfo, project: Settings, name: str) -> ConnInfo:
    """A new database ``name`` with the demo migrations applied (no seed data)."""
    from devdb.database import ADMIN_DB, connect, create_database, drop_database
    from devdb.migrations import migrate

    with connect(server.for_database(ADMIN_DB), autocommit=True) as conn:
        drop_database(conn, name)
        create_database(conn, name)
    info = server.for_database(name)
    migrate(project, info)
    return info


def devdb_seed(root: Path, info: ConnInfo, scale: float, workers: int) -> dict[str, float]:
    code = CHILD.format(
        repo=str(REPO),
        root=str(root),
        url=info.url(show_password=True),
        scale=scale,
        workers=workers,
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"the seed failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def pg_env(info: ConnInfo) -> dict[str, str]:
    env = dict(os.environ)
    env["PGPASSWORD"] = info.password or ""
    return env


def client_args(info: ConnInfo) -> list[str]:
    return ["-h", info.host, "-p", str(info.port), "-U", info.user, "-d", info.dbname]


def dump(bindir: Path, info: ConnInfo, path: Path) -> None:
    schemas = [arg for s in SEEDED_SCHEMAS for arg in ("-n", s)]
    subprocess.run(
        [
            str(bindir / "pg_dump"),
            *client_args(info),
            "--data-only",
            "-Fc",
            "-Z",
            "0",
            *schemas,
            "-f",
            str(path),
        ],
        env=pg_env(info),
        check=True,
    )


def restore(bindir: Path, info: ConnInfo, path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            str(bindir / "pg_restore"),
            *client_args(info),
            "--data-only",
            "-j",
            "1",
            "--exit-on-error",
            str(path),
        ],
        env=pg_env(info),
        check=True,
    )
    return time.perf_counter() - started


def bench_scale(
    server: ConnInfo,
    project: Settings,
    bindir: Path,
    tmp: Path,
    scale: float,
    runs: int,
    workers: int,
) -> dict[str, float]:
    seeded, restored = [], []
    rows = 0
    rss: dict[str, float] = {}
    for run in range(runs):
        info = migrated_database(server, project, "bench_seed")
        result = devdb_seed(project.root, info, scale, workers)
        rows = int(result["rows"])
        seeded.append(result["seconds"])
        rss = result
        if run == 0:
            dump(bindir, info, tmp / "seed.dump")
        target = migrated_database(server, project, "bench_restore")
        restored.append(restore(bindir, target, tmp / "seed.dump"))
    mine, anchor = statistics.median(seeded), statistics.median(restored)
    print(
        f"scale {scale:g}: {rows:,} rows; devdb seed median {mine:.2f} s = {rows / mine:,.0f} "
        f"rows/s; pg_restore --data-only -j 1 median {anchor:.2f} s = {rows / anchor:,.0f} rows/s; "
        f"devdb at {anchor / mine:.0%} of pg_restore (target >= 50%) "
        f"[runs: devdb {', '.join(f'{s:.2f}' for s in seeded)}; "
        f"pg_restore {', '.join(f'{s:.2f}' for s in restored)}] load {load_avg()}"
    )
    return rss


def bench_rss(server: ConnInfo, project: Settings, scale: float, workers: int) -> None:
    info = migrated_database(server, project, "bench_seed")
    result = devdb_seed(project.root, info, scale, workers)
    print(
        f"scale {scale:g}: {int(result['rows']):,} rows in {result['seconds']:.2f} s; peak RSS "
        f"{result['rss_mb']:.0f} MB (seeding process), {result['workers_rss_mb']:.0f} MB "
        f"(largest generator worker) load {load_avg()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,5", help="scales for the pg_restore comparison")
    parser.add_argument("--rss-scales", default="1,5,20", help="scales for peak memory")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=0, help="generator processes (0: auto)")
    args = parser.parse_args()

    from devdb import server
    from devdb.backends.native import NativeBackend
    from devdb.backends.pgbin import find_binaries

    tmp = Path(tempfile.mkdtemp(prefix="devdb-bench-seed-"))
    settings = make_settings(tmp / "server")
    print(f"{datetime.now(UTC):%H:%M:%S} UTC, {os.cpu_count()} cores, load average {load_avg()}")
    up = server.up(settings)
    try:
        project = demo_project(tmp / "demo")
        bindir = find_binaries(settings.pg_bin).bindir
        for scale in [float(s) for s in args.scales.split(",") if s]:
            bench_scale(up.conninfo, project, bindir, tmp, scale, args.runs, args.workers)
        for scale in [float(s) for s in args.rss_scales.split(",") if s]:
            bench_rss(up.conninfo, project, scale, args.workers)
        print(f"load average at the end: {load_avg()} (other processes share these cores)")
    finally:
        NativeBackend(settings).remove()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
