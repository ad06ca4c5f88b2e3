"""Test databases off the test's clock, for the pytest plugin's ``fresh_db``.

Worker threads with their own admin connections keep the next test databases cloned ahead of
time (while the current test runs), each with a connection already open to it, and drop used
ones afterwards: a test waits only when it is faster than the server can clone. Several clones
in flight at once share the server's checkpoints (a ``file_copy`` clone forces two, and the
checkpointer serves every waiting clone with one), so the pool's throughput is several times one
clone's. One pool per pytest worker; databases it made but never handed out are dropped when it
closes, and those of a run that died are dropped by the next run.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo

if TYPE_CHECKING:
    import psycopg

_STOP = ("stop", "")
WORKERS = 4  # clones in flight; measured: 4 at once cost ~1/3 of one each (shared checkpoints)


@dataclass
class Ready:
    """A database made for a test, and a connection to it opened ahead of time."""

    info: ConnInfo
    conn: psycopg.Connection[Any] | None


class Pool:
    """``workers`` threads, each with its own admin connection, keep ``workers`` databases
    ready, connected to when ``connect`` (the ``fresh_db`` fixture's connection)."""

    def __init__(
        self,
        conninfo: ConnInfo,
        template: str,
        names: Callable[[], str],
        workers: int = WORKERS,
        *,
        connect: bool = True,
    ) -> None:
        self.conninfo = conninfo
        self.template = template
        self.names = names
        self.connect = connect
        self._lock = threading.Lock()
        self._todo: queue.Queue[tuple[str, str]] = queue.Queue()
        self._ready: queue.Queue[Ready | BaseException] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._run, name=f"devdb-test-dbs-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()
            self._todo.put(("make", ""))

    def take(self) -> Ready:
        """A new database cloned from the template (waits while the clone is being made)."""
        item = self._ready.get()
        self._todo.put(("make", ""))  # a failed copy is replaced too: the next test may not fail
        if isinstance(item, BaseException):
            raise item
        return item

    def drop(self, name: str) -> None:
        """Drop ``name`` in the background."""
        self._todo.put(("drop", name))

    def close(self) -> None:
        for _ in self._threads:
            self._todo.put(_STOP)
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        from devdb.copies.dbops import admin_connect

        try:
            conn = admin_connect(self.conninfo)
        except BaseException as exc:
            self._ready.put(exc)
            return
        with conn:
            while (task := self._todo.get()) != _STOP:
                self._do(conn, *task)
            self._drop_unused(conn)

    def _do(self, conn: psycopg.Connection[Any], kind: str, name: str) -> None:
        from devdb.copies.dbops import clone_database
        from devdb.database import connect, drop_database

        try:
            if kind == "drop":
                drop_database(conn, name)
                return
            with self._lock:
                name = self.names()
            clone_database(conn, self.template, name, self.conninfo.user)
            info = self.conninfo.for_database(name)
            self._ready.put(Ready(info, connect(info) if self.connect else None))
        except Exception as exc:  # handed to the test that waits for a database
            if kind == "make":
                self._ready.put(exc)

    def _drop_unused(self, conn: psycopg.Connection[Any]) -> None:
        """Databases made but never handed out."""
        from devdb.database import drop_database

        while True:
            try:
                left = self._ready.get_nowait()
            except queue.Empty:
                return
            if isinstance(left, Ready):
                if left.conn is not None:
                    left.conn.close()
                drop_database(conn, left.info.dbname)
