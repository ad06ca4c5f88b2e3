"""``devdb init`` in a project that already migrates with Alembic or Django: which migrator, and
the settings that select it (instead of devdb's example migration, seed and query)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The template files that belong to the example schema (catalog.products): useless beside
# another tool's migrations, so init leaves them out when it detects one.
EXAMPLE_FILES = ("migrations/", "seeds/010_products.py", "queries/products_by_name.sql")


@dataclass(frozen=True)
class Detected:
    migrator: str
    found: str  # the file that gave it away

    @property
    def settings(self) -> dict[str, str]:
        return {"DEVDB_MIGRATOR": self.migrator}


def detect(root: Path) -> Detected | None:
    """Alembic when the root holds alembic.ini, Django when it holds manage.py, else None."""
    for found, migrator in (("alembic.ini", "alembic"), ("manage.py", "django")):
        if (root / found).is_file():
            return Detected(migrator, found)
    return None


def is_example(rel: str) -> bool:
    return rel.startswith(EXAMPLE_FILES)


def write_settings(root: Path, detected: Detected) -> list[str]:
    """Append the settings to ``.env`` (what devdb reads) and ``.env.example`` (what the team
    commits), each only where the variable is not set yet; returns the files changed."""
    changed = []
    for name in (".env", ".env.example"):
        path = root / name
        text = path.read_text() if path.is_file() else ""
        missing = {k: v for k, v in detected.settings.items() if not _sets(text, k)}
        if not missing:
            continue
        block = f"# {detected.found} found by devdb init: {detected.migrator} migrates\n"
        block += "".join(f"{k}={v}\n" for k, v in missing.items())
        sep = "\n" if text and not text.endswith("\n") else ""
        path.write_text(text + sep + ("\n" if text.strip() else "") + block)
        changed.append(name)
    return changed


def _sets(text: str, key: str) -> bool:
    return any(line.strip().startswith(f"{key}=") for line in text.splitlines())
