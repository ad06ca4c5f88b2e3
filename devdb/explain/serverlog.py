"""Reading auto_explain's plans back from the server log, whichever backend runs the server.

auto_explain writes each plan as one ``LOG:  duration: X ms  plan:`` message whose JSON follows
on continuation lines (each starting with a tab, the ``stderr`` log format). Capture brackets its
window with two ``RAISE LOG`` markers, so only the plans between them are read:

- native: the cluster's log file (devdb starts the server with its output there), read from the
  size it had when the capture started;
- docker: the container's log (the official image logs to stderr), since the capture started;
- external: the file ``pg_current_logfile()`` names, through ``pg_read_file`` (needs
  ``logging_collector = on``, ``log_destination = 'stderr'`` and a role that may read server
  files: a superuser or a member of ``pg_read_server_files``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devdb.database import connect
from devdb.errors import ExplainError

if TYPE_CHECKING:
    import psycopg

    from devdb.conninfo import ConnInfo
    from devdb.settings import Settings

_ENTRY = re.compile(r"duration: (?P<ms>\d+(?:\.\d+)?) ms\s+plan:\n(?P<body>(?:\t[^\n]*\n?)+)")


@dataclass(frozen=True)
class LoggedPlan:
    """One execution auto_explain logged: its wall time and its plan document."""

    duration_ms: float
    document: dict[str, Any]

    @property
    def query_id(self) -> int | None:
        value = self.document.get("Query Identifier")
        return int(value) if value is not None else None


def logged_plans(text: str, start: str, end: str) -> Iterator[LoggedPlan]:
    """Every JSON plan logged between the marker lines ``start`` and ``end``."""
    begin = text.find(start)
    if begin < 0:
        return
    finish = text.find(end, begin)
    window = text[begin : finish if finish >= 0 else len(text)]
    for match in _ENTRY.finditer(window):
        body = "".join(line[1:] + "\n" for line in match.group("body").splitlines())
        try:
            document = json.loads(body)
        except json.JSONDecodeError:
            continue  # a plan cut by a log rotation or another process's interleaved line
        if isinstance(document, dict) and "Plan" in document:
            yield LoggedPlan(float(match.group("ms")), document)


class LogSource:
    """Where the server's log is read from; ``mark`` before the window, ``read`` after it."""

    def mark(self) -> None:
        raise NotImplementedError

    def read(self) -> str:
        raise NotImplementedError


class FileLog(LogSource):
    """A log file on this machine (the native backend's)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size if self.path.is_file() else 0

    def read(self) -> str:
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            return fh.read().decode(errors="replace")


class ContainerLog(LogSource):
    """The docker backend's container log, since the mark (one second of slack)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.since = 0

    def mark(self) -> None:
        self.since = int(time.time()) - 1

    def read(self) -> str:
        container = self.backend.container()
        if container is None:
            raise ExplainError("the postgres container is gone; its log cannot be read")
        raw: bytes = container.logs(stdout=True, stderr=True, since=self.since)
        return raw.decode(errors="replace")


class ServerFileLog(LogSource):
    """The server's current log file read over SQL (external servers), on a connection of its
    own each time."""

    def __init__(self, conninfo: ConnInfo) -> None:
        self.conninfo = conninfo
        self.path = ""
        self.offset = 0

    def mark(self) -> None:
        with connect(self.conninfo, autocommit=True) as conn:
            row = conn.execute("SELECT pg_current_logfile('stderr')").fetchone()
            if row is None or row[0] is None:
                raise ExplainError(
                    "the server writes no log file that devdb can read (logging_collector is off)",
                    "On an external server set logging_collector = on and log_destination = "
                    "'stderr', or run capture against devdb's docker or native server.",
                )
            self.path = str(row[0])
            self.offset = _size(conn, self.path)

    def read(self) -> str:
        with connect(self.conninfo, autocommit=True) as conn:
            length = max(_size(conn, self.path) - self.offset, 0)
            row = conn.execute(
                "SELECT pg_read_file(%s, %s, %s)", (self.path, self.offset, length)
            ).fetchone()
        return str(row[0]) if row and row[0] else ""


def _size(conn: psycopg.Connection[Any], path: str) -> int:
    row = conn.execute("SELECT size FROM pg_stat_file(%s)", (path,)).fetchone()
    return int(row[0]) if row else 0


def log_source(settings: Settings, conninfo: ConnInfo) -> LogSource:
    """The log reader for the backend running the project's server."""
    from devdb.backends import get_backend

    backend = get_backend(settings, announce=False)
    if backend.name == "native":
        return FileLog(backend.logfile)  # type: ignore[attr-defined]
    if backend.name == "docker":
        return ContainerLog(backend)
    return ServerFileLog(conninfo)


def now_token() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
