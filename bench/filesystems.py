"""File systems for the copy benchmarks: a loop mount made for the run (root), or the temporary
folder's own.

- ``ext4``: ext4 as ``mkfs.ext4`` makes it (with its journal), what a Linux workstation runs;
- ``xfs``: XFS with reflinks (``mkfs.xfs -m reflink=1``): clones share blocks, like APFS or btrfs;
- ``tmp``: whatever the temporary folder is on.

Why not the temporary folder for ext4: on a file system made without a journal (as some virtual
machines' disks are), the kernel allocates a new inode only after checking that it was not freed
in the last seconds (ext4's ``recently_deleted``, done only without a journal). A database is a
few hundred files, so a run that creates and drops databases by the hundred makes every file
creation slower: measured here, ``CREATE DATABASE ... TEMPLATE`` of a 9 MB template took 60-120
ms after a few hundred create/drop cycles on such a disk, 7.5 ms throughout on a journaled ext4
loop mount. Use ``tmp`` to see the figures of the machine's own disk.

Each loop file is sparse (only what is written takes space) and lives in the temporary folder;
it is unmounted and deleted at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

KINDS = ("ext4", "xfs", "tmp")
MKFS = {
    # inode tables and journal written now, not by a kernel thread during the measurements
    "ext4": ["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0"],
    "xfs": ["mkfs.xfs", "-q", "-f", "-m", "reflink=1"],
}
PACKAGE = {"ext4": "e2fsprogs", "xfs": "xfsprogs"}


def fs_type(path: Path) -> str:
    cmd = ["stat", "-f", "-c", "%T", str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    kind = out.stdout.strip()
    return "ext4" if kind == "ext2/ext3" else kind  # what stat calls ext4


@contextmanager
def file_system(kind: str, tmp: Path, size_gb: int = 24) -> Iterator[Path]:
    """A folder on ``kind`` (see the module's doc)."""
    if kind == "tmp":
        yield tmp
        return
    if kind not in MKFS:
        sys.exit(f"unknown file system {kind!r}: one of {', '.join(KINDS)}")
    if os.geteuid() != 0 or shutil.which(MKFS[kind][0]) is None:
        sys.exit(f"the {kind} run needs root and {MKFS[kind][0]} (apt-get install {PACKAGE[kind]})")
    image, mount = tmp / f"{kind}.img", tmp / kind
    with image.open("wb") as fh:
        fh.truncate(size_gb * 1024**3)
    subprocess.run([*MKFS[kind], str(image)], check=True)
    mount.mkdir()
    subprocess.run(["mount", "-o", "loop", str(image), str(mount)], check=True)
    mount.chmod(0o755)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)
        image.unlink(missing_ok=True)


@contextmanager
def native_project(
    kind: str, prefix: str, env_of: Callable[[Path], dict[str, str]]
) -> Iterator[tuple[Path, dict[str, str], Any]]:
    """A project (made by ``env_of(root)``, which returns its environment) on ``kind``, with its
    native server up: (root, environment, settings). The server and the folder are removed at
    the end."""
    from devdb import server
    from devdb.backends.native import NativeBackend
    from devdb.settings import load_settings

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with file_system(kind, tmp) as folder:
            root = folder / "benchproj"
            env = env_of(root)
            settings = load_settings(root=root, environ=env)
            try:
                server.up(settings)
                yield root, env, settings
            finally:
                NativeBackend(settings).remove()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
