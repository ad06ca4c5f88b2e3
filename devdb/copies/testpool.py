"""Test databases off the test's clock, for the pytest plugin's ``fresh_db``.

Worker threads with their own admin connections keep the next test databases cloned ahead of
time (while the current test runs) and drop used ones afterwards, so a test waits only when it is
faster than a clone. One pool per pytest worker; databases it made but never handed out are
dropped when it closes, and those of a run that died are dropped by the next run.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from devdb.conninfo import ConnInfo

_STOP = ("stop", "")


class Pool:
    """``workers`` threads, each with its own admin connection, keep ``workers`` databases ready
    (two clones in flight overlap one's file copy with the other's checkpoints and drops)."""

    def __init__(
        self, conninfo: ConnInfo, template: str, names: Callable[[], str], workers: int = 2
    ) -> None:
        self.conninfo = conninfo
        self.template = template
        self.names = names
        self._lock = threading.Lock()
        self._todo: queue.Queue[tuple[str, str]] = queue.Queue()
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._run, name=f"devdb-test-dbs-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()
            self._todo.put(("make", ""))

    def take(self) -> ConnInfo:
        """A new database cloned from the template (waits while the clone is being made)."""
        item = self._ready.get()
        if isinstance(item, BaseException):
            raise item
        self._todo.put(("make", ""))
        return self.conninfo.for_database(item)

    def drop(self, name: str) -> None:
        """Drop ``name`` in the background."""
        self._todo.put(("drop", name))

    def close(self) -> None:
        for _ in self._threads:
            self._todo.put(_STOP)
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        from devdb.copies.dbops import admin_connect, clone_database
        from devdb.database import drop_database

        try:
            conn = admin_connect(self.conninfo)
        except BaseException as exc:
            self._ready.put(exc)
            return
        with conn:
            while (task := self._todo.get()) != _STOP:
                kind, name = task
                try:
                    if kind == "make":
                        with self._lock:
                            name = self.names()
                        clone_database(conn, self.template, name, self.conninfo.user)
                        self._ready.put(name)
                    else:
                        drop_database(conn, name)
                except Exception as exc:  # handed to the test that waits for a database
                    if kind == "make":
                        self._ready.put(exc)
            while True:  # databases made but never handed out
                try:
                    left = self._ready.get_nowait()
                except queue.Empty:
                    break
                if isinstance(left, str):
                    drop_database(conn, left)
