"""The ``devdb`` command's exits outside a task: Ctrl-C while Python still imports, and a
reader that leaves early (``devdb --list | head``), never print a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devdb import cli


def test_ctrl_c_before_a_task_starts_exits_130_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt  # what SIGINT raises during devdb.tasks' imports

    monkeypatch.setattr(cli, "build_program", interrupted)
    assert cli.main(["status"]) == 130
    assert capsys.readouterr().err == "Interrupted.\n"


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "devdb.cli", "--list"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # before the child writes its first line (it is still importing)
    _, stderr = proc.communicate(timeout=60)
    assert "Traceback" not in stderr, stderr
    assert "BrokenPipeError" not in stderr, stderr


def test_an_error_from_a_cleanup_after_ctrl_c_is_still_an_interrupt() -> None:
    """Seen once in `devdb setup` with Ctrl-C: the interrupted query left the connection busy,
    a cleanup's query failed with "another command is already in progress", and the task said
    the server had gone away (exit 1, "Start the server again")."""
    import psycopg
    from invoke.exceptions import Exit

    from devdb.tasks._common import exits

    @exits
    def task() -> None:
        try:
            raise KeyboardInterrupt
        finally:
            raise psycopg.OperationalError("sending query failed: another command is in progress")

    with pytest.raises(Exit) as err:
        task()
    assert (err.value.code, err.value.message) == (130, "Interrupted.")

    @exits
    def server_gone() -> None:
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    with pytest.raises(Exit) as err:
        server_gone()
    assert err.value.code == 1
