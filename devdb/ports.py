"""Choosing the host port: per project, stable, and never silently colliding."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess

from devdb.errors import PortInUse
from devdb.output import info
from devdb.settings import Settings
from devdb.state import read_state, write_state


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when a server could listen on ``port``. SO_REUSEADDR, as servers set it, so that
    closed connections in TIME_WAIT do not count as taken; a listener still does."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def who_listens(port: int) -> str:
    """A short description of the process listening on ``port``, when the OS tells us
    (``ss`` on Linux, ``lsof`` elsewhere); "another process" otherwise."""
    if shutil.which("ss"):
        out = _output(["ss", "-Hltnp", f"sport = :{port}"])
        match = re.search(r'users:\(\("([^"]+)",pid=(\d+)', out)
        if match:
            return f"{match.group(1)} (pid {match.group(2)})"
    if shutil.which("lsof"):
        out = _output(["lsof", "-nP", f"-iTCP:{port}", "-sTCP:LISTEN", "-Fpc"])
        match = re.search(r"^p(\d+)\nc(.+)$", out, re.MULTILINE)
        if match:
            return f"{match.group(2)} (pid {match.group(1)})"
    return "another process"


def _output(cmd: list[str]) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return subprocess.run(cmd, capture_output=True, text=True, timeout=2, check=False).stdout
    return ""


def choose_port(settings: Settings) -> int:
    """The port for a server that is not running yet.

    An explicit DEVDB_PORT is used as is (an error names who holds it). Otherwise the port recorded
    for this project, or the one derived from its path; when that is taken, the next free one is
    picked, recorded, and announced.
    """
    if settings.port is not None:
        if not is_free(settings.port):
            raise PortInUse(
                f"port {settings.port} on 127.0.0.1 is taken by {who_listens(settings.port)}",
                "Stop that process, or unset DEVDB_PORT and devdb picks a free port itself.",
            )
        return settings.port
    wanted = int(read_state(settings).get("port") or settings.default_port)
    for candidate in range(wanted, wanted + 200):
        if is_free(candidate):
            if candidate != wanted:
                info(f"port {wanted} is taken by {who_listens(wanted)}; using {candidate} instead")
            write_state(settings, port=candidate)
            return candidate
    raise PortInUse(f"no free port in {wanted}..{wanted + 199} on 127.0.0.1")


def recorded_port(settings: Settings) -> int:
    """The port this project's server uses (explicit, recorded, or derived)."""
    if settings.port is not None:
        return settings.port
    return int(read_state(settings).get("port") or settings.default_port)
