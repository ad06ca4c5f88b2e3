"""Benchmark: 300 small migrations (a table, an index and a foreign key each) applied to an empty
database by devdb and by dbmate, side by side on the same server; then `db.migrate.status` with
300 applied, and the library call of `db.migrate.verify` over all 300 (Up, Down, compare, Up).

    python bench/bench_migrate.py [--count 300] [--rounds 3] [--dbmate PATH]

dbmate is found on PATH, at --dbmate, or installed with `npm install --prefix <temp dir> dbmate`.
A native server is started in a temporary project and removed at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from devdb import server
from devdb.backends.native import NativeBackend
from devdb.conninfo import ConnInfo
from devdb.database import ADMIN_DB, connect, create_database, drop_database
from devdb.migrations import migrate
from devdb.migrations.verify import verify
from devdb.settings import Settings, load_settings


def migration_sql(i: int) -> tuple[str, str]:
    parent = f"REFERENCES bench_{i - 1:04d} (id)" if i > 0 else ""
    up = (
        f"CREATE TABLE bench_{i:04d} (\n"
        "  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),\n"
        f"  parent_id uuid {parent},\n"
        "  name text NOT NULL,\n"
        "  created_at timestamptz NOT NULL DEFAULT now()\n);\n"
        f"CREATE INDEX bench_{i:04d}_parent_id_idx ON bench_{i:04d} (parent_id);\n"
    )
    return up, f"DROP TABLE bench_{i:04d};\n"


def write_files(root: Path, count: int) -> tuple[Path, Path]:
    ours, theirs = root / "migrations", root / "dbmate"
    ours.mkdir()
    theirs.mkdir()
    for i in range(count):
        up, down = migration_sql(i)
        name = f"2025{i // 60:04d}{i % 60:02d}0000_create_bench_{i:04d}.sql"
        (ours / name).write_text(f"-- +migrate Up\n{up}\n-- +migrate Down\n{down}")
        (theirs / name).write_text(f"-- migrate:up\n{up}\n-- migrate:down\n{down}")
    return ours, theirs


def find_dbmate(given: str | None, scratch: Path) -> str:
    if given:
        return given
    found = shutil.which("dbmate")
    if found:
        return found
    prefix = scratch / "npm"
    print("installing dbmate with npm ...", file=sys.stderr)
    subprocess.run(
        ["npm", "install", "--silent", "--prefix", str(prefix), "dbmate"],
        check=True,
        capture_output=True,
    )
    return str(prefix / "node_modules" / ".bin" / "dbmate")


def fresh_db(admin: ConnInfo, name: str) -> ConnInfo:
    with connect(admin.for_database(ADMIN_DB), autocommit=True) as conn:
        drop_database(conn, name)
        create_database(conn, name)
    return admin.for_database(name)


def timed(func: Callable[..., object], *args: object) -> float:
    started = time.perf_counter()
    func(*args)
    return time.perf_counter() - started


def run_dbmate(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def cli_env(project: Settings, target: ConnInfo) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env.update(
        DEVDB_BACKEND="external",
        DATABASE_URL=target.url(show_password=True),
        DEVDB_DATABASE=target.dbname,
        DEVDB_ROOT=str(project.root),
        NO_COLOR="1",
    )
    return env


def run_cli(project: Settings, target: ConnInfo, *task: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "invoke", *task],
        cwd=project.root,
        env=cli_env(project, target),
        check=True,
        capture_output=True,
    )


def bench(project: Settings, admin: ConnInfo, dbmate: str, theirs: Path, rounds: int) -> None:
    results: dict[str, list[float]] = {"devdb (library call)": [], "devdb (invoke db.migrate)": []}
    results["dbmate up"] = []
    for _ in range(rounds):
        target = fresh_db(admin, "bench_dbmate")
        url = target.url(show_password=True) + "?sslmode=disable"
        cmd = [dbmate, "--url", url, "--migrations-dir", str(theirs), "--no-dump-schema", "up"]
        results["dbmate up"].append(timed(run_dbmate, cmd))
        target = fresh_db(admin, "bench_devdb_lib")
        results["devdb (library call)"].append(timed(migrate, project, target))
        target = fresh_db(admin, "bench_devdb_cli")
        results["devdb (invoke db.migrate)"].append(timed(run_cli, project, target, "db.migrate"))
    base = statistics.median(results["dbmate up"])
    print(f"{'runner':<28} {'median s':>9} {'vs dbmate':>10}   (rounds: {rounds})")
    for name, times in results.items():
        med = statistics.median(times)
        print(f"{name:<28} {med:>9.3f} {med / base:>9.2f}x")
    walls, cpus = [], []
    for _ in range(7):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        walls.append(timed(run_cli, project, target, "db.migrate.status"))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    print(
        f"{'invoke db.migrate.status':<28} {statistics.median(walls):>9.3f}   "
        f"(300 applied; min {min(walls):.3f} s; client CPU {statistics.median(cpus):.3f} s)"
    )
    verdicts: list[object] = []
    took = timed(lambda: verdicts.extend(verify(project, admin)))
    print(f"{'verify (library call)':<28} {took:>9.3f}   ({len(verdicts)} migrations checked)")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dbmate")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="devdb-bench-") as tmp:
        root = Path(tmp) / "proj"
        root.mkdir()
        (root / "tasks.py").write_text("from devdb.tasks import ns\nnamespace = ns\n")
        _, theirs = write_files(root, args.count)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
        env.pop("DATABASE_URL", None)
        settings = load_settings(root=root, environ={**env, "DEVDB_BACKEND": "native"})
        dbmate = find_dbmate(args.dbmate, Path(tmp))
        admin = server.up(settings).conninfo
        try:
            bench(settings, admin, dbmate, theirs, args.rounds)
        finally:
            NativeBackend(settings).remove()


if __name__ == "__main__":
    main()
