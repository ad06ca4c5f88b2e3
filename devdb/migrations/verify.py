"""Proving that every Down undoes its Up, in a scratch database.

For each migration in order: dump the schema, run Up, dump, run Down, dump again and compare with
the dump before Up, then run Up again so the next migration starts where it expects. The report
names each object a Down leaves behind, fails to restore, or restores differently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from devdb.conninfo import ConnInfo
from devdb.errors import MigrationError
from devdb.migrations import tracking
from devdb.migrations.execute import run_section
from devdb.migrations.files import load_migrations
from devdb.migrations.parse import Migration
from devdb.migrations.schema import PgDump, dump, find_pg_dump, objects, scratch_database
from devdb.migrations.schema import server_major as major_of
from devdb.settings import Settings


@dataclass
class Verdict:
    """What verify found for one migration."""

    version: str
    filename: str
    left_behind: list[str] = field(default_factory=list)
    not_restored: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.left_behind or self.not_restored or self.changed or self.error)

    def as_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "file": self.filename,
            "ok": self.ok,
            "left_behind": self.left_behind,
            "not_restored": self.not_restored,
            "changed": self.changed,
            "error": self.error,
        }


def compare(before: str, after: str, verdict: Verdict) -> None:
    """Fill ``verdict`` with the objects that differ between two normalized dumps."""
    old, new = objects(before), objects(after)
    verdict.left_behind = sorted(set(new) - set(old))
    verdict.not_restored = sorted(set(old) - set(new))
    verdict.changed = sorted(k for k in set(old) & set(new) if old[k] != new[k])


def verify(
    settings: Settings, conninfo: ConnInfo, *, progress: Callable[[str], None] | None = None
) -> list[Verdict]:
    """Up, Down, compare, Up again for every migration in a scratch database."""
    files = load_migrations(settings)
    tool = find_pg_dump(settings, major_of(conninfo))
    verdicts: list[Verdict] = []
    with scratch_database(conninfo, "verify") as scratch:
        run = _Run(settings, scratch, tool)
        with tracking.session(scratch, lock_timeout=settings.lock_timeout, wait=0) as conn:
            tracking.ensure(conn)
            before = run.dump()
            for m in files:
                verdict, before, go_on = run.one(conn, m, before)
                verdicts.append(verdict)
                if progress:
                    progress(f"{'ok  ' if verdict.ok else 'FAIL'} {m.filename}")
                if not go_on:
                    break
    return verdicts


@dataclass(frozen=True)
class _Run:
    settings: Settings
    scratch: ConnInfo
    tool: PgDump

    def dump(self) -> str:
        return dump(self.settings, self.scratch, self.tool)

    def one(self, conn: tracking.Conn, m: Migration, before: str) -> tuple[Verdict, str, bool]:
        return _verify_one(self, conn, m, before)


def _verify_one(
    run: _Run, conn: tracking.Conn, m: Migration, before: str
) -> tuple[Verdict, str, bool]:
    """The verdict, the schema the next migration starts from, and whether to go on."""
    verdict = Verdict(m.version, m.filename)
    record = tracking.record_sql(m.version, m.path.stem, m.checksum)
    try:
        run_section(conn, m, m.up, record)
    except MigrationError as exc:
        verdict.error = f"Up fails: {exc.message}"
        return verdict, before, False
    after_up = run.dump()
    if m.down is None:
        verdict.error = "no -- +migrate Down section"
        return verdict, after_up, True
    try:
        run_section(conn, m, m.down, tracking.forget_sql(m.version))
    except MigrationError as exc:
        verdict.error = f"Down fails: {exc.message}"
        return verdict, after_up, m.down.transactional
    compare(before, run.dump(), verdict)
    try:
        run_section(conn, m, m.up, record)
    except MigrationError as exc:
        verdict.error = f"Up after Down fails: {exc.message}"
        return verdict, after_up, False
    return verdict, after_up, True
