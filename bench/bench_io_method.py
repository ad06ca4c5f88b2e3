"""Test databases on PostgreSQL 18 with ``io_method = worker`` (its default) and ``sync`` (what
the native backend uses), on one server.

    sudo python bench/bench_io_method.py [--databases 2000] [--fs ext4]

PostgreSQL 18's I/O workers read on behalf of backends, and keep an entry for every relation file
they have read, in any database, for as long as the server runs; a DROP DATABASE makes every
process walk its entries (``smgrreleaseall``; seen with ``perf`` on a server that had made a few
thousand test databases: 79% of an I/O worker's time in ``hash_seq_search``, and drops twice as
slow as after a restart). So each test database costs the I/O workers more than the one before.

For each method, the server is restarted with it (fresh I/O workers; the method is set with ALTER
SYSTEM, which the native backend leaves in force), then ``--databases`` times what a ``fresh_db``
test does with the test template: CREATE DATABASE, connect, read every table (``count(*)``),
disconnect, DROP DATABASE. Printed per block of databases: the CPU time the I/O workers used per
database, the median DROP DATABASE, and the median cycle.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from bench_fresh_db import DEVDB_BASE, load_avg, pytest_wall, server_template  # noqa: E402
from bench_reset import make_project  # noqa: E402 - after the path set-up
from filesystems import native_project  # noqa: E402 - after the path set-up

METHODS = ("worker", "sync")
TICK_MS = 1000 / 100  # /proc/<pid>/stat counts CPU in clock ticks (USER_HZ, 100 on Linux)


def io_worker_ms() -> float:
    """CPU milliseconds used so far by the running ``postgres: io worker`` processes."""
    ticks = 0
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"io worker" not in cmdline.read_bytes():
                continue
            fields = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks * TICK_MS


def restart_with(settings: object, url: str, method: str) -> None:
    """ALTER SYSTEM SET io_method, then down and up (the native backend keeps a configured one)."""
    import psycopg

    from devdb import server

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"ALTER SYSTEM SET io_method = '{method}'")
    server.down(settings)  # type: ignore[arg-type]
    server.up(settings)  # type: ignore[arg-type]
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW io_method").fetchone()
    assert row and row[0] == method, f"the server runs io_method {row}, not {method}"


def cycles(url: str, template: str, count: int, block: int) -> Iterator[tuple[float, float, float]]:
    """(I/O workers' ms per database, median drop ms, median cycle ms) per ``block`` databases."""
    import psycopg

    base = url.rsplit("/", 1)[0]
    with psycopg.connect(url, autocommit=True) as admin:
        drops: list[float] = []
        walls: list[float] = []
        io_before = io_worker_ms()
        for i in range(count):
            started = time.perf_counter()
            admin.execute(f'CREATE DATABASE bench_io TEMPLATE "{template}" STRATEGY file_copy')
            with psycopg.connect(f"{base}/bench_io", autocommit=True) as conn:
                tables = conn.execute(
                    "SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables"
                ).fetchall()
                for (table,) in tables:
                    conn.execute(f"SELECT count(*) FROM {table}")
            time.sleep(0.01)  # the backend exits
            dropping = time.perf_counter()
            admin.execute("DROP DATABASE bench_io")
            drops.append(time.perf_counter() - dropping)
            walls.append(time.perf_counter() - started)
            if (i + 1) % block == 0:
                io_now = io_worker_ms()
                yield (
                    (io_now - io_before) / block,
                    statistics.median(drops) * 1000,
                    statistics.median(walls) * 1000,
                )
                drops, walls, io_before = [], [], io_now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", type=int, default=2000)
    parser.add_argument("--block", type=int, default=250)
    parser.add_argument("--fs", default="ext4", help="ext4, xfs, tmp: see filesystems.py")
    opts = parser.parse_args()
    print(f"load average at start: {load_avg()}")
    with native_project(opts.fs, "devdb-bench-io-", make_project) as (root, env, settings):
        (root / "t_devdb").mkdir()
        (root / "t_devdb" / "test_base.py").write_text(DEVDB_BASE.format(n=1))
        pytest_wall(root, env, "t_devdb", "test_base.py", 1)  # builds the test template
        url, template = server_template(root, env)
        for method in METHODS:
            restart_with(settings, url, method)
            print(f"io_method {method}:")
            for k, (io_ms, drop, cycle) in enumerate(
                cycles(url, template, opts.databases, opts.block), start=1
            ):
                print(
                    f"  databases {(k - 1) * opts.block + 1:5}-{k * opts.block:<5}: I/O workers "
                    f"{io_ms:5.1f} ms CPU a database; DROP DATABASE {drop:5.1f} ms; cycle "
                    f"{cycle:5.1f} ms; load {load_avg()}",
                    flush=True,
                )
    print(f"load average at the end: {load_avg()}")


if __name__ == "__main__":
    main()
