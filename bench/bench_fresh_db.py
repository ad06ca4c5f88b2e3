"""fresh_db against the raw CREATE DATABASE loop and pytest-postgresql's `postgresql` fixture.

    sudo python bench/bench_fresh_db.py [--tests 200] [--repeat 3] [--fs ext4,xfs]

Needs pytest-postgresql (`pip install -e ".[bench]"`), and root for the loop mounts (see
filesystems.py: ext4 with its journal, reflink XFS; ``tmp`` runs on the temporary folder's own).
For each file system, starts a throwaway native server for a copy of the demo project on it and
measures, on that one server, with the same template content (the demo migrations + the `test`
seed profile, built by devdb's test session):

- raw: a Python loop of `CREATE DATABASE t TEMPLATE <template>` + connect + `SELECT 1` (then
  close and `DROP DATABASE`, reported apart): the server's own cost, the floor;
- devdb: a pytest run of N tests taking `fresh_db` and running `SELECT 1`;
- pytest-postgresql: a pytest run of N tests taking its template-based `postgresql` fixture
  (`postgresql_noproc(load=[...])`: the template is built once per session, each test gets
  `CREATE DATABASE ... TEMPLATE` and a drop after), running `SELECT 1`.

A test's cost is the wall time of the N-test run minus that of a run of the same N tests that
take only the session fixtures (server + template ready), divided by N; serial and under `-n 2`
(the raw loop then runs in two processes at once). Runs alternate between the three and the
medians of --repeat runs are printed, with the load average (the machine is shared).
Targets: devdb <= 1.2x raw (create + connect), and >= 3x faster than pytest-postgresql.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from multiprocessing import get_context
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from bench_reset import make_project  # noqa: E402 - after the path set-up
from filesystems import fs_type, native_project  # noqa: E402 - after the path set-up

DEVDB_TESTS = """
import pytest

@pytest.mark.parametrize("n", range({n}))
def test_fresh(fresh_db, n):
    fresh_db.execute("SELECT 1")
"""
DEVDB_BASE = """
import pytest

@pytest.mark.parametrize("n", range({n}))
def test_base(devdb_session, n):
    pass
"""
PPG_CONFTEST = """
from pathlib import Path

from pytest_postgresql import factories


def migrate_and_seed(host, port, user, dbname, password, **_):
    # the same content as devdb's test template: the demo migrations and the test seed profile
    from devdb.conninfo import ConnInfo
    from devdb.migrations import migrate
    from devdb.seeds import seed
    from devdb.settings import load_settings

    settings = load_settings(root=Path({root!r}), environ={{"DEVDB_BACKEND": "native"}})
    info = ConnInfo(host, int(port), user, password, dbname)
    migrate(settings, info)
    seed(settings, info, profile="test")


postgresql_noproc = factories.postgresql_noproc(
    host="{host}", port={port}, user="{user}", password="{password}", dbname="ppg",
    load=[migrate_and_seed],
)
postgresql = factories.postgresql("postgresql_noproc")
"""
PPG_TESTS = """
import pytest

@pytest.mark.parametrize("n", range({n}))
def test_ppg(postgresql, n):
    postgresql.execute("SELECT 1")
"""
PPG_BASE = """
import pytest

@pytest.mark.parametrize("n", range({n}))
def test_ppg_base(postgresql_noproc, n):
    pass
"""


def load_avg() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def cpu_times() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def pytest_wall(
    root: Path, env: dict[str, str], folder: str, test_file: str, workers: int
) -> float:
    return pytest_run(root, env, folder, test_file, workers)[0]


def pytest_run(
    root: Path, env: dict[str, str], folder: str, test_file: str, workers: int
) -> tuple[float, float]:
    """Wall seconds of the run, and the share of the machine's CPUs busy meanwhile."""
    plugins = ["-p", "no:cacheprovider"]
    if folder == "t_devdb":
        plugins += ["-p", "no:pytest_postgresql"]
    xdist = ["-n", str(workers)] if workers > 1 else ["-p", "no:xdist"]
    cmd = [sys.executable, "-m", "pytest", "-q", *plugins, *xdist, f"{folder}/{test_file}"]
    busy, total = cpu_times()
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    busy_end, total_end = cpu_times()
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds, (busy_end - busy) / max(1, total_end - total)


def raw_loop(url: str, template: str, n: int, tag: str) -> tuple[float, float]:
    """Seconds for n x (create + connect + SELECT 1), and for n x (close + drop)."""
    import psycopg

    made = dropped = 0.0
    with psycopg.connect(url, autocommit=True) as admin:
        for i in range(n):
            name = f"raw_{tag}_{i}"
            started = time.perf_counter()
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY file_copy')
            conn = psycopg.connect(url.rsplit("/", 1)[0] + "/" + name)
            conn.execute("SELECT 1")
            made += time.perf_counter() - started
            started = time.perf_counter()
            conn.close()
            admin.execute(f'DROP DATABASE "{name}"')
            dropped += time.perf_counter() - started
    return made, dropped


