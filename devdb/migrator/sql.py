"""devdb's own SQL runner (``DEVDB_MIGRATOR=sql``, the default): every feature it has."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo
from devdb.migrator.base import BaseMigrator, Progress, quiet

if TYPE_CHECKING:
    from devdb.migrations.baseline import Baseline
    from devdb.migrations.verify import Verdict


class SqlMigrator(BaseMigrator):
    """``migrations/*.sql`` in the sql-migrate format, applied by ``devdb.migrations``."""

    name = "sql"
    operations = frozenset({"status", "down", "new", "redo", "accept", "verify", "baseline"})

    def inputs(self) -> list[Path]:
        folder = self.settings.migrations_dir
        if not folder.is_dir():
            return []
        return [p for p in folder.iterdir() if p.suffix == ".sql" and p.is_file()]

    def migrate(
        self,
        conninfo: ConnInfo,
        *,
        to: str | None = None,
        dry_run: bool = False,
        allow_out_of_order: bool = False,
        progress: Progress = quiet,
    ) -> list[str]:
        from devdb.migrations import migrate

        return migrate(
            self.settings,
            conninfo,
            to=to,
            dry_run=dry_run,
            allow_out_of_order=allow_out_of_order,
            progress=progress,
        )

    def status(self, conninfo: ConnInfo) -> list[dict[str, Any]]:
        from devdb.migrations import status

        return status(self.settings, conninfo)

    def down(
        self,
        conninfo: ConnInfo,
        *,
        steps: int = 1,
        to: str | None = None,
        progress: Progress = quiet,
    ) -> list[str]:
        from devdb.migrations import down

        return down(self.settings, conninfo, steps=steps, to=to, progress=progress)

    def plan_down(self, conninfo: ConnInfo, *, steps: int = 1, to: str | None = None) -> list[str]:
        from devdb.migrations import plan_down

        return plan_down(self.settings, conninfo, steps=steps, to=to)

    def new(self, name: str) -> Path:
        from devdb.migrations import new_migration

        return new_migration(self.settings, name)

    def redo(self, conninfo: ConnInfo, *, progress: Progress = quiet) -> str:
        from devdb.migrations import redo

        return redo(self.settings, conninfo, progress=progress)

    def accept(self, conninfo: ConnInfo, *, version: str | None = None) -> list[tuple[str, str]]:
        from devdb.migrations import accept

        return accept(self.settings, conninfo, version=version)

    def verify(self, conninfo: ConnInfo, *, progress: Progress | None = None) -> list[Verdict]:
        from devdb.migrations.verify import verify

        return verify(self.settings, conninfo, progress=progress)

    def baseline(
        self, conninfo: ConnInfo, *, source: str, to: str | None, dry_run: bool
    ) -> Baseline:
        from devdb.migrations.baseline import baseline

        return baseline(self.settings, conninfo, source=source, to=to, dry_run=dry_run)
