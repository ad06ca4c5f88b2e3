"""The Docker engine and the compose CLI, for the docker backend: is an engine there (at
DOCKER_HOST, else the endpoint of the current Docker context, as the docker CLI picks it), which
compose to run, and where an image keeps its data. ``docker`` is imported only when used."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devdb.errors import BackendError, EngineUnavailable

if TYPE_CHECKING:
    from docker import DockerClient

PGDATA_FROM_18 = "/var/lib/postgresql"  # the image keeps PGDATA at /var/lib/postgresql/18/docker
PGDATA_BEFORE_18 = "/var/lib/postgresql/data"
DEFAULT_HOST = "unix:///var/run/docker.sock"
PULL_TIMEOUT = 180  # seconds without a byte from the engine during a pull
PROBE_API_VERSION = "1.24"  # only for the unversioned /version call; never sent to the API


def docker_host() -> str:
    """The engine's address as the docker CLI finds it: DOCKER_HOST, else the endpoint of the
    context named by DOCKER_CONTEXT or by ``currentContext`` in the CLI's config.json (Colima,
    Docker Desktop, rootless set one), else the default socket."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    config_dir = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    name = os.environ.get("DOCKER_CONTEXT") or _current_context(config_dir)
    if not name or name == "default":
        return DEFAULT_HOST
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config_dir / "contexts" / "meta" / digest / "meta.json"
    try:
        endpoint = json.loads(meta.read_text())["Endpoints"]["docker"]["Host"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EngineUnavailable(
            f"the current Docker context {name!r} has no readable endpoint ({meta})",
            "Check `docker context ls`, or `docker context use default`.",
        ) from exc
    return str(endpoint)


def _current_context(config_dir: Path) -> str:
    try:
        return str(json.loads((config_dir / "config.json").read_text()).get("currentContext") or "")
    except (OSError, ValueError, AttributeError):
        return ""


def engine_env() -> dict[str, str]:
    """The environment for the docker/compose CLI and the SDK: DOCKER_HOST set to the engine
    devdb talks to, so all three reach the same one."""
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_CONTEXT"}
    env["DOCKER_HOST"] = docker_host()
    return env


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

        probe = docker.from_env(
            timeout=timeout, version=PROBE_API_VERSION, environment=engine_env()
        )
    except Exception as exc:  # DockerException, or a bad DOCKER_HOST
        raise EngineUnavailable(f"no Docker engine answers at {_where()} ({_reason(exc)})") from exc
    try:
        api_version = str(probe.api.version(api_version=False)["ApiVersion"])
    except Exception as exc:  # connection refused, timeout, permission denied on the socket
        raise EngineUnavailable(f"no Docker engine answers at {_where()} ({_reason(exc)})") from exc
    finally:
        probe.close()
    return docker.from_env(timeout=timeout, version=api_version, environment=engine_env())


@functools.cache
def compose_command() -> tuple[str, ...]:
    """``docker compose`` when the v2 plugin answers, else ``docker-compose`` (v1)."""
    if shutil.which("docker"):
        try:
            probe = subprocess.run(
                ["docker", "compose", "version"], capture_output=True, check=False, timeout=20
            )
        except (OSError, subprocess.SubprocessError):
            probe = None
        if probe is not None and probe.returncode == 0:
            return ("docker", "compose")
    if shutil.which("docker-compose"):
        return ("docker-compose",)
    raise BackendError(
        "neither `docker compose` (v2) nor `docker-compose` (v1) is installed",
        "Install the Docker Compose plugin (it comes with Docker Desktop and docker-ce), "
        "or use DEVDB_BACKEND=native.",
    )


def docker_unusable(image: str, *, pull: bool) -> str | None:
    """Why the docker backend cannot serve (no engine; the image is missing and, with
    ``pull``, cannot be pulled), or None when it can. One ping and one image lookup; a pull only
    when ``pull`` (``db.up``) and the image is missing."""
    try:
        client = connect_engine(timeout=1.5)
    except EngineUnavailable as exc:
        return exc.message
    try:
        return image_unusable(client, image, pull=pull)
    finally:
        client.close()


def image_unusable(client: DockerClient, image: str, *, pull: bool) -> str | None:
    """None when ``image`` is on this machine (pulled now when it is not and ``pull``), else
    why it cannot be used."""
    from docker.errors import DockerException, ImageNotFound

    try:
        client.images.get(image)
        return None
    except ImageNotFound:
        if not pull:
            return f"the image {image} is not on this machine"
    except DockerException as exc:
        return f"the Docker engine could not look up {image} ({_reason(exc)})"
    from devdb.output import info

    info(f"pulling {image} (first time only; it may take a while)")
    timeout = client.api.timeout
    try:
        client.api.timeout = PULL_TIMEOUT
        client.images.pull(image)
    except DockerException as exc:
        why = getattr(exc, "explanation", None) or _reason(exc)
        return f"the image {image} could not be pulled ({first_line_of(str(why))})"
    except Exception as exc:  # requests' read timeout behind a silent proxy, say
        return f"the image {image} could not be pulled ({_reason(exc)})"
    finally:
        client.api.timeout = timeout  # the client's other calls keep their own
    return None


def mount_for_tag(image: str) -> str:
    """Where the official image keeps its data, judged from the tag's major version: 18 and
    later (and ``latest`` or no tag) use /var/lib/postgresql, earlier ones .../data."""
    name = image.split("@", 1)[0]
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else "latest"
    match = re.match(r"(\d+)", tag)
    if match and int(match.group(1)) < 18:
        return PGDATA_BEFORE_18
    return PGDATA_FROM_18


def image_config(client: DockerClient, image: str) -> dict[str, Any] | None:
    """The image's configuration (its Env, its Volumes) when it is on this machine, else None."""
    from docker.errors import DockerException

    try:
        config = client.images.get(image).attrs.get("Config")
    except DockerException:
        return None
    return config if isinstance(config, dict) else {}


def pgdata_mount(config: dict[str, Any] | None, image: str) -> str:
    """Where to mount the volume: the image's own data volume when the image is here (so no
    anonymous volume shadows ours), else what its tag implies."""
    volumes = (config or {}).get("Volumes") or {}
    declared = sorted(v for v in volumes if v.startswith("/var/lib/postgresql"))
    return declared[0] if declared else mount_for_tag(image)


def image_major(config: dict[str, Any] | None, image: str) -> int | None:
    """The image's PostgreSQL major: from its environment when it is on this machine (the
    official images' PG_MAJOR, else the /usr/lib/postgresql/<major>/bin on its PATH), else from
    the tag of an image named ``postgres`` (the official one or a mirror of it: ``postgres:18``,
    ``postgres:17-alpine``); None when neither says. Another image's tag is not trusted: its
    numbers may be anything (``team/pg:20-pg16``)."""
    found = major_from_env((config or {}).get("Env") or [])
    if found is None and _repository(image).rsplit("/", 1)[-1] == "postgres":
        found = major_from_tag(image)
    return found


def _repository(image: str) -> str:
    name = image.split("@", 1)[0]
    return name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name


def major_from_env(env: list[str]) -> int | None:
    values = dict(item.split("=", 1) for item in env if "=" in item)
    if values.get("PG_MAJOR", "").isdigit():
        return int(values["PG_MAJOR"])
    match = re.search(r"/usr/lib/postgresql/(\d+)/bin", values.get("PATH", ""))
    return int(match.group(1)) if match else None


def major_from_tag(image: str) -> int | None:
    name = image.split("@", 1)[0]
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
    match = re.match(r"(\d{1,2})(?!\d)", tag)
    return int(match.group(1)) if match else None


def io_setting(major: int | None) -> str:
    """The ``-c`` setting compose.yaml passes as DEVDB_IO_SETTING: ``io_method=sync`` from
    PostgreSQL 18 on (the native backend's IO_METHOD explains why); before 18, or when the major is
    unknown, a placeholder that changes nothing (io_method does not exist before 18, and an
    unknown setting would stop the server)."""
    return "io_method=sync" if major is not None and major >= 18 else "devdb.io_method=unchanged"


def _where() -> str:
    return docker_host()


def _check_unix_socket(timeout: float) -> None:
    """Connect to a unix-socket engine ourselves first: the SDK leaks its socket when that
    connect fails, and a missing socket file says plainly that no engine runs."""
    host = docker_host()
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
    text = first_line(exc)
    match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text) or re.search(
        r"Error\(-?\d+, '([^']+)'\)", text
    )
    if match:
        return match.group(1).strip()
    return text if len(text) <= 120 else text[:117] + "..."


def first_line_of(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
