"""Verify for tools with downgrades (Alembic, Django): every downgrade undoes its upgrade.

The same proof as devdb's own ``db.migrate.verify``, one step of the tool at a time, in a scratch
database: snapshot the catalogs (``devdb.migrations.catalog``), upgrade to the step, snapshot,
downgrade just that step, snapshot and compare with the one before, then upgrade again so the next
step starts where it expects. The tool's own tracking table is not the step's doing.

A failure does not end the run: when a step leaves the scratch database in a state nobody can
vouch for, the next step starts in a new scratch database the tool upgraded to just before it.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from devdb.conninfo import ConnInfo
from devdb.errors import MigrationError
from devdb.migrator.base import Progress, Step
from devdb.settings import Settings

if TYPE_CHECKING:
    from devdb.migrations.verify import Verdict

Snapshot = dict[str, str]


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

    def snapshot(self) -> Snapshot:
        from devdb.database import connect
        from devdb.migrations.catalog import snapshot

        with connect(self.scratch, autocommit=True) as conn:
            return snapshot(conn)

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
    verdicts: list[Verdict] = []
    with ExitStack() as scratches:
        run = _fresh(scratches, tool, conninfo)
        steps = tool.steps(run.scratch)
        before = run.snapshot()
        for i, step in enumerate(steps):
            verdict, before, go_on = _one(run, step, before)
            verdicts.append(verdict)
            if progress:
                progress(f"{'ok  ' if verdict.ok else 'FAIL'} {step.name}")
            if not go_on and i + 1 < len(steps):
                run = _fresh(scratches, tool, conninfo)
                failed = run.move(step, up=True)
                if failed:
                    return verdicts + _unchecked(steps[i + 1 :], failed)
                before = run.snapshot()
    return verdicts


def _fresh(scratches: ExitStack, tool: Stepwise, conninfo: ConnInfo) -> _Run:
    """A new empty scratch database, dropped when the run ends."""
    from devdb.migrations.schema import scratch_database

    return _Run(tool, scratches.enter_context(scratch_database(conninfo, "verify")))


def _unchecked(steps: list[Step], why: str) -> list[Verdict]:
    from devdb.migrations.verify import Verdict

    reason = f"no scratch database could be upgraded to just before it: {why}"
    return [Verdict(s.id, s.name, not_checked=reason) for s in steps]


def _ignore_tracking(verdict: Verdict, table: str) -> None:
    """The tool's tracking table (and its constraints, sequences) is not the step's doing."""
    mine = re.compile(rf"\.{re.escape(table)}(?:\b|_)")
    for names in (verdict.left_behind, verdict.not_restored, verdict.changed):
        names[:] = [n for n in names if not mine.search(n)]


def _one(run: _Run, step: Step, before: Snapshot) -> tuple[Verdict, Snapshot, bool]:
    """The verdict, the schema the next step starts from, and whether to go on."""
    from devdb.migrations.verify import Verdict, compare_objects

    verdict = Verdict(step.id, step.name)
    failed = run.move(step, up=True)
    if failed:
        verdict.error = f"upgrade fails: {failed}"
        return verdict, before, False
    after_up = run.snapshot()
    failed = run.move(step, up=False)
    if failed:
        verdict.error = f"downgrade fails: {failed}"
        return verdict, after_up, False
    compare_objects(before, run.snapshot(), verdict)
    _ignore_tracking(verdict, run.tool.tracking_table)
    failed = run.move(step, up=True)
    if failed:
        verdict.error = f"upgrade after downgrade fails: {failed}"
        return verdict, after_up, False
    return verdict, after_up, True
