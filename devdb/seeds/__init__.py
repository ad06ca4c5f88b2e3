"""Seeds: deterministic, idempotent Faker data for dev, test and demo, loaded at COPY speed.

``seed(settings, conninfo, ...)`` loads the project's stale seeds and returns a report;
``seeds_digest(settings, profile, scale)`` digests what determines their content. Seed files use
the definition API re-exported here (``table``, ``counts``, ``fake``, ``choice``, ...).
Importing this package loads neither Faker nor psycopg.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devdb.conninfo import ConnInfo
    from devdb.seeds.api import Counts, Row, Table, counts, row_id, table
    from devdb.seeds.columns import (
        Spec,
        between,
        choice,
        const,
        derive,
        fake,
        fake_unique,
        integer,
        ref,
    )
    from devdb.seeds.hashing import hash_at, salt, unit
    from devdb.seeds.progress import Progress
    from devdb.seeds.run import SeedReport
    from devdb.settings import Settings

__all__ = [
    "Counts",
    "Row",
    "Spec",
    "Table",
    "between",
    "choice",
    "const",
    "counts",
    "derive",
    "fake",
    "fake_unique",
    "hash_at",
    "integer",
    "ref",
    "row_id",
    "salt",
    "seed",
    "seeds_digest",
    "status",
    "table",
    "unit",
]


# The definition API, imported on first use: deciding that nothing changed needs none of it.
_API = ("Counts", "Row", "Table", "counts", "row_id", "table")
_COLUMNS = ("Spec", "between", "choice", "const", "derive", "fake", "fake_unique", "integer", "ref")
_LAZY = {
    **dict.fromkeys(_API, "devdb.seeds.api"),
    **dict.fromkeys(_COLUMNS, "devdb.seeds.columns"),
    **dict.fromkeys(("hash_at", "salt", "unit"), "devdb.seeds.hashing"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'devdb.seeds' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def seed(
    settings: Settings,
    conninfo: ConnInfo,
    *,
    profile: str | None = None,
    scale: float | None = None,
    only: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> SeedReport:
    """Load the stale seeds (profile/scale default to the settings'); returns a SeedReport."""
    from devdb.seeds.run import seed as run_seed

    return run_seed(
        settings, conninfo, profile=profile, scale=scale, only=only, force=force, progress=progress
    )


def seeds_digest(settings: Settings, profile: str, scale: float) -> str:
    """A digest of what determines seed content: seed code, profile, scale, schema, Faker."""
    from devdb.seeds.project import seeds_digest as digest

    return digest(settings, profile, scale)


def status(
    settings: Settings,
    conninfo: ConnInfo,
    *,
    profile: str | None = None,
    scale: float | None = None,
) -> dict[str, Any]:
    """Per seed: loaded or stale (and why), row counts, digest."""
    from devdb.seeds.run import status as run_status

    return run_status(settings, conninfo, profile=profile, scale=scale)
