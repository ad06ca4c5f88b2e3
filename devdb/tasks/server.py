"""Server tasks: db.up, db.down, db.status, db.url, db.logs, db.destroy, db.setup, and
db.drop-kept (the test databases the pytest plugin kept)."""

from __future__ import annotations

from invoke.context import Context
from invoke.tasks import task

from devdb.tasks._common import exits, settings_for

BACKEND_HELP = "auto, docker, native or external (default: DEVDB_BACKEND or auto)"


@task(help={"backend": BACKEND_HELP})
@exits
def up(c: Context, backend: str | None = None) -> None:
    """Start PostgreSQL (docker, native or external) and wait until it accepts connections."""
    from devdb import server
    from devdb.output import info

    result = server.up(settings_for(backend=backend))
    note = " (created the database)" if result.created_database else ""
    info(f"ready: {result.conninfo.url()} [{result.backend}]{note}")


@task(help={"backend": BACKEND_HELP})
@exits
def down(c: Context, backend: str | None = None) -> None:
    """Stop the server, keeping its data."""
    from devdb import server
    from devdb.output import info

    name = server.down(settings_for(backend=backend))
    info(f"stopped ({name})" if name != "external" else "")


@task(name="status", help={"json": "print one JSON document", "backend": BACKEND_HELP})
@exits
def status_(c: Context, json: bool = False, backend: str | None = None) -> None:
    """Show whether the server runs, where, and its version (password hidden)."""
    from devdb import server
    from devdb.output import print_json

    doc = server.status(settings_for(backend=backend))
    if json:
        print_json(doc)
        return
    state = "running" if doc["running"] else "stopped"
    if doc.get("state") == "not created":
        state = "not created (`invoke db.up` creates it)"
    print(f"backend:  {doc['backend']}\nstatus:   {state}\nurl:      {doc['url']}")
    if doc.get("server_version"):
        print(f"version:  {doc['server_version']}")
    if doc.get("copy_method"):
        print(f"copies:   {doc['copy_method']}")
    doc["health"] = server.health_text(doc)  # the text only: --json keeps Docker's word
    for key in ("data_dir", "binaries", "container", "image", "volume", "health", "error"):
        if doc.get(key):
            print(f"{key + ':':<9} {doc[key]}")


@task(
    help={
        "database": "another database on the same server",
        "role": "app: the least-privilege application role (DEVDB_APP_ROLE); default: the owner",
        "backend": BACKEND_HELP,
    }
)
@exits
def url(
    c: Context, database: str | None = None, role: str | None = None, backend: str | None = None
) -> None:
    """Print the full connection URL (password included), e.g. psql "$(invoke db.url)"."""
    from devdb import server

    print(server.url(settings_for(backend=backend), database=database, role=role))


@task(
    help={
        "lines": "how many lines (default 50)",
        "checkpoints": "keep the routine checkpoint lines (left out by default)",
        "backend": BACKEND_HELP,
    }
)
@exits
def logs(
    c: Context, lines: int = 50, checkpoints: bool = False, backend: str | None = None
) -> None:
    """Print the last lines of the server log (without routine checkpoint lines)."""
    from devdb import server

    if lines < 0:
        from devdb.errors import ConfigError

        raise ConfigError(f"--lines must be 0 or more, got {lines}", "Give a count: --lines 50.")
    print(server.logs(settings_for(backend=backend), lines, checkpoints=checkpoints))


