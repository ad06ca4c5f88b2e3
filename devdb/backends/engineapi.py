"""A few read-only calls to the Docker Engine API over its Unix socket, without the Docker SDK.

``db.status`` only reads a container's state; importing the SDK (and requests with it) costs
more than the whole rest of the command, so the reads that status needs go straight to the
socket with the standard library. Anything that changes the engine still goes through the SDK
or the compose CLI.
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import quote

from devdb.backends.dockerengine import docker_host
from devdb.errors import EngineUnavailable


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def unix_socket() -> str | None:
    """The engine's socket path, or None when it is reached some other way (tcp, ssh)."""
    host = docker_host()
    return host.removeprefix("unix://") if host.startswith("unix://") else None


def get(path: str, timeout: float = 5) -> Any:
    """GET ``path`` from the engine: the decoded JSON, or None for 404."""
    where = unix_socket()
    if where is None:
        raise ValueError("the engine is not on a Unix socket")
    conn = _UnixConnection(where, timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise EngineUnavailable(f"no Docker engine answers at unix://{where} ({reason})") from exc
    finally:
        conn.close()
    if response.status == 404:
        return None
    if response.status >= 400:
        raise EngineUnavailable(f"the Docker engine answered {response.status} to GET {path}")
    return json.loads(body)


def inspect_by_labels(labels: list[str]) -> dict[str, Any] | None:
    """The inspect document of the first container carrying all ``labels``, or None."""
    filters = quote(json.dumps({"label": labels}))
    found = get(f"/containers/json?all=1&filters={filters}") or []
    if not found:
        return None
    doc = get(f"/containers/{found[0]['Id']}/json")
    return doc if isinstance(doc, dict) else None
