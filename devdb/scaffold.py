"""``devdb init``: lay out a project the way devdb expects, without clobbering anything.

The files come from ``devdb/templates/project`` inside the installed package, so ``init`` works
from a wheel with no checkout of devdb around. An existing file is never overwritten (it is listed
as skipped) unless ``force`` is given. ``.gitignore`` is never overwritten at all: the entries devdb
needs are appended when missing.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from devdb.errors import ConfigError

GITIGNORE_TEMPLATE = "gitignore"  # stored without its dot: git would obey a real .gitignore here
_SKIP = {"__pycache__", ".DS_Store"}


@dataclass(frozen=True)
class InitResult:
    """What ``init`` did: paths relative to ``root``."""

    root: Path
    written: tuple[str, ...]
    skipped: tuple[str, ...]
    gitignore_added: tuple[str, ...]
    next_commands: tuple[str, ...]
    notes: tuple[str, ...] = ()


def template_root() -> Traversable:
    return resources.files("devdb") / "templates" / "project"


def template_files() -> dict[str, bytes]:
    """Every template file by its path in the new project (``gitignore`` excluded)."""
    return {
        rel: node.read_bytes()
        for rel, node in _walk(template_root(), "")
        if rel != GITIGNORE_TEMPLATE
    }


def gitignore_entries() -> list[str]:
    """The ``.gitignore`` lines devdb needs (comments excluded)."""
    text = (template_root() / GITIGNORE_TEMPLATE).read_text()
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def init_project(target: Path, *, force: bool = False, cwd: Path | None = None) -> InitResult:
    """Write the template into ``target`` (created when missing); see the module docstring."""
    root = target.expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{target} exists and is not a folder", "Pass a folder to devdb init.")
    root.mkdir(parents=True, exist_ok=True)
    from devdb.migrator.detect import detect, is_example

    detected = detect(root)  # an Alembic or Django project: its migrations, not the example
    own = [] if detected else _own_migrations(root)  # nor beside SQL migrations of its own
    files = {r: c for r, c in template_files().items() if not ((detected or own) and is_example(r))}
    written: list[str] = []
    skipped: list[str] = []
    for rel, content in sorted(files.items()):
        path = root / rel
        if path.exists() and not force:
            skipped.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(rel)
    added = merge_gitignore(root / ".gitignore", gitignore_entries())
    notes = _notes(root, skipped)
    if own:
        notes.append(
            f"migrations/ already holds {len(own)} migration(s) of yours: no example migration, "
            "seed or query written"
        )
    if detected:
        from devdb.migrator.detect import write_settings

        changed = write_settings(root, detected)
        notes.append(
            f"{detected.found} found: {detected.migrator} migrates (DEVDB_MIGRATOR="
            f"{detected.migrator} in {' and '.join(changed) or '.env'}); no example migration, "
            "seed or query written"
        )
    return InitResult(
        root,
        tuple(written),
        tuple(skipped),
        tuple(added),
        next_commands(root, cwd or Path.cwd()),
        tuple(notes),
    )


def _own_migrations(root: Path) -> list[Path]:
    """The ``migrations/*.sql`` files already there, devdb's own example left out."""
    folder = root / "migrations"
    examples = {Path(rel).name for rel in template_files() if rel.startswith("migrations/")}
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.sql") if p.name not in examples)


def _notes(root: Path, skipped: list[str]) -> list[str]:
    """What a kept file still needs: a ``tasks.py`` of your own must import devdb's tasks."""
    if "tasks.py" in skipped and "devdb.tasks" not in (root / "tasks.py").read_text():
        return [
            "tasks.py is yours and does not load devdb's tasks: add `from devdb.tasks import ns`, "
            "then `ns.add_task(...)` your own tasks and end with `namespace = ns`."
        ]
    return []


def merge_gitignore(path: Path, entries: list[str]) -> list[str]:
    """Append the entries ``path`` lacks (``.devdb``, ``/.devdb/`` count as ``.devdb/``);
    returns what was added."""
    existing = path.read_text() if path.is_file() else ""
    have = {_normalize(line) for line in existing.splitlines()}
    missing = [e for e in entries if _normalize(e) not in have]
    if not missing:
        return []
    with path.open("a") as fh:
        if existing and not existing.endswith("\n"):
            fh.write("\n")
        if existing.strip():
            fh.write("\n")
        fh.write("# devdb\n" + "\n".join(missing) + "\n")
    return missing


def next_commands(root: Path, cwd: Path) -> tuple[str, str]:
    """The two commands to run next (with a ``cd`` when the project is elsewhere)."""
    prefix = ""
    if root != cwd.resolve():
        try:
            where = str(root.relative_to(cwd.resolve()))
        except ValueError:
            where = str(root)
        prefix = f"cd {shlex.quote(where)} && "
    return (f"{prefix}invoke db.setup", "invoke db.url --role app")


def _normalize(line: str) -> str:
    return line.strip().lstrip("/").rstrip("/")


def _walk(node: Traversable, prefix: str) -> Iterator[tuple[str, Traversable]]:
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.name in _SKIP or child.name.endswith(".pyc"):
            continue
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            yield from _walk(child, rel + "/")
        else:
            yield rel, child
