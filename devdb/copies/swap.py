"""The one protocol for replacing a database devdb manages.

1. **Build** the new copy completely under a temporary name that names its owner (``names``):
   content, database-level privileges, ``ALLOW_CONNECTIONS``, metadata.
2. **Swap** names in one transaction (``ALTER DATABASE ... RENAME`` is transactional): the live
   name is never missing, never closed, never half-built; a kill, a Ctrl-C or the server dying
   before the commit leaves the old database, after it the new one.
3. **Retire** what was replaced only after the commit: it was renamed to a ``trash`` temporary,
   dropped now or by the background process (``spare``), or by the next command's sweep.

A rename needs the database idle, so its clients are disconnected just before the transaction;
one that reconnects in between makes the rename fail with ``object_in_use``, and the swap is
retried. Crash points (``faults``) mark each step for the fault harness.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from devdb.copies import faults, names
from devdb.copies.dbops import drop, terminate
from devdb.database import database_exists
from devdb.errors import DatabaseError, ServerGone

if TYPE_CHECKING:
    import psycopg
    from psycopg.abc import Query

    Conn = psycopg.Connection[Any]

_SWAP_ATTEMPTS = 5


@dataclass
class Swap:
    """The statements of one swap transaction, and what to disconnect before it."""

    idle: list[str] = field(default_factory=list)
    statements: list[Query] = field(default_factory=list)
    trash: list[str] = field(default_factory=list)

    def rename(self, old: str, new: str) -> None:
        from psycopg import sql

        self.statements.append(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(old), sql.Identifier(new)
            )
        )

    def alter(self, name: str, clause: str) -> None:
        """``ALTER DATABASE name <clause>`` for a fixed clause written in this package."""
        from psycopg import sql

        stmt = sql.SQL("ALTER DATABASE {} ").format(sql.Identifier(name)) + sql.SQL(clause)
        self.statements.append(stmt)

    def describe(self, name: str, meta: dict[str, Any]) -> None:
        import json

        from psycopg import sql

        self.statements.append(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(json.dumps(meta, sort_keys=True))
            )
        )

    def retire(self, conn: Conn, name: str, project: str, *, exists: bool | None = None) -> None:
        """Rename ``name`` (if it exists) to a trash temporary, dropped after the commit."""
        if exists if exists is not None else database_exists(conn, name):
            trash = names.temp_name(project, names.TRASH)
            self.rename(name, trash)
            self.trash.append(trash)


@dataclass
class Phase:
    """Where a replace is, for the error when the server goes away."""

    state: str = "building"  # building -> committing -> swapped


def commit(conn: Conn, swap: Swap, phase: Phase | None = None) -> list[str]:
    """Run ``swap`` in one transaction; returns the clients disconnected first."""
    import psycopg
    from psycopg import sql

    gone: list[str] = []
    for attempt in range(_SWAP_ATTEMPTS):
        for name in swap.idle:
            gone += terminate(conn, name)
        try:
            with conn.transaction():
                conn.execute(sql.SQL("; ").join(swap.statements))  # one round trip
                faults.point("swap.before_commit")
                if phase:
                    phase.state = "committing"
        except psycopg.errors.ObjectInUse as exc:
            if attempt == _SWAP_ATTEMPTS - 1:
                raise DatabaseError(
                    f"clients keep reconnecting to {', '.join(swap.idle)}: {exc}",
                    "Stop the application that connects to it, then run the command again.",
                ) from exc
            continue
        if phase:
            phase.state = "swapped"
        faults.point("swap.committed")
        return gone
    return gone


def drop_trash(conn: Conn, swap: Swap) -> None:
    for name in swap.trash:
        drop(conn, name)


@contextmanager
def building(conn: Conn, temp: str) -> Iterator[str]:
    """Drop the temporary ``temp`` when the block fails (or is interrupted)."""
    try:
        yield temp
    except BaseException:
        if not conn.closed and not conn.broken:
            with contextlib.suppress(Exception):  # else the next command's sweep drops it
                drop(conn, temp)
        raise


_HOLDS = {
    "building": "its previous content (nothing was swapped)",
    "committing": "either its previous or the new content (the server died during the commit)",
    "swapped": "the new content",
}


@contextmanager
def server_watch(conn: Conn, target: str, what: str) -> Iterator[Phase]:
    """Turn the server going away into one error that says what ``target`` holds (the yielded
    ``Phase`` goes to ``commit``)."""
    import psycopg

    phase = Phase()
    try:
        yield phase
    except KeyboardInterrupt:
        if phase.state == "swapped":  # Ctrl-C after the commit: the task did its job
            from devdb.output import info

            info(f"interrupted after the swap: database {target!r} holds the new content")
        raise
    except (psycopg.OperationalError, psycopg.InterfaceError, DatabaseError) as exc:
        if not _gone(conn):
            raise
        holds = _HOLDS[phase.state]
        raise ServerGone(
            f"the server went away during {what}: database {target!r} holds {holds}; "
            f"temporary copies are dropped by the next command ({_first_line(exc)})"
        ) from exc


def _gone(conn: Conn) -> bool:
    """The server went away: ``conn`` is broken, or (when the failure was on another
    connection, a template build's say) no longer answers."""
    import psycopg

    if conn.closed or conn.broken:
        return True
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
