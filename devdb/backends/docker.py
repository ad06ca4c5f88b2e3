"""The docker backend: ``compose/compose.yaml`` driven by the compose CLI; engine checks,
container state, health and logs through the Docker SDK.

The compose CLI (``docker compose`` v2, else ``docker-compose`` v1) creates, starts, stops and
removes; the SDK finds the container by its compose labels and reads its state, health and logs.
The ``docker`` package is imported only when the backend is used (``invoke --list`` stays fast).
"""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devdb.backends.base import ServerStatus
from devdb.backends.dockerengine import (
    compose_command,
    connect_engine,
    engine_available,
    engine_env,
    first_line,
    image_config,
    image_major,
    image_unusable,
    io_setting,
    mount_for_tag,
    pgdata_mount,
)
from devdb.backends.majors import incompatible_volume, upgrade_hint
from devdb.conninfo import ConnInfo
from devdb.database import wait_ready
from devdb.errors import ConfigError, EngineUnavailable, ReadinessTimeout, ServerStartError
from devdb.output import warn
from devdb.ports import choose_port, recorded_port
from devdb.settings import Settings
from devdb.state import owner_password, read_state, write_state

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

SERVICE = "postgres"
CONTAINER_PORT = "5432/tcp"
COMPOSE_TIMEOUT = 600  # seconds; a first `up` may pull the image
ALIVE_EVERY = 0.2  # seconds between container state checks while waiting for the server


