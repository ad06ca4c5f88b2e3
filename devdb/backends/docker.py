"""The docker backend: ``compose/compose.yaml`` driven by the compose CLI; engine checks,
container state, health and logs through the Docker SDK."""

from __future__ import annotations


def engine_available(timeout: float = 1.5) -> bool:
    """True when a Docker engine answers a ping."""
    try:
        import docker

        client = docker.from_env(timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False
