"""Test databases off the test's clock, for the pytest plugin's ``fresh_db``.

Worker threads with their own admin connections keep the next test databases cloned ahead of
time (while the current test runs), each with a connection already open to it, and drop used
ones afterwards: a test waits only when it is faster than the server can clone. Several clones
in flight at once share the server's checkpoints (a ``file_copy`` clone forces two, and the
checkpointer serves every waiting clone with one), so the pool's throughput is several times one
clone's; four in flight per test run (``WORKERS``, shared among pytest-xdist's workers). One pool
per pytest worker; databases it made but never handed out are dropped when it
closes, and those of a run that died are dropped by the next run.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo

if TYPE_CHECKING:
    import psycopg

_STOP = ("stop", "")
# Clones in flight per test run, shared among pytest-xdist's workers. Measured (a 9 MB template,
# bench/bench_fresh_db.py): on ext4 four at once cost a third of one each (they share the server's
# checkpoints) and more gain nothing; on reflink XFS, more than four at once cost more each (a
# clone locks its source file), so `-n 2` with four per worker was 23 ms a test, two per worker 19.
WORKERS = 4


def workers_per_process(environ: Mapping[str, str]) -> int:
    """This process's share of ``WORKERS``: ``-n 2`` gives two each, ``-n 3`` and more one."""
    try:
        processes = int(environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    except ValueError:
        processes = 1
    return max(1, WORKERS // max(1, processes))


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
        conn: psycopg.Connection[Any] | None = None
        try:
            while (task := self._todo.get()) != _STOP:
                conn = self._connected(conn, task[0])
                if conn is not None:
                    self._do(conn, *task)
            conn = self._connected(conn, "drop")
            self._drop_unused(conn)
        finally:
            if conn is not None:
                conn.close()

    def _connected(
        self, conn: psycopg.Connection[Any] | None, kind: str
    ) -> psycopg.Connection[Any] | None:
        """The thread's admin connection, made again when it is closed or broken (a server
        restart); when it cannot be made, a ``make`` gets the error, so no test waits for a
        database no one makes (a ``drop`` is left to the next run's sweep)."""
        from devdb.copies.clone import prepare_short_lived
        from devdb.copies.dbops import admin_connect

        if conn is not None and not conn.closed and not conn.broken:
            return conn
        if conn is not None:
            conn.close()
        try:
            conn = admin_connect(self.conninfo)
            try:
                prepare_short_lived(conn, self.template, local=self.conninfo.is_loopback)
            except BaseException:
                conn.close()
                raise
            return conn
        except Exception as exc:  # handed to the test that waits for a database
            if kind == "make":
                self._ready.put(exc)
            return None

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

    def _drop_unused(self, conn: psycopg.Connection[Any] | None) -> None:
        """Databases made but never handed out: their connections are closed; they are dropped
        when the server answers (otherwise the next run's sweep drops them)."""
        from devdb.database import drop_database

        while True:
            try:
                left = self._ready.get_nowait()
            except queue.Empty:
                return
            if isinstance(left, Ready):
                if left.conn is not None:
                    left.conn.close()
                if conn is not None:
                    drop_database(conn, left.info.dbname)
