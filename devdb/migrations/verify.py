"""Proving that every Down undoes its Up, in a scratch database.

For each migration in order: take a catalog snapshot (``devdb.migrations.catalog``: definitions,
privileges, comments), run Up, snapshot, run Down, snapshot and compare with the one before Up,
then run Up again so the next migration starts where it expects. The snapshot after Up is the
next migration's "before": two catalog queries per migration, no pg_dump process.

A failure does not end the run. When a migration leaves the scratch database in a state nobody
can vouch for (a Down or a second Up that failed, a section without a transaction that stopped
halfway), the next migration starts in a new scratch database built up to it. Every migration
gets a verdict; one whose Down could not be compared says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from devdb.conninfo import ConnInfo
from devdb.errors import MigrationError
from devdb.migrations import tracking
from devdb.migrations.catalog import Snapshots
from devdb.migrations.execute import run_section
from devdb.migrations.files import load_migrations
from devdb.migrations.parse import Migration
from devdb.migrations.schema import objects, scratch_database
from devdb.settings import Settings

Progress = Callable[[str], None]


@dataclass
class Verdict:
    """What verify found for one migration."""

    version: str
    filename: str
    left_behind: list[str] = field(default_factory=list)
    not_restored: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    error: str | None = None
    not_checked: str | None = None  # why the Down could not be compared

    @property
    def ok(self) -> bool:
        problems = self.left_behind or self.not_restored or self.changed
        return not (problems or self.error or self.not_checked)

    def as_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "file": self.filename,
            "ok": self.ok,
            "checked": self.not_checked is None,
            "not_checked": self.not_checked,
            "left_behind": self.left_behind,
            "not_restored": self.not_restored,
            "changed": self.changed,
            "error": self.error,
        }


def compare(before: str, after: str, verdict: Verdict) -> None:
    """Fill ``verdict`` with the objects that differ between two normalized dumps."""
    compare_objects(objects(before), objects(after), verdict)


def compare_objects(old: dict[str, str], new: dict[str, str], verdict: Verdict) -> None:
    """Fill ``verdict`` with the objects that differ between two snapshots."""
    verdict.left_behind = sorted(set(new) - set(old))
    verdict.not_restored = sorted(set(old) - set(new))
    verdict.changed = sorted(k for k in set(old) & set(new) if old[k] != new[k])


def verify(
    settings: Settings, conninfo: ConnInfo, *, progress: Progress | None = None
) -> list[Verdict]:
    """Up, Down, compare, Up again for every migration; one verdict per migration."""
    files = load_migrations(settings)
    run = _Run(settings, conninfo, files, progress)
    start = 0
    while start < len(files):
        start = run.from_index(start)
    return run.verdicts


@dataclass
class _Run:
    settings: Settings
    conninfo: ConnInfo
    files: list[Migration]
    progress: Progress | None
    verdicts: list[Verdict] = field(default_factory=list)
    failed_ups: list[str] = field(default_factory=list)

    def report(self, verdict: Verdict) -> None:
        self.verdicts.append(verdict)
        if self.progress:
            state = "ok  " if verdict.ok else "FAIL"
            self.progress(f"{state} {verdict.filename}")

    def from_index(self, start: int) -> int:
        """Verify ``files[start:]`` in a new scratch database built up to ``start``; returns
        where to go on (in another new database), or ``len(files)`` when done."""
        s = self.settings
        with (
            scratch_database(self.conninfo, "verify") as scratch,
            tracking.session(scratch, lock_timeout=s.lock_timeout, wait=0) as conn,
        ):
            tracking.ensure(conn)
            blocked = self._build(conn, start)
            if blocked:
                for m in self.files[start:]:
                    self.report(Verdict(m.version, m.filename, not_checked=blocked))
                return len(self.files)
            snaps = Snapshots()
            before = snaps.take(conn)
            for index in range(start, len(self.files)):
                before, fresh = self._one(conn, snaps, self.files[index], before)
                if fresh:
                    return index + 1
        return len(self.files)

    def _build(self, conn: tracking.Conn, stop: int) -> str | None:
        """Apply ``files[:stop]`` (but those whose Up failed); why not, if it fails."""
        for m in self.files[:stop]:
            if m.version in self.failed_ups:
                continue
            try:
                run_section(conn, m, m.up, _record(m))
            except MigrationError as exc:
                return f"building the scratch database up to it failed at {m.filename}: {exc}"
        return None

    def _one(
        self, conn: tracking.Conn, snaps: Snapshots, m: Migration, before: dict[str, str]
    ) -> tuple[dict[str, str], bool]:
        """Verify ``m``; returns the snapshot the next migration starts from and whether it
        needs a new scratch database instead."""
        verdict = Verdict(m.version, m.filename)
        after, fresh = _check(conn, snaps, m, (before, verdict), self.failed_ups)
        if verdict.error and verdict.error.startswith("Up fails"):
            self.failed_ups.append(m.version)
        self.report(verdict)
        return after, fresh


def _record(m: Migration) -> str:
    return tracking.record_sql(m.version, m.path.stem, m.checksum)


def _check(
    conn: tracking.Conn,
    snaps: Snapshots,
    m: Migration,
    start: tuple[dict[str, str], Verdict],
    failed: list[str],
) -> tuple[dict[str, str], bool]:
    """Up, Down, compare, Up; fills the verdict. Returns the snapshot with ``m`` applied (or
    the one before when its Up fails) and True when the database state is unknown."""
    before, verdict = start
    try:
        run_section(conn, m, m.up, _record(m))
    except MigrationError as exc:
        verdict.error = f"Up fails: {exc.message}"
        after = f" (after the Up of {failed[0]} failed)" if failed else ""
        verdict.not_checked = f"its Up fails{after}"
        return before, not m.up.transactional
    after_up = snaps.take(conn)
    if m.down is None:
        verdict.not_checked = "it has no Down section"
        return after_up, False
    try:
        run_section(conn, m, m.down, tracking.forget_sql(m.version))
    except MigrationError as exc:
        verdict.error = f"Down fails: {exc.message}"
        return after_up, not m.down.transactional
    compare_objects(before, snaps.take(conn), verdict)
    try:
        run_section(conn, m, m.up, _record(m))
    except MigrationError as exc:
        verdict.error = f"Up after Down fails: {exc.message}"
        return after_up, True
    # A Down that did not restore everything makes the second Up start elsewhere than the first:
    # the next migration starts from what is there now.
    return (after_up if verdict.ok else snaps.take(conn)), False
