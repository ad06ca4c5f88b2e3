"""Finding a project's seeds, importing them, and the digests that say when one is stale.

Seeds are the files in the seeds folder, in file-name order: ``NNN_name.py`` (tables declared with
``devdb.seeds.table``) and ``NNN_name.sql`` (plain SQL, run after the Python seeds). Files whose
name starts with ``_`` are helpers: every digest covers them. A seed's digest also covers every
seed before it (later seeds may read earlier ones' rows), the profile, the scale, the schema
version (the migration files' digest) and the Faker version.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import devdb
from devdb.errors import SeedError
from devdb.settings import Settings

if TYPE_CHECKING:
    from devdb.seeds import api

# Bump when generation changes in a way that changes seeded values.
GENERATION_FORMAT = "2"
_NAME = re.compile(r"^(?:\d+[_-])?(?P<name>.+)$")


@dataclass
class SeedFile:
    name: str
    path: Path
    kind: str  # "python" or "sql"
    digest: str = ""
    tables: list[api.Table] = field(default_factory=list)


def seeds_folder(settings: Settings) -> Path | None:
    """The seeds folder; None when the default ``seeds/`` is absent (a project with no seeds).
    A folder DEVDB_SEEDS_DIR names must exist: a typo must not load zero seeds silently."""
    folder = settings.seeds_dir
    if folder.is_dir():
        return folder
    if folder == settings.root / "seeds":
        return None
    raise SeedError(
        f"DEVDB_SEEDS_DIR: the seeds folder {folder} does not exist",
        "Create it, or fix DEVDB_SEEDS_DIR (relative to the project root; unset, devdb uses "
        "seeds/ and a project without that folder has no seeds).",
    )


def discover(settings: Settings) -> list[SeedFile]:
    """The seed files, in file-name order (helpers and hidden files left out)."""
    folder = seeds_folder(settings)
    if folder is None:
        return []
    files: list[SeedFile] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(("_", ".")) or path.suffix not in {".py", ".sql"}:
            continue
        match = _NAME.match(path.stem)
        name = match.group("name") if match else path.stem
        files.append(SeedFile(name, path, "python" if path.suffix == ".py" else "sql"))
    names = [f.name for f in files]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SeedError(
            f"two seed files have the same name: {', '.join(dupes)}",
            "Seed names come from file names without the number prefix; rename one.",
        )
    return files


def with_digests(
    settings: Settings, files: list[SeedFile], profile: str, scale: float
) -> list[SeedFile]:
    """Fill in each file's chained digest."""
    h = hashlib.sha256()
    for part in (GENERATION_FORMAT, devdb.__version__, profile, repr(float(scale))):
        h.update(part.encode() + b"\0")
    from devdb.seeds.pools import faker_version

    h.update(schema_version(settings).encode() + b"\0" + faker_version().encode() + b"\0")
    for helper in helpers(settings):
        h.update(helper.name.encode() + b"\0" + helper.read_bytes() + b"\0")
    for f in files:
        h.update(f.path.name.encode() + b"\0" + f.path.read_bytes() + b"\0")
        f.digest = h.copy().hexdigest()[:32]
    return files


def helpers(settings: Settings) -> list[Path]:
    folder = seeds_folder(settings)
    if folder is None:
        return []
    return sorted(p for p in folder.iterdir() if p.name.startswith("_") and p.suffix == ".py")


def schema_version(settings: Settings) -> str:
    """The migrator's digest of its inputs (names and bytes of the migration files).

    It reads files only (no migrations package, no Alembic or Django import): cheaper than an
    unchanged seed run. Any byte counts, so at worst a comment edit in a migration reseeds once.
    """
    from devdb.migrator import digest

    return digest(settings)


def seeds_digest(settings: Settings, profile: str, scale: float) -> str:
    """One digest of everything that determines the seeds' content."""
    files = with_digests(settings, discover(settings), profile, scale)
    if not files:
        return hashlib.sha256(f"no seeds\0{profile}\0{float(scale)!r}".encode()).hexdigest()[:32]
    return files[-1].digest


def import_seeds(settings: Settings, files: list[SeedFile]) -> None:
    """Import every Python seed (in order) and register its tables."""
    from devdb.seeds import api

    api.REGISTRY.clear()
    folder = str(settings.seeds_dir)
    if folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)  # so seeds can `import _helpers`: this project's, not another's
    for helper in helpers(settings):
        sys.modules.pop(helper.stem, None)
    for f in files:
        if f.kind == "python":
            f.tables = _import_one(f)


def _import_one(f: SeedFile) -> list[api.Table]:
    from devdb.seeds import api

    module_name = f"devdb_seed_{_module_safe(f.path.stem)}"
    spec = importlib.util.spec_from_file_location(module_name, f.path)
    if spec is None or spec.loader is None:
        raise SeedError(f"cannot import seed file {f.path.name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SeedError as exc:
        raise SeedError(f"seed {f.name} ({f.path.name}): {exc.message}", exc.hint) from exc
    except Exception as exc:
        raise SeedError(
            f"seed {f.name} ({f.path.name}) failed to import: {type(exc).__name__}: {exc}",
            "Fix the seed file; nothing was loaded.",
        ) from exc
    tables = [v for v in vars(module).values() if isinstance(v, api.Table)]
    for t in tables:
        if t.name in api.REGISTRY:
            other = api.REGISTRY[t.name].seed
            raise SeedError(f"table {t.name} is declared by two seeds: {other} and {f.name}")
        t.seed = f.name
        api.REGISTRY[t.name] = t
    return tables


@lru_cache(maxsize=64)
def _module_safe(stem: str) -> str:
    return re.sub(r"\W", "_", stem)
