"""Migration tasks: db.migrate (apply), .down, .status, .new, .redo, .verify, .accept, .baseline;
schema tasks: db.schema.dump, db.schema.check."""

from __future__ import annotations

from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from devdb.tasks._common import exits, settings_for

FORCE_HELP = "run even when the server is not a local one devdb owns"


def _target(force: bool | None = None, action: str = "") -> tuple[Any, Any]:
    """Settings and the owner connection info of the project database."""
    from devdb.server import owner_conninfo

    settings = settings_for()
    if force is not None:
        from devdb.guard import require_owned

        require_owned(settings, force=force, action=action)
    return settings, owner_conninfo(settings)


def _planned_undo(
    force: bool, action: str, steps: int, to: str | None
) -> tuple[Any, Any, list[str]]:
    """The guard, the plan (checked: nothing runs, nothing is saved when it fails), then the
    automatic undo snapshot when there is something to roll back: migrator, conninfo, plan."""
    from devdb.copies.snapshots import save_undo
    from devdb.migrator import get_migrator
    from devdb.output import info

    settings, conninfo = _target(force, action)
    migrator = get_migrator(settings)
    migrator.check("redo" if action.startswith("redo") else "down")
    todo = migrator.plan_down(conninfo, steps=steps, to=to)
    if todo:
        save_undo(settings, conninfo)
        info("saved the undo snapshot (`invoke db.snapshot.restore --undo` restores it)")
    return migrator, conninfo, todo


@task(
    default=True,
    help={
        "to": "apply pending migrations up to and including this version",
        "dry_run": "print what would run, change nothing",
        "allow_out_of_order": "also apply pending files older than the newest applied one",
    },
)
@exits
def up(
    c: Context, to: str | None = None, dry_run: bool = False, allow_out_of_order: bool = False
) -> None:
    """Apply pending migrations (db.migrate)."""
    from devdb.migrator import applied_summary, get_migrator
    from devdb.output import info

    settings, conninfo = _target()
    done = get_migrator(settings).migrate(
        conninfo, to=to, dry_run=dry_run, allow_out_of_order=allow_out_of_order, progress=info
    )
    if dry_run:
        for version in done or ():
            print(f"would apply {version}")
    info(applied_summary(done, dry_run=dry_run))


@task(
    help={
        "steps": "how many of the newest migrations to roll back (default 1)",
        "to": "roll back every migration newer than this version",
        "force": FORCE_HELP,
    }
)
@exits
def down(c: Context, steps: int = 1, to: str | None = None, force: bool = False) -> None:
    """Roll back the newest migration(s); keeps an undo snapshot first."""
    from devdb.output import info

    migrator, conninfo, todo = _planned_undo(force, "migrate down", steps, to)
    if not todo:
        info("nothing to roll back (the undo snapshot is kept as it was)")
        return
    done = migrator.down(conninfo, steps=steps, to=to, progress=info)
    info(f"rolled back {len(done)} migration(s)")


@task(name="status", help={"json": "print one JSON document"})
@exits
def status_(c: Context, json: bool = False) -> None:
    """List migrations: applied, pending, changed, missing or out-of-order."""
    from devdb.backends import get_backend
    from devdb.migrator import get_migrator
    from devdb.output import print_json

    settings = settings_for()
    # no reachability probe first: status is read-only, and a failed connect says what to do
    rows = get_migrator(settings).status(get_backend(settings, announce=False).conninfo())
    if json:
        print_json(rows)
        return
    for row in rows:
        when = row["applied_at"][:19].replace("T", " ") if row["applied_at"] else ""
        print(f"{row['state']:<13} {row['name']:<60} {when}")
    pending = sum(r["state"] in ("pending", "out-of-order") for r in rows)
    print(f"{len(rows) - pending} applied, {pending} pending")


@task(help={"name": "verb_description, e.g. add_users_city"})
@exits
def new(c: Context, name: str) -> None:
    """Write a new timestamped migration file with Up and Down sections."""
    from devdb.migrator import get_migrator

    path = get_migrator(settings_for()).new(name)
    print(path)


@task(help={"force": FORCE_HELP})
@exits
def redo(c: Context, force: bool = False) -> None:
    """Roll back the newest migration and apply it again."""
    from devdb.errors import MigrationError
    from devdb.output import info

    migrator, conninfo, todo = _planned_undo(force, "redo a migration", 1, None)
    if not todo:
        raise MigrationError(
            "no migration is applied: nothing to redo", "The undo snapshot is kept as it was."
        )
    migrator.redo(conninfo, progress=info)


