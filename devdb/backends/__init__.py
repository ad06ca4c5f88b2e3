"""Backends: docker, native and external behind one interface; ``auto`` picks one."""

from __future__ import annotations

from devdb.backends.base import Backend, ServerStatus
from devdb.output import info
from devdb.settings import Settings
from devdb.state import read_state, write_state

__all__ = ["Backend", "ServerStatus", "get_backend", "resolve_backend_name"]


def resolve_backend_name(settings: Settings, *, announce: bool = True) -> str:
    """The backend to use. ``auto`` sticks to what this project used before, else
    docker when an engine answers, else native, and says which it picked."""
    if settings.backend != "auto":
        return settings.backend
    used = read_state(settings).get("backend")
    if used in {"docker", "native"}:
        return str(used)
    from devdb.backends.docker import engine_available

    name = "docker" if engine_available() else "native"
    if announce:
        reason = "a Docker engine answers" if name == "docker" else "no Docker engine answers"
        info(f"backend: {name} ({reason}; set DEVDB_BACKEND to choose)")
    return name


def get_backend(settings: Settings, *, announce: bool = True) -> Backend:
    name = resolve_backend_name(settings, announce=announce)
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
