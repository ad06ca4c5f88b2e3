"""The alembic migrator (``DEVDB_MIGRATOR=alembic``): the project's alembic.ini and env.py, run
through Alembic's own API (``command.upgrade(cfg, "heads")``, ``downgrade``, ``revision``, the
script directory's history) in a child process (``devdb.migrator.alembic_child``).

The digest covers alembic.ini and every ``.py`` file under its ``script_location`` (env.py and the
versions); DEVDB_MIGRATOR_INPUTS adds more (models a migration imports, other version folders).
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from devdb.conninfo import ConnInfo
from devdb.errors import ConfigError, MigrationToolFailed
from devdb.migrator.base import (
    BaseMigrator,
    Progress,
    Step,
    files_under,
    quiet,
    refresh_grants,
    run_tool,
    tool_env,
)

if TYPE_CHECKING:
    from devdb.migrations.verify import Verdict

MARKER = "devdb-result "


class AlembicMigrator(BaseMigrator):
    name = "alembic"
    operations = frozenset({"status", "down", "new", "verify"})
    tracking_table = "alembic_version"

    def ini(self) -> Path:
        path = self.settings.alembic_config
        if not path.is_file():
            raise ConfigError(
                f"DEVDB_MIGRATOR=alembic, but {path.name} does not exist",
                "Point DEVDB_ALEMBIC_CONFIG at the project's alembic.ini.",
            )
        return path

    def _option(self, name: str) -> str:
        parser = configparser.ConfigParser(defaults={"here": str(self.ini().parent)})
        parser.read(self.ini())
        return parser.get("alembic", name, fallback="")

    def inputs(self) -> list[Path]:
        location = self._option("script_location")
        if not location:
            raise ConfigError(f"{self.ini().name} has no script_location in [alembic]")
        folder = Path(location)
        folder = folder if folder.is_absolute() else self.ini().parent / folder
        if folder.is_dir():
            return [self.ini(), *files_under(folder)]
        if self.settings.migrator_inputs:  # e.g. a package resource ("pkg:migrations")
            return [self.ini()]
        raise ConfigError(
            f"{self.ini().name}'s script_location {location!r} is not a folder devdb can read",
            "List the revision files in DEVDB_MIGRATOR_INPUTS (globs, e.g. app/versions/*.py).",
        )

    def url(self, conninfo: ConnInfo) -> str:
        """The URL with the SQLAlchemy driver of alembic.ini's ``sqlalchemy.url`` (when it names
        one), else psycopg2's default dialect when installed, else psycopg (3), devdb's own."""
        scheme = urlsplit(self._option("sqlalchemy.url")).scheme
        if not scheme.startswith("postgresql"):
            has_pg2 = importlib.util.find_spec("psycopg2") is not None
            scheme = "postgresql" if has_pg2 else "postgresql+psycopg"
        return scheme + conninfo.url(show_password=True).removeprefix("postgresql")

    def _call(self, conninfo: ConnInfo, op: str, arg: str = "", progress: Progress = quiet) -> Any:
        module = "devdb.migrator.alembic_child"
        args = [sys.executable, "-m", module, str(self.ini()), self.settings.migrate_url_var, op]
        out = run_tool(
            [*args, arg] if arg else args,
            cwd=self.ini().parent,
            env=tool_env(self.settings, self.url(conninfo)),
            what=f"alembic {op} {arg}".rstrip(),
            secret=conninfo.password,
            progress=progress,
        )
        for line in reversed(out.splitlines()):
            if line.startswith(MARKER):
                return json.loads(line.removeprefix(MARKER))
        raise MigrationToolFailed(f"alembic {op} gave no result", "Is alembic installed?")

    def migrate(
        self,
        conninfo: ConnInfo,
        *,
        to: str | None = None,
        dry_run: bool = False,
        allow_out_of_order: bool = False,
        progress: Progress = quiet,
    ) -> list[str]:
        self._no_sql_flags(dry_run, allow_out_of_order)
        done: list[str] = self._call(conninfo, "upgrade", to or "heads", progress)
        refresh_grants(self.settings, conninfo)  # even when done looks empty: the tool knows best
        return done

    def status(self, conninfo: ConnInfo) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._call(conninfo, "status")
        return rows

    def down(
        self,
        conninfo: ConnInfo,
        *,
        steps: int = 1,
        to: str | None = None,
        progress: Progress = quiet,
    ) -> list[str]:
        done: list[str] = self._call(conninfo, "downgrade", to or f"-{steps}", progress)
        return done

    def known_target(self, to: str, versions: list[str]) -> bool:
        """``base``, a revision (or a unique start of one), or a relative ``-N``/``REV-N``."""
        if to == "base" or re.fullmatch(r"(\w*)[-+]\d+", to):
            return True
        return len([v for v in versions if v.startswith(to)]) == 1

    def new(self, name: str) -> Path:
        # `alembic revision` without --autogenerate never connects: any URL will do
        return Path(self._call(_NO_SERVER, "revision", name))

    def steps(self, conninfo: ConnInfo) -> list[Step]:
        return [Step(**s) for s in self._call(conninfo, "steps")]

    def step_up(self, conninfo: ConnInfo, step: Step) -> None:
        self._call(conninfo, "upgrade", step.up)

    def step_down(self, conninfo: ConnInfo, step: Step) -> None:
        self._call(conninfo, "downgrade", step.down)

    def verify(self, conninfo: ConnInfo, *, progress: Progress | None = None) -> list[Verdict]:
        from devdb.migrator.steps import verify_steps

        return verify_steps(self, conninfo, progress=progress)


_NO_SERVER = ConnInfo("127.0.0.1", 5432, "postgres", None, "unused")
