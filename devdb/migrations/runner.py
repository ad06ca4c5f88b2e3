"""Applying and rolling back migrations: one plain function per command, settings first.

Every run that changes something holds the migration lock (a session advisory lock) for its whole
duration, so a second concurrent run waits and then finds nothing left to do. Before anything runs,
applied files are checked against the tracking table (drift) and pending files against the
newest applied version (order).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo
from devdb.errors import MigrationDrift, MigrationError
from devdb.migrations import tracking
from devdb.migrations.execute import run_batch, run_section
from devdb.migrations.files import file_checksums, load_migrations
from devdb.migrations.parse import Migration, order
from devdb.settings import Settings

if TYPE_CHECKING:
    from devdb.migrations.tracking import Conn

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass
class Plan:
    """The files compared with the tracking table."""

    files: list[Migration]
    applied: dict[str, tracking.Applied]
    pending: list[Migration] = field(default_factory=list)
    changed: list[Migration] = field(default_factory=list)
    missing: list[tracking.Applied] = field(default_factory=list)
    out_of_order: list[Migration] = field(default_factory=list)

    @classmethod
    def build(cls, files: list[Migration], applied: dict[str, tracking.Applied]) -> Plan:
        plan = cls(files, applied)
        by_version = {m.version: m for m in files}
        newest = order(max(applied, key=order, default=""))
        for m in files:
            row = applied.get(m.version)
            if row is None:
                plan.pending.append(m)
                if applied and order(m.version) < newest:
                    plan.out_of_order.append(m)
            elif row.checksum != m.checksum:
                plan.changed.append(m)
        plan.missing = [row for v, row in applied.items() if v not in by_version]
        return plan

    def check_drift(self, *, allow_out_of_order: bool = False) -> None:
        if self.changed:
            names = ", ".join(m.filename for m in self.changed)
            raise MigrationDrift(
                f"applied migration file(s) changed since they ran: {names}",
                "Put the file back as it was and write a new migration for the change; if the "
                "edit is deliberate (a comment, a fix already made by hand), run "
                f"`invoke db.migrate.accept {self.changed[0].version}`.",
            )
        if self.missing:
            names = ", ".join(row.name for row in self.missing)
            raise MigrationDrift(
                f"applied migration(s) with no file: {names}",
                "Restore the file(s) from version control (or roll this database back with a "
                "checkout that has them).",
            )
        if self.out_of_order and not allow_out_of_order:
            names = ", ".join(m.filename for m in self.out_of_order)
            raise MigrationDrift(
                f"pending migration(s) older than the newest applied one: {names}",
                "Usually a merge: rename the file to a newer timestamp, or apply it anyway with "
                "`invoke db.migrate --allow-out-of-order`.",
            )


def _plan(conn: Conn, files: list[Migration]) -> Plan:
    return Plan.build(files, tracking.applied(conn))


def migrate(
    settings: Settings,
    conninfo: ConnInfo,
    *,
    to: str | None = None,
    dry_run: bool = False,
    allow_out_of_order: bool = False,
    progress: Progress = _quiet,
) -> list[str]:
    """Apply every pending migration (up to ``to``); returns the versions applied."""
    files = load_migrations(settings)  # malformed files fail before any connection
    wait = None if dry_run else settings.migrate_wait
    with tracking.session(conninfo, lock_timeout=settings.lock_timeout, wait=wait) as conn:
        if not dry_run:
            tracking.ensure(conn)
        plan = _plan(conn, files)
        plan.check_drift(allow_out_of_order=allow_out_of_order)
        todo = [m for m in plan.pending if to is None or order(m.version) <= order(to)]
        if dry_run:
            return [m.version for m in todo]
        _apply_all(conn, todo, progress)
    from devdb.roles import refresh_app_role

    if todo:  # the app role's grants follow the schema (db.up refreshes them too)
        refresh_app_role(settings, conninfo)
    return [m.version for m in todo]


BATCH_MIGRATIONS = 100
BATCH_CHARS = 1_000_000


def _apply_all(conn: Conn, todo: list[Migration], progress: Progress) -> None:
    """Apply ``todo`` in order; runs of transactional migrations go in batches (one round trip
    each, still one transaction per migration), the rest one by one."""
    i = 0
    while i < len(todo):
        group = _next_batch(todo, i)
        if len(group) < 2:
            _apply(conn, todo[i], progress)
            i += 1
            continue
        started = time.perf_counter()
        items = [(m, tracking.record_sql(m.version, m.path.stem, m.checksum)) for m in group]
        done = run_batch(conn, items)
        took = (time.perf_counter() - started) * 1000
        for m in group[:done]:
            progress(f"applied {m.filename} (batch of {len(group)}: {took:.0f} ms)")
        i += done
        if done < len(group):  # the failed one, alone: applies it, or explains the failure
            _apply(conn, todo[i], progress)
            i += 1


def _next_batch(todo: list[Migration], start: int) -> list[Migration]:
    group: list[Migration] = []
    size = 0
    for m in todo[start:]:
        if not m.up.transactional or len(group) >= BATCH_MIGRATIONS or size > BATCH_CHARS:
            break
        group.append(m)
        size += sum(len(s.sql) for s in m.up.statements)
    return group


def _apply(conn: Conn, m: Migration, progress: Progress) -> None:
    started = time.perf_counter()
    run_section(conn, m, m.up, tracking.record_sql(m.version, m.path.stem, m.checksum))
    progress(f"applied {m.filename} ({(time.perf_counter() - started) * 1000:.0f} ms)")


def accept(
    settings: Settings, conninfo: ConnInfo, *, version: str | None = None
) -> list[tuple[str, str]]:
    """Record the current checksum of changed applied files (all, or just ``version``)."""
    files = load_migrations(settings)
    with tracking.session(
        conninfo, lock_timeout=settings.lock_timeout, wait=settings.migrate_wait
    ) as conn:
        plan = _plan(conn, files)
        changed = [m for m in plan.changed if version is None or m.version == version]
        if version is not None and not changed:
            raise MigrationError(
                f"{version} is not an applied migration whose file changed",
                "`invoke db.migrate.status` lists changed files.",
            )
        for m in changed:
            conn.execute(
                f"UPDATE {tracking.TABLE} SET checksum = {tracking.quote(m.checksum)} "
                f"WHERE version = {tracking.quote(m.version)}"
            )
        return [(m.version, m.filename) for m in changed]


def status(settings: Settings, conninfo: ConnInfo) -> list[dict[str, Any]]:
    """Every known migration with its state: applied, pending, changed, missing, out-of-order.

    Reads files without parsing their SQL, and never writes to the database.
    """
    from devdb.database import connect

    files = file_checksums(settings)
    with connect(conninfo, autocommit=True) as conn:
        applied = tracking.applied(conn)
    newest = order(max(applied, key=order, default=""))
    rows = []
    for version in sorted(set(files) | set(applied), key=order):
        file = files.get(version)
        row = applied.get(version)
        state = _state(file, row, bool(applied) and order(version) < newest)
        rows.append(
            {
                "version": version,
                "name": file[0] if file else (row.name + ".sql" if row else ""),
                "state": state,
                "applied_at": row.applied_at.isoformat() if row else None,
                "duration_ms": round(row.duration_ms, 1) if row else None,
                "applied_by": row.applied_by if row else None,
            }
        )
    return rows


def _state(file: tuple[str, str] | None, row: tracking.Applied | None, older: bool) -> str:
    if row is None:
        return "out-of-order" if older else "pending"
    if file is None:
        return "missing"
    return "applied" if file[1] == row.checksum else "changed"