@task(
    help={
        "yes": "do not ask for confirmation",
        "backend": BACKEND_HELP,
        "no_undo": "do not keep an undo dump of the database in the state folder",
    }
)
@exits
def destroy(
    c: Context, yes: bool = False, backend: str | None = None, no_undo: bool = False
) -> None:
    """Remove the server and ALL its data (container and volume, or native cluster)."""
    from devdb import server
    from devdb.guard import require_owned, require_yes
    from devdb.output import info

    settings = settings_for(backend=backend)
    require_owned(settings, force=False, action="destroy the server")
    from devdb.backends import get_backend

    target = get_backend(settings, announce=False)
    what = {"docker": "container and volume", "native": f"cluster in {settings.state_dir}"}
    desc = what.get(target.name, "server")
    question = (
        f"Destroy the {target.name} {desc} of {settings.project!r}, database "
        f"{settings.database!r} and all its data?"
    )
    require_yes(question, yes=yes, refused="not destroyed")
    if not no_undo:
        from devdb.copies.pgdump import save_undo_file

        info(f"saving an undo dump of {settings.database!r} first ...")
        kept = save_undo_file(settings, target.conninfo())
        if kept:
            info(f"kept {kept} (after db.up, `invoke db.snapshot.restore --undo` loads it)")
    info(f"removing the {target.name} {desc} ...")
    server.destroy(settings)
    info(f"destroyed the {target.name} server of {settings.project!r}")


@task(name="drop-kept", help={"yes": "do not ask for confirmation"})
@exits
def drop_kept(c: Context, yes: bool = False) -> None:
    """Drop the test databases `pytest --devdb-keep-failed` kept."""
    from devdb.guard import require_owned, require_yes
    from devdb.keptdbs import drop_kept as drop
    from devdb.keptdbs import kept_databases
    from devdb.output import info
    from devdb.server import owner_conninfo

    settings = settings_for()
    require_owned(settings, force=False, action="drop kept test databases")
    conninfo = owner_conninfo(settings)
    kept = kept_databases(conninfo)
    if not kept:
        info("no kept test databases")
        return
    for name, test in kept:
        info(f"  {name}  (kept for {test})")
    require_yes(
        f"Drop these {len(kept)} kept test database(s)?", yes=yes, refused="nothing dropped"
    )
    drop(conninfo, [name for name, _ in kept])
    info(f"dropped {len(kept)} kept test database(s)")


@task(
    help={
        "from_bin": "bin folder of the old major's server (default: the system's, Debian's)",
        "drop_old": "delete the old clusters and dumps earlier upgrades kept",
        "yes": "do not ask for confirmation (with --drop-old)",
    }
)
@exits
def upgrade(
    c: Context, from_bin: str | None = None, drop_old: bool = False, yes: bool = False
) -> None:
    """Move the native cluster to the binaries' PostgreSQL major (the old one is kept)."""
    from pathlib import Path

    from devdb.backends import upgrade as upgrading
    from devdb.guard import require_yes
    from devdb.output import info

    settings = settings_for(backend="native")
    if drop_old:
        question = "Delete the clusters and dumps earlier upgrades kept?"
        require_yes(question, yes=yes, refused="nothing deleted")
        for path in upgrading.drop_old(settings):
            info(f"deleted {path}")
        return
    done = upgrading.upgrade(settings, from_bin=Path(from_bin) if from_bin else None)
    info(
        f"upgraded {settings.database!r} from PostgreSQL {done.old_major} to {done.new_major}; "
        f"the old cluster is kept in {done.kept} and the dump in {done.dump} (other databases, "
        "snapshots included, stay only there): `invoke db.upgrade --drop-old` deletes them"
    )


@task(help={"backend": BACKEND_HELP})
@exits
def setup(c: Context, backend: str | None = None) -> None:
    """Start the server, then migrate and seed: a ready database in one command."""
    from devdb import server
    from devdb.migrator import applied_summary, get_migrator
    from devdb.output import info
    from devdb.seeds import seed

    settings = settings_for(backend=backend)
    result = server.up(settings)
    info(f"ready: {result.conninfo.url()} [{result.backend}]")
    applied = get_migrator(settings).migrate(result.conninfo, progress=info)
    info(applied_summary(applied))
    report = seed(settings, result.conninfo)
    info(
        f"seeded {len(report.loaded)} of {len(report.seeds)} seed(s), profile {report.profile}, "
        f"scale {report.scale:g}"
    )
