"""The docker backend: ``compose/compose.yaml`` driven by the compose CLI; engine checks,
container state, health and logs through the Docker SDK.

The compose CLI (``docker compose`` v2, else ``docker-compose`` v1) creates, starts, stops and
removes; the SDK finds the container by its compose labels and reads its state, health and logs.
The ``docker`` package is imported only when the backend is used (``invoke --list`` stays fast).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import socket
import subprocess
from typing import TYPE_CHECKING

from devdb.backends.base import ServerStatus
from devdb.conninfo import ConnInfo
from devdb.database import wait_ready
from devdb.errors import BackendError, ConfigError, EngineUnavailable, ServerStartError
from devdb.output import info
from devdb.ports import choose_port, recorded_port
from devdb.settings import Settings
from devdb.state import owner_password

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

SERVICE = "postgres"
CONTAINER_PORT = "5432/tcp"
PGDATA_FROM_18 = "/var/lib/postgresql"  # the image keeps PGDATA at /var/lib/postgresql/18/docker
PGDATA_BEFORE_18 = "/var/lib/postgresql/data"
DEFAULT_HOST = "unix:///var/run/docker.sock"
PROBE_API_VERSION = "1.24"  # only for the unversioned /version call; never sent to the API
COMPOSE_TIMEOUT = 600  # seconds; a first `up` may pull the image


def engine_available(timeout: float = 1.5) -> bool:
    """True when a Docker engine answers a ping."""
    try:
        connect_engine(timeout).close()
    except EngineUnavailable:
        return False
    return True


def connect_engine(timeout: float = 5) -> DockerClient:
    """A Docker SDK client for the engine's API version, or ``EngineUnavailable``.

    The version is asked for with a client that makes no request when built (a pinned version),
    so a dead engine leaves no half-built client and no open socket behind."""
    _check_unix_socket(timeout)
    try:
        import docker

        probe = docker.from_env(timeout=timeout, version=PROBE_API_VERSION)
    except Exception as exc:  # DockerException, or a bad DOCKER_HOST
        raise EngineUnavailable(f"no Docker engine answers at {_where()} ({_reason(exc)})") from exc
    try:
        api_version = str(probe.api.version(api_version=False)["ApiVersion"])
    except Exception as exc:  # connection refused, timeout, permission denied on the socket
        raise EngineUnavailable(f"no Docker engine answers at {_where()} ({_reason(exc)})") from exc
    finally:
        probe.close()
    return docker.from_env(timeout=timeout, version=api_version)


@functools.cache
def compose_command() -> tuple[str, ...]:
    """``docker compose`` when the v2 plugin answers, else ``docker-compose`` (v1)."""
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False, timeout=20
        )
        if probe.returncode == 0:
            return ("docker", "compose")
    if shutil.which("docker-compose"):
        return ("docker-compose",)
    raise BackendError(
        "neither `docker compose` (v2) nor `docker-compose` (v1) is installed",
        "Install the Docker Compose plugin (it comes with Docker Desktop and docker-ce), "
        "or use DEVDB_BACKEND=native.",
    )


def mount_for_tag(image: str) -> str:
    """Where the official image keeps its data, judged from the tag's major version: 18 and
    later (and ``latest`` or no tag) use /var/lib/postgresql, earlier ones .../data."""
    name = image.split("@", 1)[0]
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else "latest"
    match = re.match(r"(\d+)", tag)
    if match and int(match.group(1)) < 18:
        return PGDATA_BEFORE_18
    return PGDATA_FROM_18


def pgdata_mount(client: DockerClient, image: str) -> str:
    """Where to mount the volume: the image's own data volume when the image is here (so no
    anonymous volume shadows ours), else what its tag implies."""
    from docker.errors import DockerException

    try:
        volumes = client.images.get(image).attrs.get("Config", {}).get("Volumes") or {}
    except DockerException:
        return mount_for_tag(image)
    declared = sorted(v for v in volumes if v.startswith("/var/lib/postgresql"))
    return declared[0] if declared else mount_for_tag(image)


class DockerBackend:
    name = "docker"
    owned = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: DockerClient | None = None

    @property
    def client(self) -> DockerClient:
        if self._client is None:
            self._client = connect_engine()
        return self._client

    # -- interface -------------------------------------------------------------------------

    def conninfo(self) -> ConnInfo:
        port = None
        with contextlib.suppress(EngineUnavailable):
            container = self.container()
            port = _host_port(container) if container is not None else None
        return self._conninfo(port or recorded_port(self.settings))

    def start(self) -> ConnInfo:
        container = self.container()
        if container is not None and container.status == "running":
            port = _host_port(container)
            if port is not None:
                return self._wait(self._conninfo(port))
        self._check_compose_file()
        port = choose_port(self.settings)
        self._pull_notice()
        self.compose("up", "-d", port=port, what="start the postgres container")
        return self._wait(self._conninfo(port))

    def stop(self) -> None:
        container = self.container()
        if container is None or container.status != "running":
            return
        if self.settings.compose_file.is_file():
            self.compose("stop", what="stop the postgres container")
        else:
            container.stop(timeout=10)

    def status(self) -> ServerStatus:
        try:
            container = self.container()
        except EngineUnavailable as exc:
            return ServerStatus(self.name, False, None, {"error": exc.message})
        if container is None:
            return ServerStatus(self.name, False, None, {"image": self.settings.postgres_image})
        state = container.attrs.get("State", {})
        detail = {
            "container": container.name or "",
            "image": self.settings.postgres_image,
            "volume": f"{self.settings.compose_project}_pgdata",
            "state": str(state.get("Status", container.status)),
        }
        health = (state.get("Health") or {}).get("Status")
        if health:
            detail["health"] = str(health)
        running = container.status == "running"
        port = _host_port(container)
        conninfo = self._conninfo(port) if running and port else None
        return ServerStatus(self.name, running, conninfo, detail)

    def logs(self, lines: int = 50) -> str:
        container = self.container()
        if container is None:
            return ""
        raw: bytes = container.logs(tail=lines, stdout=True, stderr=True)
        return raw.decode(errors="replace").rstrip("\n")

    def remove(self) -> None:
        """``compose down -v`` (container and volume), then sweep anything left by label."""
        client = self.client
        if self.settings.compose_file.is_file():
            self.compose(
                "down",
                "-v",
                "--remove-orphans",
                port=recorded_port(self.settings),
                what="remove the postgres container and volume",
            )
        label = f"com.docker.compose.project={self.settings.compose_project}"
        for container in client.containers.list(all=True, filters={"label": label}):
            container.remove(force=True, v=True)
        for volume in client.volumes.list(filters={"label": label}):
            volume.remove(force=True)

    # -- containers ------------------------------------------------------------------------

    def container(self) -> Container | None:
        """This project's postgres container, found by its compose labels."""
        labels = [
            f"com.docker.compose.project={self.settings.compose_project}",
            f"com.docker.compose.service={SERVICE}",
        ]
        found = self.client.containers.list(all=True, filters={"label": labels})
        return found[0] if found else None

    def _conninfo(self, port: int) -> ConnInfo:
        s = self.settings
        return ConnInfo("127.0.0.1", port, s.user, owner_password(s), s.database)

    def _wait(self, conninfo: ConnInfo) -> ConnInfo:
        wait_ready(
            conninfo,
            self.settings.ready_timeout,
            log_tail=lambda: self.logs(30),
            alive=self._alive,
        )
        return conninfo

    def _alive(self) -> bool:
        container = self.container()
        return container is not None and container.status in {"created", "running", "restarting"}

    def _pull_notice(self) -> None:
        from docker.errors import ImageNotFound

        try:
            self.client.images.get(self.settings.postgres_image)
        except ImageNotFound:
            info(f"pulling {self.settings.postgres_image} (first time only; it may take a while)")

    # -- compose ---------------------------------------------------------------------------

    def _check_compose_file(self) -> None:
        if not self.settings.compose_file.is_file():
            raise ConfigError(
                f"the compose file {self.settings.compose_file} does not exist",
                "Add compose/compose.yaml (devdb's repository has one to copy), set "
                "DEVDB_COMPOSE_FILE, or use DEVDB_BACKEND=native.",
            )

    def compose_env(self, port: int) -> dict[str, str]:
        """The compose process's environment: what compose.yaml interpolates."""
        s = self.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        env.update(
            DEVDB_POSTGRES_IMAGE=s.postgres_image,
            DEVDB_PORT=str(port),
            DEVDB_PGDATA_MOUNT=pgdata_mount(self.client, s.postgres_image),
            DEVDB_FSYNC="on" if s.durable else "off",
            DEVDB_INITDB_ARGS="" if s.durable else "--no-sync",
            POSTGRES_USER=s.user,
            POSTGRES_PASSWORD=owner_password(s),
            POSTGRES_DB=s.database,
        )
        return env

    def compose(self, *args: str, port: int | None = None, what: str) -> str:
        """Run one compose command for this project; its output, or ``ServerStartError``."""
        s = self.settings
        cmd = [*compose_command(), "-p", s.compose_project, "-f", str(s.compose_file), *args]
        env = self.compose_env(port or recorded_port(s))
        try:
            result = subprocess.run(
                cmd,
                env=env,
                capture_output=True,
                text=True,
                check=False,
                timeout=COMPOSE_TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ServerStartError(f"could not {what}: {_first_line(exc)}") from exc
        output = (result.stderr + result.stdout).strip()
        if result.returncode != 0:
            raise ServerStartError(
                f"could not {what}: `{' '.join(cmd[: len(compose_command())])} "
                f"{' '.join(args)}` exited with {result.returncode}",
                "Read compose's output below; `invoke db.logs` shows the server's log.",
                log=_redact(output, env["POSTGRES_PASSWORD"])[-3000:],
            )
        return output


def _host_port(container: Container) -> int | None:
    """The 127.0.0.1 host port published for 5432, from the container's configuration."""
    bindings = container.attrs.get("HostConfig", {}).get("PortBindings") or {}
    for binding in bindings.get(CONTAINER_PORT) or []:
        port = str(binding.get("HostPort") or "")
        if port.isdigit():
            return int(port)
    return None


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "****") if secret else text


def _where() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def _check_unix_socket(timeout: float) -> None:
    """Connect to a unix-socket engine ourselves first: the SDK leaks its socket when that
    connect fails, and a missing socket file says plainly that no engine runs."""
    host = os.environ.get("DOCKER_HOST") or DEFAULT_HOST
    if not host.startswith("unix://"):
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(host.removeprefix("unix://"))
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise EngineUnavailable(f"no Docker engine answers at {host} ({reason})") from exc


def _reason(exc: BaseException) -> str:
    """The useful end of a requests/urllib3 error chain: "Connection refused", say."""
    text = _first_line(exc)
    match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text) or re.search(
        r"Error\(-?\d+, '([^']+)'\)", text
    )
    if match:
        return match.group(1).strip()
    return text if len(text) <= 120 else text[:117] + "..."


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = [
    "DockerBackend",
    "compose_command",
    "connect_engine",
    "engine_available",
    "mount_for_tag",
    "pgdata_mount",
]
