"""Backends: docker, native and external behind one interface; ``auto`` picks one."""

from __future__ import annotations

from devdb.backends.base import Backend, ServerStatus
from devdb.output import info
from devdb.settings import Settings
from devdb.state import read_state, write_state

__all__ = ["Backend", "ServerStatus", "backend_named", "get_backend", "resolve_backend_name"]


def resolve_backend_name(settings: Settings, *, announce: bool = True) -> str:
    """The backend to use. ``auto`` sticks to what this project used before; else docker when
    an engine answers and has the image (``announce``, i.e. ``db.up``: or can pull it), else
    native, saying why in one line."""
    if settings.backend != "auto":
        return settings.backend
    used = read_state(settings).get("backend")
    if used in {"docker", "native"}:
        return str(used)
    from devdb.backends.dockerengine import docker_unusable

    why_not = docker_unusable(settings.postgres_image, pull=announce)
    name = "docker" if why_not is None else "native"
    if announce:
        reason = f"a Docker engine answers and has {settings.postgres_image}"
        info(f"backend: {name} ({why_not or reason}; set DEVDB_BACKEND to choose)")
    return name


def get_backend(settings: Settings, *, announce: bool = True) -> Backend:
    return backend_named(resolve_backend_name(settings, announce=announce), settings)


def backend_named(name: str, settings: Settings) -> Backend:
    """The backend called ``name`` (docker, native, anything else: external)."""
    if name == "docker":
        from devdb.backends.docker import DockerBackend

        return DockerBackend(settings)
    if name == "native":
        from devdb.backends.native import NativeBackend

        return NativeBackend(settings)
    from devdb.backends.external import ExternalBackend

    return ExternalBackend(settings)


def remember_backend(settings: Settings, name: str) -> None:
    """Record which backend created this project's server, so ``auto`` keeps using it."""
    if name in {"docker", "native"}:
        write_state(settings, backend=name)
