"""The native backend with real PostgreSQL binaries: lifecycle, crashes, ports, broken setups."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_project

from devdb import server
from devdb.backends.majors import cluster_major
from devdb.backends.native import NativeBackend
from devdb.database import can_connect, connect
from devdb.errors import BinariesNotFound, PortInUse, ServerStartError
from devdb.settings import Settings


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Settings]:
    settings = make_project(tmp_path / "proj")
    yield settings
    NativeBackend(settings).remove()


def invoke(
    root: Path, *args: str, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**invoke_env(), "DEVDB_BACKEND": "native", **(extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def wait_gone(pids: list[int], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if Path(f"/proc/{p}").exists() and _not_zombie(p)]
        if not alive:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes {pids} did not exit")


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _not_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_up_answers_down_keeps_data_destroy_removes(project: Settings) -> None:
    result = server.up(project)
    assert result.backend == "native"
    assert result.created_database is True
    with connect(result.conninfo) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('survives')")
        conn.commit()
    backend = NativeBackend(project)
    assert backend.status().running
    assert "ready to accept connections" in backend.logs(100)

    server.down(project)
    assert not backend.status().running
    assert not can_connect(result.conninfo)
    assert (backend.data / "PG_VERSION").is_file()

    again = server.up(project)
    assert again.created_database is False
    assert again.conninfo.port == result.conninfo.port
    with connect(again.conninfo) as conn:
        assert conn.execute("SELECT v FROM kept").fetchall() == [("survives",)]

    server.destroy(project)
    assert not backend.home.exists()
    assert not can_connect(result.conninfo)
    assert not backend.status().running


def test_status_of_a_project_never_started_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    settings = make_project(root)
    status = invoke(root, "db.status")
    assert status.returncode == 0, status.stderr
    assert "not created (`invoke db.up` creates it)" in status.stdout
    assert not settings.state_dir.exists()  # no state folder, no password generated for it
    assert "not-generated" not in status.stdout + status.stderr


def test_up_after_a_crash_clears_the_stale_pid_file(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    settings = make_project(root)
    try:
        first = invoke(root, "db.up")
        assert first.returncode == 0, first.stderr
        pidfile = NativeBackend(settings).data / "postmaster.pid"
        pid = int(pidfile.read_text().split()[0])
        children = children_of(pid)
        os.kill(pid, signal.SIGKILL)
        wait_gone([pid, *children])
        assert pidfile.is_file()  # what a crash leaves behind

        status = invoke(root, "db.status")
        assert "stopped" in status.stdout

        second = invoke(root, "db.up")
        assert second.returncode == 0, second.stderr
        assert "stale postmaster.pid" in second.stderr
        assert f"pid {pid}" in second.stderr
        assert can_connect(NativeBackend(settings).conninfo())
    finally:
        NativeBackend(settings).remove()


def test_up_waits_for_the_processes_of_a_crashed_server(tmp_path: Path) -> None:
    """A backend that has not yet noticed its postmaster died (held here with SIGSTOP) keeps the
    cluster's shared memory, and a new postmaster refuses to start: db.up waits it out, and says
    what holds it when it outlasts DEVDB_READY_TIMEOUT."""
    root = tmp_path / "proj"
    settings = make_project(root)
    backend = NativeBackend(settings)
    assert invoke(root, "db.up").returncode == 0
    pid = int((backend.data / "postmaster.pid").read_text().split()[0])
    conn = connect(backend.conninfo(), autocommit=True)
    straggler = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
    up: subprocess.Popen[str] | None = None
    try:
        os.kill(straggler, signal.SIGSTOP)
        os.kill(pid, signal.SIGKILL)
        wait_gone([pid])

        held = invoke(root, "db.up", extra={"DEVDB_READY_TIMEOUT": "3"})
        assert held.returncode == 1, held.stderr
        assert "Traceback" not in held.stderr
        errors = [line for line in held.stderr.splitlines() if line.startswith("Error:")]
        assert errors == [
            f"Error: processes of a crashed server still hold the shared memory of {backend.data}"
        ], held.stderr
        assert "DEVDB_READY_TIMEOUT (now 3 s)" in held.stderr

        mark = backend.logfile.stat().st_size
        up = subprocess.Popen(
            [sys.executable, "-m", "invoke", "db.up"],
            cwd=root,
            env={**invoke_env(), "DEVDB_BACKEND": "native"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_for_log(backend.logfile, mark, "pre-existing shared memory block")
        os.kill(straggler, signal.SIGCONT)  # it notices its postmaster is gone and exits
        _, stderr = up.communicate(timeout=120)
        assert up.returncode == 0, stderr
        assert "the crashed server's processes are still exiting" in stderr
        assert can_connect(backend.conninfo())
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(straggler, signal.SIGCONT)
            os.kill(straggler, signal.SIGKILL)
        if up is not None and up.poll() is None:
            up.kill()
            up.communicate()
        conn.close()
        backend.remove()


def invoke_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}


def _wait_for_log(log: Path, offset: int, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with log.open("rb") as fh:
            fh.seek(offset)
            if text.encode() in fh.read():
                return
        time.sleep(0.05)
    raise AssertionError(f"the server log never said {text!r}")


def test_explicit_port_taken_names_the_holder(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        settings = make_project(tmp_path / "proj", port=port)
        with pytest.raises(PortInUse) as err:
            server.up(settings)
    assert f"port {port}" in err.value.message
    assert f"pid {os.getpid()}" in err.value.message  # this test process holds it
    assert "DEVDB_PORT" in err.value.hint


def test_derived_port_taken_picks_another_and_says_so(
    project: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", project.default_port))
        holder.listen()
        result = server.up(project)
    assert result.conninfo.port != project.default_port
    err = capsys.readouterr().err
    assert f"port {project.default_port} is taken" in err
    assert f"using {result.conninfo.port} instead" in err
    server.down(project)
    # the new port is remembered: the next up uses it even though the derived one is free now
    assert server.up(project).conninfo.port == result.conninfo.port


def test_missing_binaries(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    settings = make_project(tmp_path / "proj", pg_bin=empty)
    with pytest.raises(BinariesNotFound) as err:
        server.up(settings)
    assert "DEVDB_PG_BIN" in err.value.message
    assert "initdb" in err.value.message


def test_server_that_fails_to_start_shows_its_log(project: Settings) -> None:
    server.up(project)
    server.down(project)
    conf = NativeBackend(project).data / "postgresql.conf"
    conf.write_text(conf.read_text() + "\nthis is not a setting\n")
    with pytest.raises(ServerStartError) as err:
        server.up(project)
    assert "syntax error" in err.value.log
    assert "Last lines of the server log" in err.value.render()


def test_io_method_sync_on_18_unless_the_cluster_sets_one(project: Settings) -> None:
    # PostgreSQL 18's I/O workers slow every DROP DATABASE down for as long as the server runs
    # (see IO_METHOD): the native server runs without them, unless its configuration says
    result = server.up(project)
    backend = NativeBackend(project)
    if (cluster_major(backend.data) or 0) < 18:
        pytest.skip("io_method appeared in PostgreSQL 18")
    with connect(result.conninfo) as conn:
        assert conn.execute("SHOW io_method").fetchone() == ("sync",)
    postmaster = int((backend.data / "postmaster.pid").read_text().split()[0])
    kinds = [_cmdline(pid) for pid in children_of(postmaster)]  # b"" for one that has exited
    assert any(kinds) and not [k for k in kinds if b"io worker" in k]

    server.down(project)
    with (backend.data / "postgresql.conf").open("a") as fh:
        fh.write("io_method = worker  # the user's choice\n")
    again = server.up(project)
    with connect(again.conninfo) as conn:
        assert conn.execute("SHOW io_method").fetchone() == ("worker",)
