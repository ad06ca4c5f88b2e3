"""The small interface every backend implements.

A backend starts, stops, describes and removes a server and hands back connection info; nothing
after that cares which backend started it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from devdb.conninfo import ConnInfo


@dataclass(frozen=True)
class ServerStatus:
    backend: str
    running: bool
    conninfo: ConnInfo | None
    detail: dict[str, str] = field(default_factory=dict)


class Backend(Protocol):
    @property
    def name(self) -> str:
        """docker, native or external."""
        ...

    @property
    def owned(self) -> bool:
        """True for a local server devdb owns (its container, its cluster, a loopback server)."""
        ...

    def start(self) -> ConnInfo:
        """Start (or find running) and wait until it accepts TCP connections."""
        ...

    def stop(self) -> None:
        """Stop the server, keeping its data."""
        ...

    def status(self) -> ServerStatus:
        """Whether it runs, and where; never starts anything."""
        ...

    def logs(self, lines: int = 50) -> str:
        """The last ``lines`` lines of the server's log."""
        ...

    def remove(self) -> None:
        """Stop and delete the server and all its data."""
        ...

    def conninfo(self) -> ConnInfo:
        """Where the server is (or will be) and how to log in as the owner."""
        ...
