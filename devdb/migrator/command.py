"""The command migrator (``DEVDB_MIGRATOR=command``): any command line (dbmate, Flyway, Sqitch,
Atlas, a script) run with the database URL in DATABASE_URL (DEVDB_MIGRATE_URL_VAR).

DEVDB_MIGRATE_COMMAND is split like a shell would (``shlex``) but run without one: no expansion.
The digest covers the files DEVDB_MIGRATOR_INPUTS names and the command line itself. A loopback
URL carries ``sslmode=disable`` (devdb's local servers have no TLS; Go tools such as dbmate
default to requiring it).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from devdb.conninfo import ConnInfo
from devdb.errors import ConfigError
from devdb.migrator.base import BaseMigrator, Progress, quiet, refresh_grants, run_tool, tool_env
from devdb.settings import Settings


class CommandMigrator(BaseMigrator):
    name = "command"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        if not settings.migrate_command.strip():
            raise ConfigError(
                "DEVDB_MIGRATOR=command needs DEVDB_MIGRATE_COMMAND",
                "Set it to the command that migrates, e.g. `dbmate --no-dump-schema up`.",
            )
        if not settings.migrator_inputs:
            raise ConfigError(
                "DEVDB_MIGRATOR=command needs DEVDB_MIGRATOR_INPUTS",
                "List the migration files (globs, comma separated), e.g. `db/migrations/*.sql`: "
                "their content keys the template.",
            )

    def args(self) -> list[str]:
        try:
            args = shlex.split(self.settings.migrate_command)
        except ValueError as exc:
            raise ConfigError(f"DEVDB_MIGRATE_COMMAND cannot be split: {exc}") from exc
        return args

    def fields(self) -> list[str]:
        return [self.name, self.settings.migrate_command, self.settings.migrate_url_var]

    def url(self, conninfo: ConnInfo) -> str:
        url = conninfo.url(show_password=True)
        if not conninfo.is_loopback or "sslmode=" in url:
            return url
        return url + ("&" if "?" in url else "?") + "sslmode=disable"

    def migrate(
        self,
        conninfo: ConnInfo,
        *,
        to: str | None = None,
        dry_run: bool = False,
        allow_out_of_order: bool = False,
        progress: Progress = quiet,
    ) -> list[str] | None:
        """Run the command; which migrations it applied is the tool's business (``None``)."""
        self._no_sql_flags(dry_run, allow_out_of_order)
        if to is not None:
            raise self.cannot("migrate to a version (--to)")
        args = self.args()
        out = run_tool(
            args,
            cwd=self.settings.root,
            env=tool_env(self.settings, self.url(conninfo)),
            what=Path(args[0]).name,
            secret=conninfo.password,
            progress=progress,
        )
        for line in out.splitlines():
            progress(line)
        refresh_grants(self.settings, conninfo)
        return None
