"""Rolling migrations back: the plan first, then the Downs.

``plan_down`` says which applied migrations a ``down`` would roll back and checks that it can
(``--to`` names a known version, each file is there, unchanged, and has a Down section) without
changing anything, so a caller can keep the undo snapshot only when there is something to undo.
``down`` and ``redo`` check the same plan again under the migration lock before any Down runs.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from devdb.conninfo import ConnInfo
from devdb.errors import MigrationDrift, MigrationError
from devdb.migrations import tracking
from devdb.migrations.execute import run_section
from devdb.migrations.files import load_migrations
from devdb.migrations.parse import Migration, order
from devdb.migrations.runner import Plan, Progress, _apply, _plan, _quiet
from devdb.settings import Settings

if TYPE_CHECKING:
    from devdb.migrations.tracking import Conn

ALL = "0"  # --to 0: roll back every applied migration
SHOWN_VERSIONS = 10  # of the known versions, named in the --to error


def plan_down(
    settings: Settings, conninfo: ConnInfo, *, steps: int = 1, to: str | None = None
) -> list[str]:
    """The versions ``down`` would roll back, newest first ([] when nothing); changes nothing."""
    files = load_migrations(settings)
    with tracking.session(conninfo, lock_timeout=settings.lock_timeout, wait=None) as conn:
        return [m.version for m in _targets(_plan(conn, files), steps=steps, to=to)]


def down(
    settings: Settings,
    conninfo: ConnInfo,
    *,
    steps: int = 1,
    to: str | None = None,
    progress: Progress = _quiet,
) -> list[str]:
    """Roll back the newest ``steps`` migrations, or all newer than ``to``; returns versions."""
    files = load_migrations(settings)
    with tracking.session(
        conninfo, lock_timeout=settings.lock_timeout, wait=settings.migrate_wait
    ) as conn:
        todo = _targets(_plan(conn, files), steps=steps, to=to)
        for m in todo:
            _rollback(conn, m, progress)
        return [m.version for m in todo]


def redo(settings: Settings, conninfo: ConnInfo, *, progress: Progress = _quiet) -> str:
    """Roll back the newest applied migration and apply it again; returns its version."""
    files = load_migrations(settings)
    with tracking.session(
        conninfo, lock_timeout=settings.lock_timeout, wait=settings.migrate_wait
    ) as conn:
        todo = _targets(_plan(conn, files), steps=1, to=None)
        if not todo:
            raise MigrationError("no migration is applied: nothing to redo")
        (m,) = todo
        _rollback(conn, m, progress)
        _apply(conn, m, progress)
        return m.version


def _targets(plan: Plan, *, steps: int, to: str | None) -> list[Migration]:
    """The files to roll back, newest first, each checked to have an unchanged Down."""
    if to is None and steps < 0:
        raise MigrationError(f"--steps must be 0 or more, got {steps}")
    newest_first = sorted(plan.applied, key=order, reverse=True)
    if to is None:
        versions = newest_first[:steps]
    else:
        every = _check_known(plan, to)
        versions = [v for v in newest_first if every or order(v) > order(to)]
    files = _files_for(plan, versions)
    for m in files:
        _check_down(m)
    return files


def _check_known(plan: Plan, to: str) -> bool:
    """Whether ``to`` means every applied migration (``0``, when no migration has that
    version); an unknown ``to`` is an error naming the versions there are."""
    known = sorted({m.version for m in plan.files} | set(plan.applied), key=order)
    if to in known:
        return False
    if to == ALL:
        return True
    shown = ", ".join(known[-SHOWN_VERSIONS:]) or "none"
    more = f" (the newest {SHOWN_VERSIONS} of {len(known)})" if len(known) > SHOWN_VERSIONS else ""
    raise MigrationError(
        f"--to {to}: no migration has this version",
        f"Versions here{more}: {shown}; `--to {ALL}` rolls back every applied migration.",
    )


def _check_down(m: Migration) -> None:
    if m.down is None:
        raise MigrationError(
            f"{m.filename} has no Down section: it cannot be rolled back",
            "Add a Down section that undoes the Up (check it with `invoke db.migrate.verify`).",
        )


def _files_for(plan: Plan, versions: list[str]) -> list[Migration]:
    """The files of applied ``versions``; each must exist and be unchanged since it ran."""
    by_version = {m.version: m for m in plan.files}
    out = []
    for v in versions:
        m = by_version.get(v)
        if m is None:
            name = plan.applied[v].name
            raise MigrationDrift(
                f"cannot roll back {name}: its file is gone",
                "Restore the file from version control first.",
            )
        if m.checksum != plan.applied[v].checksum:
            raise MigrationDrift(
                f"cannot roll back {m.filename}: it changed since it was applied",
                "Its Down may not undo what ran. Restore the applied version, or run "
                f"`invoke db.migrate.accept {v}` if the change is deliberate.",
            )
        out.append(m)
    return out


def _rollback(conn: Conn, m: Migration, progress: Progress) -> None:
    _check_down(m)
    assert m.down is not None  # for mypy: checked just above
    started = time.perf_counter()
    run_section(conn, m, m.down, tracking.forget_sql(m.version))
    progress(f"rolled back {m.filename} ({(time.perf_counter() - started) * 1000:.0f} ms)")
