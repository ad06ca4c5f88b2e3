"""Guard rails for destructive tasks (reset, snapshot restore, load, destroy, migrate down).

Two checks, both before anything is dropped:

1. ``require_owned`` runs BEFORE any connection is made: the target must be a local server devdb
   owns (its container, its native cluster, or an external server whose every address is
   loopback, 127.0.0.0/8 or ::1, ``localhost`` or a Unix socket; names are never looked up), unless
   ``--force`` is given or the host is listed in ``DEVDB_ALLOWED_HOSTS``. The refusal names the
   host.
2. ``confirm_drop`` shows the exact database name and asks; ``--yes`` skips the question, and
   without a terminal the question is a refusal (never a hang).
"""

from __future__ import annotations

from dataclasses import dataclass

from devdb.conninfo import is_local_address
from devdb.errors import GuardError
from devdb.output import confirm, no_answer, warn
from devdb.settings import Settings


@dataclass(frozen=True)
class Target:
    """What a destructive task is about to touch, known without connecting."""

    backend: str
    host: str
    port: int | None
    database: str
    owned: bool  # a local server devdb owns
    allowed: bool  # the host is listed in DEVDB_ALLOWED_HOSTS

    def describe(self) -> str:
        where = f"{self.host}:{self.port}" if self.port else self.host
        return f"database {self.database!r} on {where} ({self.backend} backend)"


def target_of(settings: Settings) -> Target:
    """The server and database a task would touch, from settings alone (no connection, no DNS).

    For the external backend the URL is resolved as libpq resolves it (service file, PG*
    variables), and every address it would connect to (``hostaddr`` when given, else each host)
    must be local or allowed; connections then use exactly these resolved parameters."""
    from devdb.backends import resolve_backend_name

    name = resolve_backend_name(settings, announce=False)
    if name == "external":
        from devdb.conninfo import parse_url

        if not settings.database_url:
            from devdb.errors import ConfigError

            raise ConfigError("the external backend needs DATABASE_URL")
        info = parse_url(settings.database_url)
        allowed_names = {h.lower() for h in settings.allowed_hosts}
        outside = [a for a in info.addresses() if not is_local_address(a)]
        allowed = bool(outside) and all(a.lower() in allowed_names for a in outside)
        host = ",".join(outside) or info.host or "localhost"
        return Target(name, host, info.port, info.dbname, not outside, allowed)
    # docker and native servers listen on 127.0.0.1 only, devdb started them, and their
    # connections pin hostaddr=127.0.0.1 (the environment cannot redirect them).
    return Target(name, "127.0.0.1", settings.port, settings.database, True, False)


def require_owned(settings: Settings, *, force: bool, action: str) -> Target:
    """Raise ``GuardError`` unless ``action`` may run against this project's server.

    Called before connecting: a refusal never touches the network.
    """
    target = target_of(settings)
    if target.owned or target.allowed:
        return target
    if force:
        warn(f"{action}: --force given, touching non-local host {target.host!r}")
        return target
    raise GuardError(
        f"refusing to {action} on host {target.host!r}: it is not a local server devdb owns "
        f"({target.describe()})",
        f"Pass --force, or add {target.host} to DEVDB_ALLOWED_HOSTS, if you really mean to "
        f"{action} there.",
    )


PROTECTED = frozenset({"postgres", "template0", "template1"})


def check_droppable(database: str) -> None:
    """Never replace PostgreSQL's own databases."""
    if database in PROTECTED:
        raise GuardError(
            f"refusing to drop {database!r}: it is one of PostgreSQL's own databases",
            "Set DEVDB_DATABASE (or the database in DATABASE_URL) to your project's database.",
        )


def confirm_drop(database: str, *, action: str, yes: bool, detail: str = "") -> None:
    """Show the exact database name and ask; refuse without a terminal unless ``yes``."""
    check_droppable(database)
    question = f"{action}: database {database!r} will be dropped and replaced{detail}. Continue?"
    if not confirm(question, yes=yes):
        raise GuardError(
            f"{action} not done: database {database!r} was left untouched ({no_answer()})",
            "Pass --yes to skip the question.",
        )


def require_yes(question: str, *, yes: bool, refused: str) -> None:
    """Ask ``question``; on no, a ``GuardError`` "<refused> (you answered no | no terminal)"."""
    if not confirm(question, yes=yes):
        raise GuardError(f"{refused} ({no_answer()})", "Pass --yes to skip the question.")
