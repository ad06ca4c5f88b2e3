"""Scratch databases: empty databases that live for one command (verify, schema checks).

Each is a temporary (``names``) held under this process's lease for as long as it lives, so a
killed command's scratch database is dropped by the next command's sweep.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager

from devdb.conninfo import ConnInfo
from devdb.copies import faults, names
from devdb.copies.dbops import admin_connect, drop
from devdb.database import create_database


@contextmanager
def scratch_database(conninfo: ConnInfo, purpose: str = "scratch") -> Iterator[ConnInfo]:
    """A fresh empty database on the same server, dropped afterwards."""
    with admin_connect(conninfo) as admin:
        name = names.temp_name(conninfo.dbname, purpose[:7])
        create_database(admin, name)
        try:
            faults.point("scratch.created")
            yield conninfo.for_database(name)
        finally:
            with contextlib.suppress(Exception):  # else the next command's sweep drops it
                drop(admin, name)
