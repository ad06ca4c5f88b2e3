from __future__ import annotations

import subprocess
import sys

from devdb.errors import DevdbError, EngineUnavailable, ServerStartError


def test_every_error_has_message_and_hint() -> None:
    err = EngineUnavailable("no Docker engine answers")
    assert str(err) == "no Docker engine answers"
    assert "DEVDB_BACKEND=native" in err.render()
    assert isinstance(err, DevdbError)


def test_start_error_shows_log() -> None:
    err = ServerStartError("did not start", log="FATAL: boom\n")
    assert "FATAL: boom" in err.render()


def test_task_turns_error_into_one_line_and_exit_1(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "tasks.py").write_text("from devdb.tasks import ns\nnamespace = ns\n")
    proc = subprocess.run(
        [sys.executable, "-m", "invoke", "db.status"],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DEVDB_BACKEND": "bogus"},
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: DEVDB_BACKEND is 'bogus'")
    assert "Traceback" not in proc.stderr
