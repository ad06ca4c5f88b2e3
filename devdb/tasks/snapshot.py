"""Snapshot tasks: db.snapshot.save/restore/list/delete, and db.dump / db.load (files)."""

from __future__ import annotations

from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.parser.argument import Argument
from invoke.tasks import Task, task

from devdb.tasks._common import exits, settings_for

YES_HELP = "do not ask for confirmation"
FORCE_HELP = "allow a server that is not local (see DEVDB_ALLOWED_HOSTS)"


class _NameOrUndo(Argument):
    """The positional NAME, which ``--undo`` makes unnecessary (invoke has no optional
    positional arguments, so ``invoke db.snapshot.restore --undo`` would be a parse error)."""

    undo: Argument | None = None

    @property
    def value(self) -> Any:
        if self._value is None and self.undo is not None and self.undo.value:
            return ""
        return self._value if self._value is not None else self.default

    @value.setter
    def value(self, arg: str) -> None:
        self.set_value(arg, cast=True)


class _RestoreTask(Task[Any]):
    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        args = super().get_arguments(ignore_unknown_help)
        by_name = {a.name: a for a in args}
        name = by_name["name"]
        name.__class__ = _NameOrUndo
        name.undo = by_name["undo"]  # type: ignore[attr-defined]
        return args


def _target(force: bool, action: str) -> Any:
    from devdb.copies.reset import project_conninfo
    from devdb.guard import require_owned

    settings = settings_for()
    require_owned(settings, force=force, action=action)
    return settings, project_conninfo(settings)


def _clients(gone: list[str], database: str) -> None:
    from devdb.output import info

    if gone:
        info(f"disconnected {len(gone)} client(s) of {database!r}: {', '.join(sorted(set(gone)))}")


UNDO = "undo: invoke db.snapshot.restore --undo"  # what a replacing task prints last


@task(help={"name": "snapshot name", "replace": "overwrite a snapshot of that name"})
@exits
def save(c: Context, name: str, replace: bool = False) -> None:
    """Save the database as snapshot NAME (a copy on the same server, in milliseconds)."""
    from devdb.copies import snapshots
    from devdb.copies.reset import project_conninfo
    from devdb.output import info

    conninfo = project_conninfo(settings_for())
    snap, gone = snapshots.save(conninfo, name, replace=replace)
    _clients(gone, conninfo.dbname)
    info(f"saved snapshot {name!r} of {conninfo.dbname!r} ({_size(snap.size_bytes)})")


@task(
    klass=_RestoreTask,
    positional=["name"],
    help={
        "name": "snapshot to restore",
        "undo": "bring back the automatic undo snapshot (the state before the last reset, "
        "restore, load or migrate down)",
        "yes": YES_HELP,
        "force": FORCE_HELP,
    },
)
@exits
def restore(
    c: Context, name: str | None = None, undo: bool = False, yes: bool = False, force: bool = False
) -> None:
    """Replace the database with snapshot NAME (or --undo); the current one becomes the undo."""
    from devdb.copies import pgdump, snapshots
    from devdb.errors import SnapshotError
    from devdb.guard import confirm_drop
    from devdb.output import info

    if not undo and not name:
        raise SnapshotError("give a snapshot NAME or --undo", "`invoke db.snapshot.list`.")
    if name:
        snapshots.check_name(name)  # a bad name fails before any question
    settings, conninfo = _target(force, "restore a snapshot")
    undo_file = pgdump.newer_undo_file(settings, conninfo) if undo else None
    what = "the undo snapshot" if undo else f"snapshot {name!r}"
    what = f"the undo dump {undo_file} (kept by db.destroy)" if undo_file else what
    confirm_drop(conninfo.dbname, action="db.snapshot.restore", yes=yes, detail=f" by {what}")
    if undo_file:
        _clients(pgdump.load(settings, conninfo, undo_file), conninfo.dbname)
        undo_file.unlink()
        info(f"restored {conninfo.dbname!r} from the dump kept by db.destroy")
        return
    if undo:
        meta, gone = snapshots.restore_undo(conninfo)
        _clients(gone, conninfo.dbname)
        info(f"restored {conninfo.dbname!r} to its state of {meta.get('created', '?')} (undo)")
        return
    assert name is not None
    gone = snapshots.restore(conninfo, name)
    _clients(gone, conninfo.dbname)
    info(f"restored {conninfo.dbname!r} from snapshot {name!r}; {UNDO}")


@task(name="list", help={"json": "print one JSON document"})
@exits
def list_(c: Context, json: bool = False) -> None:
    """List snapshots: name, size, created, source database and digest."""
    from devdb.copies import snapshots
    from devdb.copies.reset import project_conninfo
    from devdb.output import print_json

    found = snapshots.list_snapshots(project_conninfo(settings_for()))
    if json:
        print_json([s.as_dict() for s in found])
        return
    if not found:
        print("no snapshots (save one with `invoke db.snapshot.save NAME`)")
        return
    print(f"{'name':<24} {'size':>9}  {'created':<25} {'source':<20} digest")
    for s in found:
        row = f"{s.name:<24} {_size(s.size_bytes):>9}  {s.created or '-':<25} "
        print(row + f"{s.source or '-':<20} {s.digest or '-'}")


@task(help={"name": "snapshot to delete", "yes": YES_HELP})
@exits
def delete(c: Context, name: str, yes: bool = False) -> None:
    """Delete snapshot NAME."""
    from devdb.copies import snapshots
    from devdb.copies.reset import project_conninfo
    from devdb.errors import GuardError
    from devdb.output import confirm, info

    conninfo = project_conninfo(settings_for())
    dbname = snapshots.snapshot_database(conninfo.dbname, name)
    if not confirm(f"Drop snapshot database {dbname!r}?", yes=yes):
        raise GuardError(f"snapshot {name!r} not deleted: no confirmation", "Pass --yes.")
    snapshots.delete(conninfo, name)
    info(f"deleted snapshot {name!r} (database {dbname!r})")


@task(help={"file": "where to write the dump (pg_dump custom format)"})
@exits
def dump(c: Context, file: str) -> None:
    """Write the database to FILE (pg_dump custom format) to share it with a teammate."""
    from pathlib import Path

    from devdb.copies import pgdump
    from devdb.copies.reset import project_conninfo
    from devdb.output import info

    settings = settings_for()
    conninfo = project_conninfo(settings)
    size = pgdump.dump(settings, conninfo, Path(file))
    info(f"dumped {conninfo.dbname!r} to {file} ({_size(size)})")


@task(help={"file": "a dump made by db.dump", "yes": YES_HELP, "force": FORCE_HELP})
@exits
def load(c: Context, file: str, yes: bool = False, force: bool = False) -> None:
    """Replace the database with the content of FILE; the current one becomes the undo."""
    from pathlib import Path

    from devdb.copies import pgdump
    from devdb.guard import confirm_drop
    from devdb.output import info

    settings, conninfo = _target(force, "load a dump")
    confirm_drop(conninfo.dbname, action="db.load", yes=yes, detail=f" by the content of {file}")
    _clients(pgdump.load(settings, conninfo, Path(file)), conninfo.dbname)
    info(f"loaded {file} into {conninfo.dbname!r}; {UNDO}")


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


ns = Collection("snapshot", save, restore, list_, delete)
