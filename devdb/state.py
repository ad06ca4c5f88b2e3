"""The project's git-ignored state folder: generated password, chosen port, backend data."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from devdb.settings import Settings

PASSWORD_FILE = "password"  # noqa: S105 - a file name, not a password
STATE_FILE = "state.json"


def state_dir(settings: Settings) -> Path:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return settings.state_dir


def owner_password(settings: Settings) -> str:
    """The owner's password: DEVDB_PASSWORD, else the one generated on first use."""
    if settings.password:
        return settings.password
    return _secret_file(settings, PASSWORD_FILE)


def has_owner_password(settings: Settings) -> bool:
    """Whether the owner's password is known without generating one."""
    return bool(settings.password) or (settings.state_dir / PASSWORD_FILE).is_file()


def role_password(settings: Settings, role: str) -> str:
    """A generated password for another role devdb manages (the app role)."""
    return _secret_file(settings, f"password.{role}")


def _secret_file(settings: Settings, name: str) -> str:
    path = settings.state_dir / name
    if path.is_file():
        return path.read_text().strip()
    state_dir(settings)
    value = secrets.token_urlsafe(18)
    tmp = path.with_name(f".{name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    try:
        os.link(tmp, path)  # atomic, and never over a password another process wrote first
    except FileExistsError:
        return path.read_text().strip()
    finally:
        tmp.unlink()
    return value


def read_state(settings: Settings) -> dict[str, Any]:
    path = settings.state_dir / STATE_FILE
    if not path.is_file():
        return {}
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def write_state(settings: Settings, **values: Any) -> None:
    data = read_state(settings) | values
    path = state_dir(settings) / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
