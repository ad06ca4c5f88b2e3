"""``db.psql``: an interactive psql on the project database, wherever the server runs.

Which psql: the native backend's own (next to its server binaries), else ``psql`` on PATH, else,
for the docker backend, the one inside the container (``docker exec``). The password goes to psql
through the ``PGPASSWORD`` environment variable, never on the command line (where ``ps`` shows it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from devdb.conninfo import ConnInfo, clean_environ
from devdb.errors import BinariesNotFound, ConnectionFailed
from devdb.settings import Settings

__all__ = ["BinariesNotFound", "ConnectionFailed", "PsqlCommand", "command_for", "psql", "run"]


@dataclass(frozen=True)
class PsqlCommand:
    """The argument list and the extra environment (the password) to run psql with."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    where: str = "local"  # local, native or container


def local_psql(settings: Settings, backend_name: str) -> tuple[str, str] | None:
    """A psql binary on this machine and where it came from: the native backend's own first
    (``native``), then PATH (``local``)."""
    if backend_name == "native":
        from devdb.backends.pgbin import find_binaries

        with contextlib.suppress(BinariesNotFound):
            bundled = find_binaries(settings.pg_bin).bindir / "psql"
            if bundled.is_file():
                return str(bundled), "native"
    found = shutil.which("psql")
    return (found, "local") if found else None


def build_command(
    settings: Settings,
    conninfo: ConnInfo,
    args: Sequence[str] = (),
    *,
    backend_name: str = "external",
    container: str | None = None,
    interactive: bool | None = None,
) -> PsqlCommand:
    """How to run psql against ``conninfo`` with the user's extra ``args``."""
    env = {"PGPASSWORD": conninfo.password} if conninfo.password else {}
    env["PGAPPNAME"] = "devdb-psql"
    local = local_psql(settings, backend_name)
    if local is not None:
        env = conninfo.libpq_env() | {"PGAPPNAME": "devdb-psql"}  # sslmode & co, pinned
        binary, where = local
        argv = [binary, "-h", conninfo.host, "-p", str(conninfo.port)]
        argv += ["-U", conninfo.user, "-d", conninfo.dbname, *args]
        return PsqlCommand(argv, env, where)
    if container:
        tty = sys.stdin.isatty() and sys.stdout.isatty() if interactive is None else interactive
        argv = ["docker", "exec", "-i", *(["-t"] if tty else [])]
        argv += [f"-e{name}" for name in env]  # values come from our environment, not argv
        argv += [container, "psql", "-U", conninfo.user, "-d", conninfo.dbname, *args]
        return PsqlCommand(argv, env, "container")
    raise BinariesNotFound(
        "psql is not installed here, and the server is not in a container devdb can exec into",
        "Install the PostgreSQL client (apt install postgresql-client, brew install libpq), "
        "or use the native backend, which brings its own psql.",
    )


def command_for(
    settings: Settings, *, database: str | None = None, args: Sequence[str] = ()
) -> PsqlCommand:
    """The psql command for this project's running server (raises when nothing answers)."""
    from devdb.backends import get_backend
    from devdb.server import owner_conninfo

    backend = get_backend(settings, announce=False)
    conninfo = owner_conninfo(settings)
    if database:
        conninfo = conninfo.for_database(database)
    container = None
    if backend.name == "docker" and local_psql(settings, backend.name) is None:
        container = backend.status().detail.get("container") or None
    return build_command(settings, conninfo, args, backend_name=backend.name, container=container)


def run(command: PsqlCommand) -> int:
    """Run psql attached to this terminal and return its exit code.

    Ctrl-C belongs to psql (it cancels the running query), so devdb ignores SIGINT meanwhile.
    """
    env = clean_environ(os.environ) | command.env  # no PGHOSTADDR/PGSERVICE can redirect it
    with _sigint_ignored():
        try:
            return subprocess.run(command.argv, env=env, check=False).returncode
        except FileNotFoundError as exc:
            raise BinariesNotFound(f"cannot run {command.argv[0]}: {exc.strerror}") from exc


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: nothing to do
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def psql(settings: Settings, *, database: str | None = None, args: Sequence[str] = ()) -> int:
    """Open psql on the project database (or ``database``); returns psql's exit code."""
    return run(command_for(settings, database=database, args=args))
