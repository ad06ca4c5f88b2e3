"""Verify for tools with downgrades (Alembic, Django): every downgrade undoes its upgrade.

The same proof as devdb's own ``db.migrate.verify``, one step of the tool at a time, in a scratch
database: dump the schema, upgrade to the step, dump, downgrade just that step, dump and compare
with the dump before, then upgrade again so the next step starts where it expects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from devdb.conninfo import ConnInfo
from devdb.errors import MigrationError
from devdb.migrator.base import Progress, Step
from devdb.settings import Settings

if TYPE_CHECKING:
    from devdb.migrations.schema import PgDump
    from devdb.migrations.verify import Verdict


class Stepwise(Protocol):
    settings: Settings
    tracking_table: str  # the tool's own bookkeeping: created by the first step, never dropped

    def steps(self, conninfo: ConnInfo) -> list[Step]: ...

    def step_up(self, conninfo: ConnInfo, step: Step) -> None: ...

    def step_down(self, conninfo: ConnInfo, step: Step) -> None: ...


@dataclass(frozen=True)
class _Run:
    tool: Stepwise
    scratch: ConnInfo
    pg_dump: PgDump

    def dump(self) -> str:
        from devdb.migrations.schema import dump

        return dump(self.tool.settings, self.scratch, self.pg_dump)

    def move(self, step: Step, *, up: bool) -> str | None:
        """Apply (or undo) ``step`` in the scratch database; the tool's error message, if any."""
        try:
            if up:
                self.tool.step_up(self.scratch, step)
            else:
                self.tool.step_down(self.scratch, step)
        except MigrationError as exc:
            return exc.message
        return None


def verify_steps(
    tool: Stepwise, conninfo: ConnInfo, *, progress: Progress | None = None
) -> list[Verdict]:
    """Upgrade, downgrade, compare, upgrade again for every step, in a scratch database."""
    from devdb.migrations.schema import find_pg_dump, scratch_database, server_major

    pg_dump = find_pg_dump(tool.settings, server_major(conninfo))
    verdicts: list[Verdict] = []
    with scratch_database(conninfo, "verify") as scratch:
        run = _Run(tool, scratch, pg_dump)
        before = run.dump()
        for step in tool.steps(scratch):
            verdict, before, go_on = _one(run, step, before)
            verdicts.append(verdict)
            if progress:
                progress(f"{'ok  ' if verdict.ok else 'FAIL'} {step.name}")
            if not go_on:
                break
    return verdicts


def _ignore_tracking(verdict: Verdict, table: str) -> None:
    """The tool's tracking table (and its constraints, sequences) is not the step's doing."""
    mine = re.compile(rf"\.{re.escape(table)}(?:\b|_)")
    for names in (verdict.left_behind, verdict.not_restored, verdict.changed):
        names[:] = [n for n in names if not mine.search(n)]


def _one(run: _Run, step: Step, before: str) -> tuple[Verdict, str, bool]:
    """The verdict, the schema the next step starts from, and whether to go on."""
    from devdb.migrations.verify import Verdict, compare

    verdict = Verdict(step.id, step.name)
    failed = run.move(step, up=True)
    if failed:
        verdict.error = f"upgrade fails: {failed}"
        return verdict, before, False
    after_up = run.dump()
    failed = run.move(step, up=False)
    if failed:
        verdict.error = f"downgrade fails: {failed}"
        return verdict, after_up, False
    compare(before, run.dump(), verdict)
    _ignore_tracking(verdict, run.tool.tracking_table)
    failed = run.move(step, up=True)
    if failed:
        verdict.error = f"upgrade after downgrade fails: {failed}"
        return verdict, after_up, False
    return verdict, after_up, True