@task(help={"json": "print one JSON document"})
@exits
def verify(c: Context, json: bool = False) -> None:
    """Prove each Down undoes its Up (Up, Down, compare schemas, Up) in a scratch database."""
    from devdb.migrator import get_migrator
    from devdb.output import info, print_json

    settings, conninfo = _target()
    verdicts = get_migrator(settings).verify(conninfo, progress=None)
    if json:
        print_json([v.as_dict() for v in verdicts])
    else:
        for v in verdicts:
            print(_verdict_text(v))
    bad = [v for v in verdicts if not v.ok]
    unchecked = [v for v in verdicts if getattr(v, "not_checked", None)]
    if bad:
        raise Exit(
            f"Error: {len(bad)} of {len(verdicts)} migration(s) fail verification "
            f"({len(unchecked)} could not be checked)",
            code=1,
        )
    info(f"all {len(verdicts)} migration(s) verified: every Down undoes its Up")


def _verdict_text(v: Any) -> str:
    """One migration's verdict: ``ok NAME``, or ``FAIL NAME`` and what failed, one per line."""
    if v.ok:
        return f"ok    {v.filename}"
    lines = [f"FAIL  {v.filename}"]
    for label, names in (
        ("leaves behind", v.left_behind),
        ("does not restore", v.not_restored),
        ("restores differently", v.changed),
    ):
        lines += [f"      Down {label} {name}" for name in names]
    if v.error:
        lines.append(f"      {v.error}")
    if getattr(v, "not_checked", None):
        lines.append(f"      not checked: {v.not_checked}")
    return "\n".join(lines)


@task(
    help={
        "source": "whose history to import: auto (default), sql-migrate, dbmate, goose, flyway",
        "to": "instead, count every migration up to and including this version as applied",
        "dry_run": "print what would be recorded, change nothing",
    }
)
@exits
def baseline(
    c: Context, source: str = "auto", to: str | None = None, dry_run: bool = False
) -> None:
    """Adopt a database another tool migrated: record what already ran (runs nothing)."""
    from devdb.migrator import get_migrator
    from devdb.output import info

    settings, conninfo = _target()
    done = get_migrator(settings).baseline(conninfo, source=source, to=to, dry_run=dry_run)
    where = f" ({done.table})" if done.table else ""
    verb = "would record" if dry_run else "recorded"
    for version in done.imported:
        print(f"{verb} {version}")
    for entry in done.no_file:
        info(f"{done.source} lists {entry}, which has no file here: not recorded")
    info(
        f"{verb} {len(done.imported)} migration(s) as applied from {done.source}{where}; "
        f"{len(done.already)} already recorded"
    )


@task(help={"version": "only this version (default: every changed applied file)"})
@exits
def accept(c: Context, version: str | None = None) -> None:
    """Accept deliberate edits of applied migration files (record their new checksums)."""
    from devdb.migrator import get_migrator
    from devdb.output import info

    settings, conninfo = _target()
    done = get_migrator(settings).accept(conninfo, version=version)
    for _, filename in done:
        info(f"accepted the current content of {filename}")
    if not done:
        info("no applied migration file has changed")


@task(name="dump")
@exits
def schema_dump(c: Context) -> None:
    """Write schema.sql: the normalized pg_dump of what the migrations produce."""
    from devdb.migrations.schema import write_schema
    from devdb.output import info

    path = write_schema(*_target())
    info(f"wrote {path}")


@task(name="check")
@exits
def schema_check(c: Context) -> None:
    """Fail when schema.sql differs from what the migrations produce (CI drift check)."""
    from devdb.migrations.schema import schema_diff
    from devdb.output import info

    settings, conninfo = _target()
    diff = schema_diff(settings, conninfo)
    if diff:
        print("\n".join(diff))
        raise Exit(
            f"Error: {settings.schema_file.name} is out of date with the migrations\n"
            "Hint: Run `invoke db.schema.dump` and commit the result (or fix the migration).",
            code=1,
        )
    info(f"{settings.schema_file.name} matches the migrations")


migrate_ns = Collection("migrate", up, down, status_, new, redo, verify, accept, baseline)
schema_ns = Collection("schema", schema_dump, schema_check)
