"""The fault harness: every replacing task, killed (SIGKILL) or interrupted (SIGINT, SIGTERM) at
every crash point on its path (``DEVDB_FAULT``, see devdb/copies/faults.py), in a real ``invoke``
subprocess against a real server. Afterwards the project database exists, accepts connections,
has its privileges and holds either its old or its new content, and the next command leaves no
devdb temporary behind."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devdb.conninfo import ConnInfo
from devdb.copies import names, pgdump, reset, snapshots
from devdb.database import connect
from devdb.roles import ensure_app_role
from devdb.settings import Settings
from tests.integration.dbdigest import content_digest
from tests.integration.faultkit import (
    change,
    digest_of,
    invoke,
    listed,
    privileges,
    temporaries,
    tiny_project,
    wait_background,
)

SWAPS = ("copy.built", "swap.before_commit", "swap.committed")


@dataclass
class Project:
    settings: Settings
    info: ConnInfo
    admin: ConnInfo
    dump: Path
    reference: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Before:
    """What a task may leave: ``watch`` holds ``old`` or ``new()``; the project database, when
    it is not the one watched, holds ``unchanged``."""

    watch: str
    old: str
    new: Callable[[], str]
    unchanged: str | None = None


@dataclass(frozen=True)
class Task:
    args: tuple[str, ...]
    points: tuple[str, ...]
    prepare: Callable[[Project], Before]
    # whose swap the swap.* points stop: the watched database's (then a crash after the commit
    # leaves the new content), or an earlier one (the template's, the undo's: the old content)
    swaps_watched: bool = True


@pytest.fixture(scope="module")
def proj(tmp_path_factory: pytest.TempPathFactory, server_conninfo: ConnInfo) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("faults") / "proj"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    settings = tiny_project(root, server_conninfo, f"faultproj_{worker}")
    info = reset.project_conninfo(settings)
    reset.reset(settings)
    ensure_app_role(settings, info)  # CONNECT for the app role only: privileges worth keeping
    change(info, "B")
    dump = root / "b.dump"
    pgdump.dump(settings, info, dump)
    yield Project(settings, info, server_conninfo.for_database("postgres"), dump)


def _reset_to(p: Project, label: str) -> str:
    """Reset, then change to ``label``; returns the template's name."""
    result = reset.reset(p.settings)
    change(p.info, label)
    return result.template.name


def prep_reset(p: Project) -> Before:
    tpl = _reset_to(p, "A")
    return Before(p.info.dbname, content_digest(p.info), lambda: digest_of(p.admin, tpl))


def prep_restore(p: Project) -> Before:
    _reset_to(p, "B")
    snapshots.save(p.info, "s1", replace=True)
    new = digest_of(p.admin, snapshots.snapshot_database(p.info.dbname, "s1"))
    change(p.info, "A")
    return Before(p.info.dbname, content_digest(p.info), lambda: new)


def prep_undo(p: Project) -> Before:
    _reset_to(p, "B")
    snapshots.save_undo(p.settings, p.info)
    new = digest_of(p.admin, names.undo_name(p.info.dbname))
    change(p.info, "A")
    return Before(p.info.dbname, content_digest(p.info), lambda: new)


def prep_save(p: Project) -> Before:
    _reset_to(p, "B")
    snapshots.save(p.info, "s1", replace=True)
    snap = snapshots.snapshot_database(p.info.dbname, "s1")
    old = digest_of(p.admin, snap)
    change(p.info, "A")
    now = content_digest(p.info)
    return Before(snap, old, lambda: now, unchanged=now)


def prep_unchanged(p: Project) -> Before:
    _reset_to(p, "A")
    old = content_digest(p.info)
    return Before(p.info.dbname, old, lambda: old)


def prep_by_reference(task: str) -> Callable[[Project], Before]:
    """The new content is what the same task leaves when nothing interrupts it (deterministic:
    loading the same file, or rolling back the same migration from the same state)."""

    def prep(p: Project) -> Before:
        if task not in p.reference:
            _reset_to(p, "A")
            proc = invoke(p.settings, *_args(p, task))
            assert proc.returncode == 0, proc.stderr
            p.reference[task] = content_digest(p.info)
        _reset_to(p, "A")
        new = p.reference[task]
        return Before(p.info.dbname, content_digest(p.info), lambda: new)

    return prep


