"""Reset: bring the database back to "migrated + seeded (profile, scale)" in milliseconds.

A template database ``devdb_tpl_<12 hex>`` holds the migrated and seeded state; its name is a digest
of everything that determines its content (migration files, seed code, profile, scale, the server's
major version, the owner and app roles). Reset clones it with ``CREATE DATABASE ... TEMPLATE``;
when nothing changed, migrations and seeds never run. When the digest changes, the template is
built once (in a temporary database, under an advisory lock so parallel callers build it once),
then renamed into place in one transaction that also marks it ``IS_TEMPLATE`` and closes it to
connections (``swap``); older templates of the same project and profile are pruned.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo
from devdb.copies import faults, names, spare
from devdb.copies.dbops import admin_connect, disconnect, drop, get_meta, now_iso
from devdb.copies.snapshots import replace_database
from devdb.copies.swap import Swap, building, commit, drop_trash, server_watch
from devdb.database import connect, database_exists
from devdb.errors import ConnectionFailed
from devdb.output import info
from devdb.settings import Settings

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[Any]

TPL_PREFIX = "devdb_tpl_"
FORMAT = "1"  # bump when the way templates are built changes


@dataclass(frozen=True)
class Template:
    name: str
    digest: str
    built: bool = False
    build_seconds: float = 0.0


@dataclass(frozen=True)
class ResetResult:
    database: str
    template: Template
    disconnected: list[str]
    pruned: list[str] = field(default_factory=list)
    kept_undo: bool = False
    seconds: float = 0.0
    used_spare: bool = False  # renamed a copy made ahead of time instead of copying


def server_major(conn: Conn) -> int:
    row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
    return int(row[0]) // 10000 if row else 0


def content_digest(settings: Settings, *, profile: str, scale: float, major: int) -> str:
    """12 hex digits over everything that determines a template's content."""
    from devdb.migrator import digest
    from devdb.roles import app_role_name
    from devdb.seeds import seeds_digest

    parts = [
        FORMAT,
        digest(settings),  # the migrator's inputs
        seeds_digest(settings, profile, scale),
        profile,
        repr(float(scale)),
        str(major),
        settings.user,
        app_role_name(settings),  # migrations grant to it by name
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def ensure_template(
    settings: Settings,
    conn: Conn,
    conninfo: ConnInfo,
    *,
    profile: str,
    scale: float,
    rebuild: bool = False,
) -> Template:
    """The template for (profile, scale); built once when missing (or when ``rebuild``)."""
    digest = content_digest(settings, profile=profile, scale=scale, major=server_major(conn))
    name = TPL_PREFIX + digest
    if not rebuild and database_exists(conn, name):
        return Template(name, digest)
    with advisory_lock(conn, name):
        if not rebuild and database_exists(conn, name):  # another process built it meanwhile
            return Template(name, digest)
        started = time.perf_counter()
        meta = _template_meta(settings, digest, profile, scale)
        build(settings, conn, conninfo, name, meta=meta, started=started)
        return Template(name, digest, built=True, build_seconds=time.perf_counter() - started)


@contextmanager
def advisory_lock(conn: Conn, key: str) -> Iterator[None]:
    """A session advisory lock in the admin database, keyed by ``key``."""
    conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
    try:
        yield
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))


def build(
    settings: Settings,
    conn: Conn,
    conninfo: ConnInfo,
    name: str,
    *,
    meta: dict[str, Any],
    started: float,
) -> None:
    """Migrate and seed a temporary database, then rename it to ``name`` and freeze it (one
    transaction: a template is there complete, or not at all)."""
    from devdb.database import create_database
    from devdb.migrator import get_migrator
    from devdb.seeds import seed

    profile, scale = meta["profile"], meta["scale"]
    with building(conn, names.temp_name(conninfo.dbname, "build")) as scratch:
        create_database(conn, scratch, owner=conninfo.user)
        target = conninfo.for_database(scratch)
        info(f"building template {name} (profile {profile}, scale {scale:g}): migrate + seed")
        get_migrator(settings).migrate(target)
        faults.point("build.migrated")
        seed(settings, target, profile=profile, scale=scale)
        with connect(target, autocommit=True) as work:
            work.execute("VACUUM (FREEZE, ANALYZE)")
        disconnect(conn, scratch)
        swap = Swap()
        swap.retire(conn, name, conninfo.dbname)
        swap.rename(scratch, name)
        swap.alter(name, "WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
        swap.describe(name, {**meta, "build_seconds": round(time.perf_counter() - started, 3)})
        commit(conn, swap)
    drop_trash(conn, swap)


def _template_meta(settings: Settings, digest: str, profile: str, scale: float) -> dict[str, Any]:
    return {
        "kind": "template",
        "project": settings.project,
        "profile": profile,
        "scale": scale,
        "digest": digest,
        "created": now_iso(),
    }


def prune_templates(conn: Conn, settings: Settings, *, keep: str, profile: str) -> list[str]:
    """Drop this project's older templates of ``profile`` (any scale); others are left alone."""
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s) AND datname <> %s",
        (TPL_PREFIX, keep),
    ).fetchall()
    pruned = []
    for (dbname,) in rows:
        meta = get_meta(conn, dbname)
        if meta.get("project") == settings.project and meta.get("profile") == profile:
            drop(conn, dbname)
            pruned.append(str(dbname))
    return pruned


def project_conninfo(settings: Settings) -> ConnInfo:
    """The owner ConnInfo of the project's server, without a probe connection."""
    from devdb.backends import get_backend

    return get_backend(settings, announce=False).conninfo()


def connect_admin(conninfo: ConnInfo) -> Conn:
    try:
        return admin_connect(conninfo)
    except ConnectionFailed as exc:
        if exc.hint == ConnectionFailed.default_hint:
            exc.hint = "Start the server with `invoke db.up`."
        raise


def reset(
    settings: Settings,
    *,
    profile: str | None = None,
    scale: float | None = None,
    hard: bool = False,
) -> ResetResult:
    """Replace the project database with a copy of the (profile, scale) template.

    The replaced database is kept as the undo snapshot (renamed, not copied). Callers check the
    guard and confirm first.
    """
    started = time.perf_counter()
    profile = profile or settings.profile
    scale = scale if scale is not None else settings.scale
    conninfo = project_conninfo(settings)
    # the watch covers the template build too: a server dying there is reported as such
    with connect_admin(conninfo) as conn, server_watch(conn, conninfo.dbname, "db.reset") as phase:
        tpl = ensure_template(settings, conn, conninfo, profile=profile, scale=scale, rebuild=hard)
        existed = database_exists(conn, conninfo.dbname)
        meta = {"kind": "reset", "template": tpl.name, "digest": tpl.digest, "profile": profile}
        gone, _, used_spare = replace_database(
            conn,
            conninfo.dbname,
            tpl.name,
            conninfo.user,
            meta={**meta, "scale": scale, "created": now_iso()},
            use_spare=True,
            phase=phase,
        )
        pruned = prune_templates(conn, settings, keep=tpl.name, profile=profile)
        if pruned or tpl.built:
            spare.prune(conn)
    spare.refill_in_background(conninfo, tpl.name)  # the next reset is a rename
    seconds = time.perf_counter() - started
    return ResetResult(conninfo.dbname, tpl, gone, pruned, existed, seconds, used_spare)
