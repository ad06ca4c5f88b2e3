"""Where each file's statements start and end, remembered between runs.

Splitting needs PostgreSQL's parser; an unchanged file need not be split again. The state folder
keeps ``migration-splits.json``: for the SHA-256 of each file's exact text, its format and each
section's line, transaction mode and statement offsets. The statements themselves are always cut
from the file as it is now, so a stale entry cannot exist: a changed byte is a different key. Only
files that parse cleanly are remembered; the file keeps only the entries of the current folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from devdb.migrations.parse import Migration, Section, Source, Statement, checksum, parse_text

VERSION = "3"  # bump when splitting changes, so older entries are ignored
NAME = "migration-splits.json"


class SplitCache:
    """Entries read from the state folder, and the ones this run used or added."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / NAME
        self.old: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(self.path.read_text())
            if isinstance(data, dict) and data.get("version") == VERSION:
                self.old = data.get("files", {})
        self.used: dict[str, Any] = {}

    def parse(self, text: str, path: Path, version: str) -> Migration:
        """The migration of ``text``: from a remembered entry, or parsed (and remembered)."""
        key = hashlib.sha256(text.encode()).hexdigest()
        entry = self.old.get(key)
        if entry is not None:
            with contextlib.suppress(KeyError, TypeError, ValueError, IndexError):
                migration = _from_entry(entry, text, path, version)
                self.used[key] = entry
                return migration
        migration = parse_text(text, path, version)
        self.used[key] = _to_entry(migration)
        return migration

    def save(self) -> None:
        """Write the entries this run used, if they differ from what was read."""
        if self.used == self.old:
            return
        tmp = self.path.with_name(f"{NAME}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"version": VERSION, "files": self.used}))
            tmp.replace(self.path)


def _to_entry(m: Migration) -> dict[str, Any]:
    sections = {"up": _section_entry(m.up)}
    if m.down is not None:
        sections["down"] = _section_entry(m.down)
    return {"format": m.format, "sections": sections}


def _section_entry(s: Section) -> list[Any]:
    return [s.line, s.transactional, [[st.offset, st.offset + len(st.sql)] for st in s.statements]]


def _from_entry(entry: dict[str, Any], text: str, path: Path, version: str) -> Migration:
    body = text.removeprefix("\ufeff")
    source = Source(body)
    sections = {
        direction: Section(
            direction.capitalize(),
            int(line),
            bool(transactional),
            tuple(Statement(body[s:e], s, source) for s, e in spans),
        )
        for direction, (line, transactional, spans) in entry["sections"].items()
    }
    return Migration(
        version=version,
        name=path.stem,
        path=path,
        checksum=checksum(text),
        up=sections["up"],
        down=sections.get("down"),
        format=str(entry["format"]),
    )