class DockerBackend:
    name = "docker"
    owned = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: DockerClient | None = None
        self._image: dict[str, Any] | None = None

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
        self._ensure_image(required=container is None)
        fingerprint = self._fingerprint(port)
        if container is None or not self._start_unchanged(container, fingerprint):
            self._check_io_setting()
            self.compose("up", "-d", port=port, what="start the postgres container")
            created = self.container()
            if created is not None:
                write_state(self.settings, docker={"container": created.id, "config": fingerprint})
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
        """Read through the engine's socket directly when it is one (no SDK import: fast)."""
        try:
            attrs = self._inspect()
        except EngineUnavailable as exc:
            return ServerStatus(self.name, False, None, {"error": exc.message})
        if attrs is None:
            detail = {"image": self.settings.postgres_image, "state": "not created"}
            return ServerStatus(self.name, False, None, detail)
        state = attrs.get("State", {})
        detail = {
            "container": str(attrs.get("Name", "")).lstrip("/"),
            "image": self.settings.postgres_image,
            "volume": f"{self.settings.compose_project}_pgdata",
            "state": str(state.get("Status", "")),
        }
        health = (state.get("Health") or {}).get("Status")
        if health:
            detail["health"] = str(health)
        running = state.get("Status") == "running"
        port = _host_port(attrs)
        conninfo = self._conninfo(port) if running and port else None
        return ServerStatus(self.name, running, conninfo, detail)

    def _inspect(self) -> dict[str, Any] | None:
        from devdb.backends import engineapi

        if engineapi.unix_socket() is not None:
            return engineapi.inspect_by_labels(self._labels())
        container = self.container()
        return container.attrs if container is not None else None

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
        for network in client.networks.list(filters={"label": label}):
            network.remove()

    # -- containers ------------------------------------------------------------------------

    def container(self) -> Container | None:
        """This project's postgres container, found by its compose labels."""
        found = self.client.containers.list(all=True, filters={"label": self._labels()})
        return found[0] if found else None

    def _labels(self) -> list[str]:
        return [
            f"com.docker.compose.project={self.settings.compose_project}",
            f"com.docker.compose.service={SERVICE}",
        ]

    def _conninfo(self, port: int) -> ConnInfo:
        s = self.settings
        return ConnInfo("127.0.0.1", port, s.user, owner_password(s), s.database)

    def _wait(self, conninfo: ConnInfo) -> ConnInfo:
        try:
            wait_ready(
                conninfo,
                self.settings.ready_timeout,
                log_tail=lambda: self.logs(30),
                alive=self._alive_check(),
            )
        except ReadinessTimeout as exc:
            majors = incompatible_volume(exc.log)
            if majors is not None:
                have, want = majors
                exc.message = (
                    f"the volume holds PostgreSQL {have} data, but {self.settings.postgres_image} "
                    f"is PostgreSQL {want}: PostgreSQL cannot open another major's data"
                )
                exc.hint = upgrade_hint(
                    have, want, keep=f"DEVDB_POSTGRES_IMAGE to a PostgreSQL {have} image"
                )
            raise
        return conninfo

    def _alive_check(self) -> Callable[[], bool]:
        """Whether the container still runs, for wait_ready: one cheap inspect by id, at most
        every ALIVE_EVERY seconds (the engine shares the CPU with the starting server)."""
        from docker.errors import NotFound

        container = self.container()
        if container is None:
            return lambda: False
        last = {"at": 0.0, "alive": True}

        def alive() -> bool:
            now = time.monotonic()
            if now - last["at"] >= ALIVE_EVERY:
                last["at"] = now
                try:
                    state = self.client.api.inspect_container(container.id)["State"]["Status"]
                except NotFound:
                    state = "removed"
                last["alive"] = state in {"created", "running", "restarting"}
            return bool(last["alive"])

        return alive

    def _fingerprint(self, port: int) -> str:
        """A digest of what `compose up` would build the container from."""
        digest = hashlib.sha256(self.settings.compose_file.read_bytes())
        for key, value in sorted(self.compose_vars(port).items()):
            digest.update(f"\0{key}={value}".encode())
        return digest.hexdigest()

    def _start_unchanged(self, container: Container, fingerprint: str) -> bool:
        """The fast warm start: when the stopped container is the one devdb's last `compose up`
        made from the same file and settings, start it through the SDK (compose would only do
        the same, slower). False means: let compose create or recreate it."""
        from docker.errors import APIError

        made = read_state(self.settings).get("docker") or {}
        if made.get("container") != container.id or made.get("config") != fingerprint:
            return False
        try:
            container.start()
        except APIError:
            return False  # e.g. its port was taken meanwhile: compose reports it properly
        return True

    def _ensure_image(self, *, required: bool) -> None:
        """Pull the image now when it is not here: the container's settings (its data volume,
        its major's I/O setting) are read from the image, and must not change once it arrives
        (that would make the next `db.up` recreate the container). Not ``required`` (a container
        exists, which may start without it): a failed pull is left for compose to report."""
        image = self.settings.postgres_image
        self._image = image_config(self.client, image)
        if self._image is not None:
            return
        why = image_unusable(self.client, image, pull=True)
        if why is None:
            self._image = image_config(self.client, image)
        elif required:
            raise ServerStartError(
                f"could not start the postgres container: {why}",
                "Check the network or registry login, set DEVDB_POSTGRES_IMAGE to an image you "
                "have (`docker images`), or use DEVDB_BACKEND=native.",
            )

    def _image_config(self) -> dict[str, Any] | None:
        """The image's configuration, looked up once it is here."""
        if self._image is None:
            self._image = image_config(self.client, self.settings.postgres_image)
        return self._image

    def _check_io_setting(self) -> None:
        """A compose file scaffolded before devdb passed DEVDB_IO_SETTING: say what it misses
        (unless it sets io_method itself)."""
        major = image_major(self._image_config(), self.settings.postgres_image)
        if major is None or major < 18:
            return
        text = self.settings.compose_file.read_text(errors="replace")
        lines = [line.split("#", 1)[0] for line in text.splitlines()]
        if any("${DEVDB_IO_SETTING" in line or "io_method" in line for line in lines):
            return
        warn(
            f"{self.settings.compose_file.name} does not pass DEVDB_IO_SETTING, so PostgreSQL "
            f"{major} runs with io_method=worker (test databases' drops slow down over time): "
            "add `- -c` and `- ${DEVDB_IO_SETTING:-devdb.io_method=unchanged}` to the command "
            "of its postgres service"
        )

    # -- compose ---------------------------------------------------------------------------

    def _check_compose_file(self) -> None:
        if not self.settings.compose_file.is_file():
            raise ConfigError(
                f"the compose file {self.settings.compose_file} does not exist",
                "Add compose/compose.yaml (devdb's repository has one to copy), set "
                "DEVDB_COMPOSE_FILE, or use DEVDB_BACKEND=native.",
            )

    def compose_env(self, port: int) -> dict[str, str]:
        """The compose process's environment: ours, plus what compose.yaml interpolates."""
        env = {k: v for k, v in engine_env().items() if not k.startswith("COMPOSE_")}
        return env | self.compose_vars(port)

    def compose_vars(self, port: int) -> dict[str, str]:
        """The variables compose.yaml interpolates."""
        s = self.settings
        return {
            "DEVDB_POSTGRES_IMAGE": s.postgres_image,
            "DEVDB_PORT": str(port),
            "DEVDB_PGDATA_MOUNT": pgdata_mount(self._image_config(), s.postgres_image),
            "DEVDB_FSYNC": "on" if s.durable else "off",
            "DEVDB_IO_SETTING": io_setting(image_major(self._image_config(), s.postgres_image)),
            "DEVDB_INITDB_ARGS": "" if s.durable else "--no-sync",
            "POSTGRES_USER": s.user,
            "POSTGRES_PASSWORD": owner_password(s),
            "POSTGRES_DB": s.database,
        }

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
            raise ServerStartError(f"could not {what}: {first_line(exc)}") from exc
        output = (result.stderr + result.stdout).strip()
        if result.returncode != 0:
            hint = "Read compose's output below; `invoke db.logs` shows the server's log."
            if "Pulling" in output or "pull access denied" in output:
                hint = (
                    f"The image {self.settings.postgres_image} could not be pulled: check the "
                    "network or registry login, set DEVDB_POSTGRES_IMAGE to an image you have "
                    "(`docker images`), or use DEVDB_BACKEND=native."
                )
            raise ServerStartError(
                f"could not {what}: `{' '.join(cmd[: len(compose_command())])} "
                f"{' '.join(args)}` exited with {result.returncode}",
                hint,
                log=_redact(output, env["POSTGRES_PASSWORD"])[-3000:],
                log_label=f"Last lines of `{' '.join(compose_command())}`'s output",
            )
        return output


def _host_port(container: Container | dict[str, Any]) -> int | None:
    """The 127.0.0.1 host port published for 5432, from the container's configuration."""
    attrs = container if isinstance(container, dict) else container.attrs
    bindings = attrs.get("HostConfig", {}).get("PortBindings") or {}
    for binding in bindings.get(CONTAINER_PORT) or []:
        port = str(binding.get("HostPort") or "")
        if port.isdigit():
            return int(port)
    return None


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "****") if secret else text


__all__ = [
    "DockerBackend",
    "compose_command",
    "connect_engine",
    "engine_available",
    "mount_for_tag",
    "pgdata_mount",
]
