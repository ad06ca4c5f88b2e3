"""The external backend: a server that already runs (CI service container, shared dev server).

devdb never starts, stops or removes it; ``up`` only waits until it answers.
"""

from __future__ import annotations

import socket

from devdb.backends.base import ServerStatus
from devdb.conninfo import ConnInfo, parse_url
from devdb.database import can_connect, wait_ready
from devdb.errors import BackendError, ConfigError, ConnectionFailed, ReadinessTimeout
from devdb.settings import Settings


class ExternalBackend:
    name = "external"

    def __init__(self, settings: Settings) -> None:
        if not settings.database_url:
            raise ConfigError("the external backend needs DATABASE_URL")
        self.settings = settings
        self._info = parse_url(settings.database_url)

    @property
    def owned(self) -> bool:
        """An external server counts as ours only when it is on this machine."""
        return self._info.is_loopback

    def conninfo(self) -> ConnInfo:
        return self._info

    def start(self) -> ConnInfo:
        """Wait until the server answers (a CI service may still be starting); a host name that
        does not resolve fails at once, a wrong password at the first answer."""
        info = self._info
        endpoint = info.tcp_endpoint()
        try:
            if endpoint is not None:
                socket.getaddrinfo(*endpoint, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise ConnectionFailed(
                f"cannot connect to {info.host}:{info.port}: the host name does not resolve",
                "Check the host in DATABASE_URL.",
            ) from exc
        try:
            wait_ready(info, self.settings.ready_timeout)
        except ReadinessTimeout as exc:
            raise ConnectionFailed(
                f"DATABASE_URL: {exc.message}",
                "Check DATABASE_URL (host, port) and that the server runs; "
                "DEVDB_READY_TIMEOUT sets how long to wait.",
            ) from exc
        return info

    def stop(self) -> None:
        raise BackendError(
            "devdb does not stop an external server",
            "Stop it where it was started (your CI service, or its own tooling).",
        )

    def status(self) -> ServerStatus:
        return ServerStatus(self.name, can_connect(self._info), self._info)

    def logs(self, lines: int = 50) -> str:
        return "(the external backend has no logs devdb can read)"

    def remove(self) -> None:
        raise BackendError(
            "devdb never removes an external server",
            "Drop its databases yourself, or use db.reset to rebuild the project database.",
        )
