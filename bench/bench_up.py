"""How long `invoke db.up` takes until the server accepts TCP connections, per backend.

    python bench/bench_up.py [--runs N] [--skip-docker]

Every figure is the wall time of a whole `invoke ...` process, as a person would type it, in a
throwaway project (removed at the end); "cpu" is that process's CPU time with the children it
waited for (initdb, the compose CLI), which a busy machine inflates less than wall time. Native
cold means a new cluster (initdb included); warm means the cluster or container exists and is
stopped. Docker cold means the image is present but no container or volume exists.
DEVDB_POSTGRES_IMAGE picks the image (default postgres:18).
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

REPO = Path(__file__).resolve().parent.parent
TARGETS = {
    "native cold": 1.5,
    "native warm": 1.0,
    "docker cold": 3.0,
    "docker warm": 1.5,
    "invoke --list": 0.35,
    "devdb --help": 0.35,
    "db.status (native)": 0.35,
    "db.status (docker)": 0.35,
    "image check (auto)": 0.05,
}


CPU: dict[str, list[float]] = {}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(
    root: Path, env: dict[str, str], *args: str, figure: str = "", program: str = "invoke"
) -> float:
    """Wall time of one invoke (or devdb) command; its CPU time (with the children it waited
    for, such as initdb or the compose CLI, but not the server) is kept under ``figure``."""
    cpu = children_cpu()
    start = time.perf_counter()
    module = "devdb.cli" if program == "devdb" else "invoke"
    out = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if figure:
        CPU.setdefault(figure, []).append(children_cpu() - cpu)
    if out.returncode != 0:
        raise SystemExit(f"invoke {' '.join(args)} failed:\n{out.stderr}")
    return elapsed


def project(base: Path, name: str, backend: str) -> tuple[Path, dict[str, str]]:
    root = base / name
    root.mkdir(parents=True)
    (root / "tasks.py").write_text("from devdb.tasks import ns\nnamespace = ns\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env["DEVDB_BACKEND"] = backend
    env["DEVDB_COMPOSE_FILE"] = str(REPO / "compose" / "compose.yaml")
    env["DEVDB_POSTGRES_IMAGE"] = image()
    return root, env


def image() -> str:
    return os.environ.get("DEVDB_POSTGRES_IMAGE") or "postgres:18"


def docker_usable() -> str | None:
    """None when docker can be measured, else why not."""
    if not shutil.which("docker"):
        return "no docker CLI"
    probe = subprocess.run(
        ["docker", "image", "inspect", image()], capture_output=True, check=False
    )
    if probe.returncode != 0:
        return f"image {image()} is not present (or no engine answers)"
    return None


def image_check(runs: int) -> list[float]:
    """What `auto` adds to the first db.up: one engine ping and one image lookup, timed in this
    process after the Docker SDK is imported (db.up imports it anyway to run the container)."""
    from devdb.backends.dockerengine import docker_unusable

    docker_unusable(image(), pull=False)  # warm: imports
    times = []
    for _ in range(max(runs, 5)):
        start = time.perf_counter()
        docker_unusable(image(), pull=False)
        times.append(time.perf_counter() - start)
    return times


def cycle(
    base: Path,
    backend: str,
    runs: int,
    figures: dict[str, list[float]],
    note: Callable[[str], None],
) -> None:
    for i in range(runs):
        root, env = project(base, f"{backend}{i}", backend)
        try:
            figures[f"{backend} cold"].append(run(root, env, "db.up", figure=f"{backend} cold"))
            status = f"db.status ({backend})"
            figures[status].append(run(root, env, "db.status", figure=status))
            run(root, env, "db.down")
            figures[f"{backend} warm"].append(run(root, env, "db.up", figure=f"{backend} warm"))
            run(root, env, "db.down")
            note(".")
        finally:
            subprocess.run(
                [sys.executable, "-m", "invoke", "db.destroy", "--yes"],
                cwd=root,
                env=env,
                capture_output=True,
                check=False,
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions per figure (default 3)")
    parser.add_argument("--skip-docker", action="store_true", help="measure native only")
    args = parser.parse_args()

    def note(text: str) -> None:
        print(text, end="", file=sys.stderr, flush=True)

    load_before = os.getloadavg()[0]
    figures: dict[str, list[float]] = {name: [] for name in TARGETS}
    with tempfile.TemporaryDirectory(prefix="devdb-bench-") as tmp:
        base = Path(tmp)
        base.chmod(0o755)  # as root the native server runs as another user
        root, env = project(base, "list", "native")
        for _ in range(args.runs):
            figures["invoke --list"].append(run(root, env, "--list", figure="invoke --list"))
            figures["devdb --help"].append(
                run(root, env, "--help", figure="devdb --help", program="devdb")
            )
        note("native ")
        cycle(base, "native", args.runs, figures, note)
        why_not = "--skip-docker" if args.skip_docker else docker_usable()
        if why_not is None:
            note(" docker ")
            figures["image check (auto)"] = image_check(args.runs)
            cycle(base, "docker", args.runs, figures, note)
        note("\n")

    print(f"load average (1 min) before: {load_before:.2f}, after: {os.getloadavg()[0]:.2f}")
    print(f"{'figure':<22} {'median':>8} {'best':>8} {'cpu':>8} {'target':>8}  ok")
    for name, target in TARGETS.items():
        values = figures[name]
        if not values:
            print(f"{name:<22} {'-':>8} {'-':>8} {'-':>8} {target:>7.2f}s  skipped ({why_not})")
            continue
        median = statistics.median(values)
        ok = "yes" if median <= target else "NO"
        cpu = statistics.median(CPU.get(name) or [0.0])
        print(f"{name:<22} {median:>7.3f}s {min(values):>7.3f}s {cpu:>7.3f}s {target:>7.2f}s  {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
