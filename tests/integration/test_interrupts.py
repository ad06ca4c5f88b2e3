"""Ctrl-C reaches a whole process group: the seed's worker processes too. One "Interrupted."
line and exit code 130, no traceback from any worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from devdb.settings import Settings
from tests.conftest import run_invoke
from tests.integration.faultkit import processes


def test_ctrl_c_during_a_parallel_seed_prints_no_traceback(project_on_server: Settings) -> None:
    settings = project_on_server
    assert run_invoke(settings, "db.migrate").returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env |= {
        "DEVDB_BACKEND": "external",
        "DATABASE_URL": settings.database_url or "",
        "DEVDB_DATABASE": settings.database,
        "NO_COLOR": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", "db.seed", "--profile", "demo", "--scale", "5"],
        cwd=settings.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    deadline = time.monotonic() + 120
    while len([p for p in processes() if p.ppid == proc.pid]) < 2:  # the worker processes are there
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the seed never started its workers"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Interrupted." in stderr
    assert "Traceback" not in stderr, stderr
