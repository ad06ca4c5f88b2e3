"""Seed speed: devdb seeds vs. the naive loop, and re-running unchanged demo seeds.

    python bench/bench_seed.py [--rows 200000] [--naive-rows 5000] [--skip-demo]

Starts a throwaway native PostgreSQL server in a temporary project and removes it at the end.
Figures:
1. a 5-column Faker-backed table (uuid, name, email, timestamp, city), end to end (seed import,
   Faker pools, generation, COPY, ledger): rows/s;
2. the naive loop on the same table shape (Faker defaults + executemany INSERT): rows/s, and
   the ratio;
3. the demo profile: first load, then `invoke db.seed --profile demo` again (wall, the whole
   command, unchanged seeds).
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
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from devdb.conninfo import ConnInfo  # noqa: E402 - after the path set-up
from devdb.settings import Settings  # noqa: E402

TABLE_SQL = """
CREATE SCHEMA IF NOT EXISTS bench;
CREATE TABLE bench.{name} (
  id         uuid PRIMARY KEY,
  name       text NOT NULL,
  email      text NOT NULL,
  created_at timestamptz NOT NULL,
  city       text NOT NULL
);
"""

SEED_FILE = """
from datetime import UTC, datetime

from devdb.seeds import between, counts, derive, fake, table

people = table(
    "bench.people",
    rows=counts(bench={rows}),
    columns={{
        "name": fake("name"),
        "email": derive(lambda r: f"{{r['name'].split()[0].lower()}}{{r.i}}@example.com"),
        "created_at": between(datetime(2023, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)),
        "city": fake("city"),
    }},
)
"""


def make_settings(root: Path, **overrides: object) -> Settings:
    from devdb.settings import load_settings

    root.mkdir(parents=True, exist_ok=True)
    (root / "tasks.py").write_text("from devdb.tasks import ns\nnamespace = ns\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env.pop("DATABASE_URL", None)
    env["DEVDB_BACKEND"] = "native"
    return load_settings(root=root, environ=env, **overrides)


def project_on(
    server_info: ConnInfo, root: Path, dbname: str, *, demo: bool
) -> tuple[Settings, ConnInfo]:
    """A project folder whose database ``dbname`` is on the bench server (external backend)."""
    from devdb.database import ADMIN_DB, connect, create_database

    with connect(server_info.for_database(ADMIN_DB), autocommit=True) as conn:
        create_database(conn, dbname)
    info = server_info.for_database(dbname)
    if demo:
        for folder in ("migrations", "seeds"):
            shutil.copytree(REPO / folder, root / folder)
    url = info.url(show_password=True)
    root.mkdir(parents=True, exist_ok=True)
    (root / ".env").write_text(
        f"DEVDB_BACKEND=external\nDATABASE_URL={url}\nDEVDB_DATABASE={dbname}\n"
    )
    settings = make_settings(root, backend="external", database_url=url, database=dbname)
    return settings, info


def bench_fast(server_info: ConnInfo, tmp: Path, rows: int) -> float:
    from devdb.database import connect
    from devdb.seeds import seed

    settings, info = project_on(server_info, tmp / "fast", "bench_fast", demo=False)
    with connect(info, autocommit=True) as conn:
        conn.execute(TABLE_SQL.format(name="people").encode())
    (settings.seeds_dir).mkdir(parents=True, exist_ok=True)
    (settings.seeds_dir / "010_people.py").write_text(SEED_FILE.format(rows=rows))
    started = time.perf_counter()
    report = seed(settings, info, profile="bench")
    seconds = time.perf_counter() - started
    loaded = report.seeds[0].tables["bench.people"]["rows"]
    assert loaded == rows, loaded
    print(f"devdb seed: {rows:,} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s")
    return rows / seconds


def bench_naive(server_info: ConnInfo, tmp: Path, rows: int) -> float:
    import uuid

    from faker import Faker

    from devdb.database import connect

    _, info = project_on(server_info, tmp / "naive", "bench_naive", demo=False)
    with connect(info, autocommit=True) as conn:
        conn.execute(TABLE_SQL.format(name="people").encode())
    started = time.perf_counter()
    fake = Faker()
    data = [
        (uuid.uuid4(), fake.name(), fake.email(), fake.date_time(tzinfo=UTC), fake.city())
        for _ in range(rows)
    ]
    with connect(info) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO bench.people (id, name, email, created_at, city) "
            "VALUES (%s, %s, %s, %s, %s)",
            data,
        )
        conn.commit()
    seconds = time.perf_counter() - started
    print(f"naive loop: {rows:,} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s")
    return rows / seconds


def bench_demo(server_info: ConnInfo, tmp: Path) -> None:
    from devdb.migrations import migrate
    from devdb.seeds import seed

    settings, info = project_on(server_info, tmp / "demo", "bench_demo", demo=True)
    migrate(settings, info)
    started = time.perf_counter()
    report = seed(settings, info, profile="demo")
    seconds = time.perf_counter() - started
    total = sum(t["rows"] for s in report.seeds for t in s.tables.values())
    rate = total / seconds
    print(f"demo profile, first load: {total:,} rows in {seconds:.2f} s = {rate:,.0f} rows/s")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env.pop("DATABASE_URL", None)
    invoke = str(Path(sys.executable).with_name("invoke"))
    walls = []
    for _ in range(5):
        t0 = time.perf_counter()
        done = subprocess.run(
            [invoke, "db.seed", "--profile", "demo"],
            cwd=tmp / "demo",
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        walls.append(time.perf_counter() - t0)
        if done.returncode != 0 or "seeded 0 of" not in done.stderr:
            print(done.stdout, done.stderr)
            raise SystemExit("the re-run did not skip every seed")
    print(
        f"demo profile, unchanged re-run (`invoke db.seed --profile demo`, whole command): "
        f"median {statistics.median(walls):.3f} s, min {min(walls):.3f} s over {len(walls)} runs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--naive-rows", type=int, default=5_000)
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()

    from devdb import server
    from devdb.backends.native import NativeBackend

    tmp = Path(tempfile.mkdtemp(prefix="devdb-bench-seed-"))
    settings = make_settings(tmp / "server")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{datetime.now(UTC):%H:%M:%S} UTC, {os.cpu_count()} cores, load average {load}")
    up = server.up(settings)
    try:
        fast = bench_fast(up.conninfo, tmp, args.rows)
        naive = bench_naive(up.conninfo, tmp, args.naive_rows)
        print(f"speed-up: {fast / naive:.1f}x (target >= 25x; target >= 100,000 rows/s)")
        if not args.skip_demo:
            bench_demo(up.conninfo, tmp)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"load average at the end: {load} (other processes share these cores)")
    finally:
        NativeBackend(settings).remove()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