def raw(url: str, template: str, n: int, workers: int) -> tuple[float, float]:
    """Per database: (create + connect, drop), ``workers`` loops at once sharing n databases."""
    if workers == 1:
        made, dropped = raw_loop(url, template, n, "s")
        return made / n, dropped / n
    share = n // workers
    started = time.perf_counter()
    with get_context("spawn").Pool(workers) as pool:
        results = pool.starmap(raw_loop, [(url, template, share, f"p{k}") for k in range(workers)])
    wall = time.perf_counter() - started
    made = sum(r[0] for r in results)
    dropped = sum(r[1] for r in results)
    cycle = wall / (share * workers)  # per database, with the loops overlapping
    return cycle * made / (made + dropped), cycle * dropped / (made + dropped)


def server_template(root: Path, env: dict[str, str]) -> tuple[str, str]:
    """The owner URL of the server (postgres database) and devdb's test template's name."""
    from devdb import server
    from devdb.settings import load_settings

    settings = load_settings(root=root, environ=env)
    info = server.owner_conninfo(settings)
    import psycopg

    with psycopg.connect(**info.for_database("postgres").kwargs(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, 'devdb_tpl_') "
            "ORDER BY oid DESC LIMIT 1"
        ).fetchone()
        method = conn.execute("SHOW file_copy_method").fetchone()
    assert row, "no devdb template"
    print(f"server file_copy_method: {method[0] if method else '?'}")
    return info.for_database("postgres").url(show_password=True), str(row[0])


def bench_fs(kind: str, n: int, repeat: int) -> None:
    """The three side by side on one native server whose data is on ``kind``."""
    from devdb.conninfo import parse_url

    with native_project(kind, "devdb-bench-fresh-", make_project) as (root, env, _):
        print(f"{kind} ({fs_type(root)}):")
        for name, tests, base in (
            ("t_devdb", DEVDB_TESTS, DEVDB_BASE),
            ("t_ppg", PPG_TESTS, PPG_BASE),
        ):
            (root / name).mkdir()
            (root / name / "test_it.py").write_text(tests.format(n=n))
            (root / name / "test_base.py").write_text(base.format(n=n))
        pytest_wall(root, env, "t_devdb", "test_base.py", 1)  # builds the test template once
        url, template = server_template(root, env)
        info = parse_url(url)
        (root / "t_ppg" / "conftest.py").write_text(
            PPG_CONFTEST.format(
                root=str(root),
                host=info.host,
                port=info.port,
                user=info.user,
                password=info.password,
            )
        )
        for workers in (1, 2):
            compare(root, env, url, template, n, repeat, workers)


def compare(
    root: Path, env: dict[str, str], url: str, template: str, n: int, repeat: int, workers: int
) -> None:
    figures: dict[str, list[float]] = {"raw": [], "drop": [], "devdb": [], "ppg": []}
    busy: dict[str, list[float]] = {"devdb": [], "ppg": []}
    for _ in range(repeat):
        made, dropped = raw(url, template, n, workers)
        figures["raw"].append(made)
        figures["drop"].append(dropped)
        for folder in ("t_devdb", "t_ppg"):
            base = pytest_wall(root, env, folder, "test_base.py", workers)
            full, share = pytest_run(root, env, folder, "test_it.py", workers)
            figures[folder[2:]].append((full - base) / n)
            busy[folder[2:]].append(share)
    med = {k: statistics.median(v) * 1000 for k, v in figures.items()}
    mode = "serial" if workers == 1 else f"-n {workers}"
    print(
        f"  {mode}, {n} tests, medians of {repeat}: raw CREATE DATABASE TEMPLATE + "
        f"connect {med['raw']:.1f} ms (+ drop {med['drop']:.1f} ms); devdb fresh_db "
        f"{med['devdb']:.1f} ms = {med['devdb'] / med['raw']:.2f}x raw (target <= 1.2x); "
        f"pytest-postgresql {med['ppg']:.1f} ms = {med['ppg'] / med['devdb']:.1f}x devdb "
        f"(target >= 3x); load {load_avg()}"
    )
    for key, values in figures.items():
        print(f"      {key}: " + ", ".join(f"{v * 1000:.1f}" for v in values) + " ms")
    # whether a run was bound by the machine's CPUs (the server's copies and drops, the tests)
    print(
        "      CPUs busy during the runs: "
        + "; ".join(f"{k} " + ", ".join(f"{v:.0%}" for v in vals) for k, vals in busy.items())
        + f" (of {os.cpu_count()})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fs", default="ext4,xfs", help="ext4, xfs, tmp: see filesystems.py")
    opts = parser.parse_args()
    print(f"load average at start: {load_avg()}")
    for kind in opts.fs.split(","):
        bench_fs(kind, opts.tests, opts.repeat)
    print(f"load average at the end: {load_avg()}")


if __name__ == "__main__":
    main()
