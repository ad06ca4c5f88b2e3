"""db.reset: the database back to "migrated + seeded" by cloning a template, in milliseconds."""

from __future__ import annotations

from invoke.context import Context
from invoke.tasks import task

from devdb.tasks._common import exits, settings_for


@task(
    help={
        "profile": "seed profile (default: DEVDB_PROFILE)",
        "scale": "seed scale factor (default: DEVDB_SCALE)",
        "hard": "rebuild the template from scratch (migrate + seed) instead of reusing it",
        "yes": "do not ask for confirmation",
        "force": "allow a server that is not local (see DEVDB_ALLOWED_HOSTS)",
    }
)
@exits
def reset(  # noqa: PLR0917 - a task's parameters are its CLI flags
    c: Context,
    profile: str | None = None,
    scale: str | None = None,
    hard: bool = False,
    yes: bool = False,
    force: bool = False,
) -> None:
    """Reset the database to migrated + seeded (template clone; the old one is the undo)."""
    from devdb.copies import reset as reset_mod
    from devdb.guard import confirm_drop, require_owned
    from devdb.output import info

    settings = settings_for(profile=profile, scale=scale)
    target = require_owned(settings, force=force, action="reset the database")
    confirm_drop(
        target.database,
        action="db.reset",
        yes=yes,
        detail=f" by a copy of the {settings.profile!r} template (scale {settings.scale:g})",
    )
    result = reset_mod.reset(settings, hard=hard)
    if result.disconnected:
        names = ", ".join(sorted(set(result.disconnected)))
        info(f"disconnected {len(result.disconnected)} client(s) of {result.database!r}: {names}")
    tpl = result.template
    if tpl.built:
        info(f"built template {tpl.name} in {tpl.build_seconds:.1f} s")
    for name in result.pruned:
        info(f"pruned old template {name}")
    undo = "; undo: invoke db.snapshot.restore --undo" if result.kept_undo else ""
    how = "a copy made ahead of time" if result.used_spare else "a fresh copy"
    info(f"reset {result.database!r} to {tpl.name} ({how}) in {result.seconds:.2f} s{undo}")
