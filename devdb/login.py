"""Cheap logins as the owner on servers devdb runs.

Every connection with SCRAM-SHA-256 makes the client derive a key from the password with
PBKDF2, as many rounds as the role's verifier says: 4096 by default, about 2.5 ms of the 3.2 ms
of client CPU a connection costs here (0.8 ms at 64 rounds), about what a new connection costs
the server. ``fresh_db`` opens one per test, every devdb command one or more.

Those rounds stretch a password a person chose, so that guessing it from a leaked verifier is
slow. The owner's password on a server devdb runs is not chosen: devdb generates it (144 random
bits, ``devdb.state``), which no number of rounds makes harder or easier to guess. So at
``db.up`` on a native or docker server whose owner password devdb generated (a digest of it was
recorded when it was made, ``devdb.state``), and which checked that password at this login (not
``trust``), the owner's verifier is made again with ``OWNER_ROUNDS`` rounds (by libpq, from the
session's ``scram_iterations``, PostgreSQL 16+). A password set with ``DEVDB_PASSWORD`` or written
into the file by hand, an external server, a verifier that is not SCRAM and any role but the
owner are left as they are.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo
from devdb.settings import Settings
from devdb.state import owner_password_generated

if TYPE_CHECKING:
    import psycopg

OWNER_ROUNDS = 64
FIRST_VERSION = 160000  # scram_iterations appeared in PostgreSQL 16
_ROUNDS = re.compile(r"SCRAM-SHA-256\$(\d+):")


def quicken_owner_login(settings: Settings, conninfo: ConnInfo, *, owned: bool) -> bool:
    """Make the owner's verifier ``OWNER_ROUNDS`` rounds when devdb runs the server and
    generated the password; True when it was changed. Never fails ``db.up``: a server where it
    cannot be done keeps its logins as they are."""
    import psycopg

    from devdb.database import connect
    from devdb.errors import DevdbError

    if not owned or not owner_password_generated(settings):
        return False
    try:
        with connect(conninfo, autocommit=True) as conn:
            return _quicken(conn, conninfo)
    except (DevdbError, psycopg.Error):
        return False


def rounds(conn: psycopg.Connection[Any], role: str) -> int | None:
    """The PBKDF2 rounds of ``role``'s SCRAM verifier; None when it has none or it cannot be
    read (reading pg_authid needs a superuser)."""
    import psycopg

    try:
        query = "SELECT rolpassword FROM pg_authid WHERE rolname = %s"
        row = conn.execute(query, (role,)).fetchone()
    except psycopg.Error:
        return None
    found = _ROUNDS.match(str(row[0] or "")) if row else None
    return int(found.group(1)) if found else None


def _quicken(conn: psycopg.Connection[Any], conninfo: ConnInfo) -> bool:
    from psycopg import sql

    from devdb.roles import scram_verifier

    if conn.info.server_version < FIRST_VERSION or not conninfo.password:
        return False
    if not conn.pgconn.used_password:  # trust or peer: the login proved nothing about it
        return False
    now = rounds(conn, conninfo.user)
    if now is None or now == OWNER_ROUNDS:
        return False
    conn.execute(sql.SQL("SET scram_iterations = {}").format(sql.Literal(OWNER_ROUNDS)))
    verifier = scram_verifier(conn, conninfo.user, conninfo.password)
    found = _ROUNDS.match(verifier)
    if not found or int(found.group(1)) != OWNER_ROUNDS:  # a libpq before 16 ignores the setting
        return False
    conn.execute(
        sql.SQL("ALTER ROLE {} PASSWORD {}").format(
            sql.Identifier(conninfo.user), sql.Literal(verifier)
        )
    )
    return True
