"""How long a new team waits: `devdb init` + `invoke db.setup` in an empty folder (native backend).

    python bench/bench_adopt.py [--runs N] [--install]

Every figure is the wall time of whole processes as a person types them, in a throwaway folder
(removed at the end). `--install` also times building the wheel and installing it with its
dependencies into a new virtual environment (pip's cache warm), the `pip install devdb` step.
The target: from installing devdb to a migrated, seeded database in under a minute.
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
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def install(work: Path) -> tuple[float, Path]:
    start = time.perf_counter()
    dist = work / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    (wheel,) = dist.glob("*.whl")
    subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start, env_dir / "bin"


def one_run(work: Path, bindir: Path, env: dict[str, str]) -> dict[str, float]:
    project = work / "shop"
    figures = {
        "devdb init": timed([str(bindir / "devdb"), "init", str(project)], work, env),
        "invoke db.setup (cold)": timed([str(bindir / "invoke"), "db.setup"], project, env),
        "invoke db.url --role app": timed(
            [str(bindir / "invoke"), "db.url", "--role", "app"], project, env
        ),
    }
    subprocess.run(
        [str(bindir / "invoke"), "db.destroy", "--yes"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )
    shutil.rmtree(project)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--install", action="store_true", help="also time build + pip install")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env |= {"DEVDB_BACKEND": "native", "DEVDB_PROFILE": "dev", "NO_COLOR": "1"}
    work = Path(tempfile.mkdtemp(prefix="devdb-bench-adopt-"))
    work.chmod(0o755)  # as root, the server's user must reach the cluster below it
    try:
        bindir = Path(sys.executable).parent
        if args.install:
            seconds, bindir = install(work)
            print(f"{'build wheel + pip install (new venv)':<40} {seconds:6.2f} s")
        runs = [one_run(work, bindir, env) for _ in range(args.runs)]
        for name in runs[0]:
            values = [r[name] for r in runs]
            print(f"{name:<40} {statistics.median(values):6.2f} s (median of {len(values)})")
        total = statistics.median(sum(r.values()) for r in runs)
        print(f"{'init + setup + url, total':<40} {total:6.2f} s (target < 60 s with install)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