TASKS: dict[str, Task] = {
    "reset": Task(("db.reset", "--yes"), SWAPS, prep_reset),
    "reset --hard": Task(
        ("db.reset", "--yes", "--hard"), ("build.migrated", *SWAPS), prep_reset, False
    ),
    "snapshot.restore": Task(("db.snapshot.restore", "s1", "--yes"), SWAPS, prep_restore),
    "restore --undo": Task(("db.snapshot.restore", "--undo", "--yes"), SWAPS[1:], prep_undo),
    "load": Task(
        ("db.load", "DUMP", "--yes"), ("load.restored", *SWAPS[1:]), prep_by_reference("load")
    ),
    "snapshot.save --replace": Task(("db.snapshot.save", "s1", "--replace"), SWAPS, prep_save),
    "migrate.down": Task(
        ("db.migrate.down", "--force"), SWAPS, prep_by_reference("migrate.down"), False
    ),
    "migrate.verify": Task(("db.migrate.verify",), ("scratch.created",), prep_unchanged),
}
CASES = [
    pytest.param(task, point, action, id=f"{task}@{point}:{action}")
    for task, spec in TASKS.items()
    for point in spec.points
    for action in ("kill", "int")
] + [
    pytest.param("reset", "swap.before_commit", "term", id="reset@swap.before_commit:term"),
    pytest.param("load", "load.restored", "term", id="load@load.restored:term"),
]


def _args(p: Project, task: str) -> list[str]:
    return [str(p.dump) if a == "DUMP" else a for a in TASKS[task].args]


def _wait_sessions_gone(p: Project) -> None:
    """A killed client's server sessions end a moment later (and release its lease)."""
    deadline = time.monotonic() + 10
    with connect(p.admin, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = 'devdb' AND pid <> pg_backend_pid()"
            ).fetchone()
            if row and row[0] == 0:
                return
            time.sleep(0.02)


@pytest.mark.parametrize(("task", "point", "action"), CASES)
def test_a_crash_at_any_point_loses_nothing(
    proj: Project, task: str, point: str, action: str
) -> None:
    before = TASKS[task].prepare(proj)
    wait_background()
    acl = privileges(proj.admin, proj.info.dbname)
    proc = invoke(proj.settings, *_args(proj, task), fault=f"{point}:{action}")
    new = point == "swap.committed" and TASKS[task].swaps_watched
    _check_exit(proc, action, new)
    _wait_sessions_gone(proj)
    _check_invariants(proj, before, acl, new)


def _check_exit(proc: Any, action: str, new: bool) -> None:
    if action == "kill":
        assert proc.returncode == -9, (proc.returncode, proc.stderr)  # the point was reached
        return
    assert proc.returncode == 130, (proc.returncode, proc.stderr)
    assert "Interrupted" in proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    # exit 130 alone would read as "nothing happened": after the swap, say what it holds
    if new:
        assert "holds the new content" in proc.stderr, proc.stderr


def _check_invariants(p: Project, before: Before, acl: Any, new: bool) -> None:
    after = privileges(p.admin, p.info.dbname)
    assert after == acl, "the project database lost its privileges or its connections"
    assert after is not None and after.allow
    with connect(p.info) as conn:  # it accepts connections
        conn.execute("SELECT 1")
    now = digest_of(p.admin, before.watch)
    assert now in (before.old, before.new()), f"{before.watch} holds neither old nor new content"
    assert now == (before.new() if new else before.old), "old and new the wrong way round"
    if before.unchanged is not None:
        assert content_digest(p.info) == before.unchanged
    shown = listed(p.settings)  # the next command: it sweeps what the crash left
    assert not [s for s in shown if "leftover" in str(s["name"])]
    assert temporaries(p.admin) == []


def test_every_crash_point_is_exercised(proj: Project) -> None:
    """Every named point is on some task's list, and every listed point exists. (That a point
    is really on its task's path is proven above: the task dies there, exit -9 or 130.)"""
    from devdb.copies.faults import POINTS

    for task, spec in TASKS.items():
        assert set(spec.points) <= set(POINTS), task
    assert {p for spec in TASKS.values() for p in spec.points} == set(POINTS)
