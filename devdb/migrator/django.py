"""The django migrator (``DEVDB_MIGRATOR=django``): ``manage.py migrate`` in a child process, the
target database given in DATABASE_URL (DEVDB_MIGRATE_URL_VAR), which the project's settings read.

The digest covers manage.py, every ``migrations/*.py`` below the project root and the installed
Django version (its own apps' migrations ship with it); DEVDB_MIGRATOR_INPUTS adds more (a settings
module whose INSTALLED_APPS decides which apps migrate).
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo
from devdb.errors import ConfigError
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

APPLIED = re.compile(r"^\s*(?:Applying|Unapplying) (\S+)\.\.\.", re.MULTILINE)
PLAN = re.compile(r"^\[([ X])\]\s+(\S+)\.(\S+)$", re.MULTILINE)


def _django_version() -> str:
    try:
        return metadata.version("django")
    except metadata.PackageNotFoundError:
        return "not installed"


class DjangoMigrator(BaseMigrator):
    name = "django"
    operations = frozenset({"status", "down", "verify"})
    tracking_table = "django_migrations"

    def manage(self) -> Path:
        path = self.settings.django_manage
        if not path.is_file():
            raise ConfigError(
                f"DEVDB_MIGRATOR=django, but {path.name} does not exist",
                "Point DEVDB_DJANGO_MANAGE at the project's manage.py.",
            )
        return path

    def inputs(self) -> list[Path]:
        found = files_under(self.settings.root)
        return [self.manage(), *(p for p in found if p.parent.name == "migrations")]

    def fields(self) -> list[str]:
        return [self.name, _django_version()]

    def _manage(self, conninfo: ConnInfo, *args: str, progress: Progress = quiet) -> str:
        return run_tool(
            [sys.executable, str(self.manage()), *args],
            cwd=self.manage().parent,
            env=tool_env(self.settings, conninfo.url(show_password=True)),
            what=f"manage.py {' '.join(args[:3])}",
            secret=conninfo.password,
            progress=progress,
        )

    def _migrate(self, conninfo: ConnInfo, *target: str, progress: Progress = quiet) -> list[str]:
        out = self._manage(conninfo, "migrate", "--noinput", *target, progress=progress)
        for line in out.splitlines():
            progress(line)
        return APPLIED.findall(out)

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
        done = self._migrate(conninfo, *_target(to), progress=progress)
        refresh_grants(self.settings, conninfo)  # even when done looks empty: the tool knows best
        return done

    def plan(self, conninfo: ConnInfo) -> list[tuple[str, str, bool]]:
        """``(app, migration, applied)`` in the order ``migrate`` applies them."""
        out = self._manage(conninfo, "showmigrations", "--plan")
        return [(app, name, mark == "X") for mark, app, name in PLAN.findall(out)]

    def status(self, conninfo: ConnInfo) -> list[dict[str, Any]]:
        return [
            {
                "version": f"{app}.{name}",
                "name": f"{app}.{name}",
                "state": "applied" if applied else "pending",
                "applied_at": None,
                "duration_ms": None,
                "applied_by": None,
            }
            for app, name, applied in self.plan(conninfo)
        ]

    def down(
        self,
        conninfo: ConnInfo,
        *,
        steps: int = 1,
        to: str | None = None,
        progress: Progress = quiet,
    ) -> list[str]:
        """``to``: ``APP`` (``migrate APP zero``) or ``APP.MIGRATION``; else the newest
        ``steps`` applied migrations, newest first."""
        if to is not None:
            target = _target(to) if "." in to else (to, "zero")
            return self._migrate(conninfo, *target, progress=progress)
        done: list[str] = []
        for step in reversed(self.steps(conninfo, applied_only=True)[-steps:]):
            done += self._migrate(conninfo, *step.down.split(), progress=progress)
        return done

    def known_target(self, to: str, versions: list[str]) -> bool:
        """``APP`` (an app with migrations) or ``APP.MIGRATION``."""
        return to in versions or any(v.partition(".")[0] == to for v in versions)

    def new(self, name: str) -> Path:
        raise self.cannot(
            "write a new migration from a name",
            "Run `python manage.py makemigrations APP --name NAME` (Django writes it from the "
            "models).",
        )

    def steps(self, conninfo: ConnInfo, *, applied_only: bool = False) -> list[Step]:
        out: list[Step] = []
        previous: dict[str, str] = {}
        for app, name, applied in self.plan(conninfo):
            down = f"{app} {previous.get(app, 'zero')}"
            previous[app] = name
            if applied or not applied_only:
                out.append(Step(f"{app}.{name}", f"{app}.{name}", f"{app} {name}", down))
        return out

    def step_up(self, conninfo: ConnInfo, step: Step) -> None:
        self._migrate(conninfo, *step.up.split())

    def step_down(self, conninfo: ConnInfo, step: Step) -> None:
        self._migrate(conninfo, *step.down.split())

    def verify(self, conninfo: ConnInfo, *, progress: Progress | None = None) -> list[Verdict]:
        from devdb.migrator.steps import verify_steps

        return verify_steps(self, conninfo, progress=progress)


def _target(to: str | None) -> tuple[str, ...]:
    """``APP.MIGRATION`` as manage.py's two arguments (none: every app to its latest)."""
    if to is None:
        return ()
    app, _, name = to.partition(".")
    return (app, name) if name else (app,)
