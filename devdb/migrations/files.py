"""The migrations folder: listing and parsing its files, digesting them, writing a new one."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

from devdb.errors import MigrationError, MigrationParseError
from devdb.migrations.parse import Migration, checksum, parse_file, split_filename
from devdb.settings import Settings

TEMPLATE = """\
-- {description}

-- +migrate Up


-- +migrate Down

"""


def migration_paths(settings: Settings) -> list[Path]:
    """The ``*.sql`` files of the migrations folder, sorted by version (name)."""
    folder = settings.migrations_dir
    if not folder.is_dir():
        raise MigrationError(
            f"the migrations folder {folder.name}/ does not exist",
            "Create it (`invoke db.migrate.new NAME` does), or set DEVDB_MIGRATIONS_DIR.",
        )
    return sorted(p for p in folder.iterdir() if p.suffix == ".sql" and p.is_file())


def load_migrations(settings: Settings) -> list[Migration]:
    """Parse every migration file; any malformed file or duplicate version is an error."""
    migrations = [parse_file(p) for p in migration_paths(settings)]
    seen: dict[str, str] = {}
    for m in migrations:
        if m.version in seen:
            raise MigrationParseError(
                f"{m.filename} and {seen[m.version]} share the version {m.version}",
                "Give one of them a new timestamp (rename the file) before it is applied anywhere.",
            )
        seen[m.version] = m.filename
    return migrations


def file_checksums(settings: Settings) -> dict[str, tuple[str, str]]:
    """``{version: (file name, checksum)}`` without parsing the SQL (fast, for status)."""
    out: dict[str, tuple[str, str]] = {}
    for path in migration_paths(settings):
        version, _ = split_filename(path)
        out[version] = (path.name, checksum(path.read_text(encoding="utf-8")))
    return out


def files_digest(settings: Settings) -> str:
    """A digest of the migration files' normalized contents (and names)."""
    digest = hashlib.sha256()
    for version, (name, sha) in sorted(file_checksums(settings).items()):
        digest.update(f"{version}\0{name}\0{sha}\n".encode())
    return digest.hexdigest()


def new_migration(settings: Settings, name: str, *, now: datetime | None = None) -> Path:
    """Write ``YYYYMMDDHHMMSS_<name>.sql`` with empty Up and Down sections; returns its path."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not slug:
        raise MigrationError(
            f"{name!r} is not a usable migration name",
            "Use a verb and a description, e.g. `invoke db.migrate.new add_users_city`.",
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
