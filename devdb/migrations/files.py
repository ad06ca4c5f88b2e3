"""The migrations folder: listing and parsing its files, digesting them, writing a new one."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

from devdb.errors import MigrationError, MigrationParseError
from devdb.migrations.parse import (
    Migration,
    checksum,
    order,
    read_source,
    split_filename,
)
from devdb.settings import Settings

TEMPLATE = """\
-- {description}

-- +migrate Up


-- +migrate Down

"""


NAME_LIMIT = 100


def migration_paths(settings: Settings) -> list[Path]:
    """The ``*.sql`` files of the migrations folder in sql-migrate's order (numeric prefix as a
    number, then name)."""
    folder = settings.migrations_dir
    if not folder.is_dir():
        raise MigrationError(
            f"the migrations folder {folder.name}/ does not exist",
            "Create it (`invoke db.migrate.new NAME` does), or set DEVDB_MIGRATIONS_DIR.",
        )
    paths = [p for p in folder.iterdir() if p.suffix == ".sql" and p.is_file()]
    return sorted(paths, key=lambda p: order(p.name))


def load_migrations(settings: Settings) -> list[Migration]:
    """Parse every migration file; any malformed file or duplicate version is an error."""
    from devdb.migrations.cache import SplitCache

    paths = migration_paths(settings)
    check_versions(paths)
    cache = SplitCache(settings.state_dir)
    migrations = [cache.parse(read_source(p), p, split_filename(p)[0]) for p in paths]
    cache.save()
    return migrations


def check_versions(paths: list[Path]) -> None:
    """Two files whose versions are the same number (``3_a.sql``, ``0003_b.sql``) are an
    error: which one ran would be ambiguous."""
    seen: dict[object, str] = {}
    for path in paths:
        version = split_filename(path)[0]
        key: object = int(version) if version.isdigit() else version
        if key in seen:
            raise MigrationParseError(
                f"{path.name} and {seen[key]} share the version {version}",
                "Give one of them a new version (rename the file) before it is applied anywhere.",
            )
        seen[key] = path.name


def file_checksums(settings: Settings) -> dict[str, tuple[str, str]]:
    """``{version: (file name, checksum)}`` without parsing the SQL (fast, for status)."""
    out: dict[str, tuple[str, str]] = {}
    paths = migration_paths(settings)
    check_versions(paths)
    for path in paths:
        version, _ = split_filename(path)
        out[version] = (path.name, checksum(read_source(path)))
    return out


def files_digest(settings: Settings) -> str:
    """A digest of the migration files' normalized contents (and names)."""
    digest = hashlib.sha256()
    for version, (name, sha) in sorted(file_checksums(settings).items(), key=_by_order):
        digest.update(f"{version}\0{name}\0{sha}\n".encode())
    return digest.hexdigest()


def _by_order(item: tuple[str, tuple[str, str]]) -> tuple[int, int, str]:
    return order(item[0])


def new_migration(settings: Settings, name: str, *, now: datetime | None = None) -> Path:
    """Write ``YYYYMMDDHHMMSS_<name>.sql`` with empty Up and Down sections; returns its path."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not slug:
        raise MigrationError(
            f"{name!r} is not a usable migration name",
            "Use a verb and a description, e.g. `invoke db.migrate.new add_users_city`.",
        )
    if len(slug) > NAME_LIMIT:
        raise MigrationError(
            f"the migration name is {len(slug)} characters long (at most {NAME_LIMIT})",
            "Use a short verb and description, e.g. `invoke db.migrate.new add_users_city`; "
            "details belong in a comment inside the file.",
        )
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    folder = settings.migrations_dir
    folder.mkdir(parents=True, exist_ok=True)
    taken = {p.name.split("_", 1)[0] for p in folder.glob("*.sql")}
    while stamp in taken:  # two in the same second: take the next free second
        stamp = str(int(stamp) + 1)
    path = folder / f"{stamp}_{slug}.sql"
    path.write_text(TEMPLATE.format(description=slug.replace("_", " ").capitalize()))
    return path
