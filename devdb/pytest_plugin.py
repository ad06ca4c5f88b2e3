"""devdb's pytest plugin (registered through the ``pytest11`` entry point).

Fixtures for a team's own test suite:

- ``db_conn``: a psycopg connection to a migrated + seeded database (``test`` profile), inside a
  transaction that is rolled back after the test. Code under test may call ``commit()`` and
  ``rollback()``: on this connection they release / roll back to a savepoint, so nothing outlives
  the test; ``with conn.transaction():`` nests as savepoints too. One database and one connection
  per worker, reused test after test.
- ``fresh_db``: a connection to a brand-new database cloned from the same template (a file copy,
  milliseconds), dropped after the test: for tests that need real commits, DDL, or several
  connections. Worker threads clone the next ones (and open their connections) while the test
  runs, and drop used ones.
  ``fresh_database`` gives its ``ConnInfo`` (``.url(show_password=True)``).
- ``devdb_session``: the session behind them; it starts the project's server (``db.up``) when
  nothing answers, and builds the template once (under an advisory lock, so xdist workers build it
  once between them). Each xdist worker gets its own databases.
- ``--devdb-keep-failed`` keeps the database of a failed ``fresh_db`` test and prints its URL.

Nothing happens unless a test asks for one of these fixtures: this module imports only pytest and
the standard library at load time (the plugin loads in every pytest run where devdb is installed).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import psycopg

    from devdb.conninfo import ConnInfo
    from devdb.copies.testpool import Pool
    from devdb.settings import Settings

# Capture (``--devdb-capture``) lives in its own module; registering it here loads its hooks.
pytest_plugins = ["devdb.explain.pytest_capture"]
PREFIX = "devdb_test_"
SAVEPOINT = "devdb_test"
_FRESH = pytest.StashKey["str"]()
_FAILED = pytest.StashKey[bool]()
_CONN = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("devdb", "devdb test databases")
    group.addoption(
        "--devdb-keep-failed",
        action="store_true",
        help="keep the database of a failed fresh_db test and print its URL",
    )
    group.addoption(
        "--devdb-profile",
        default="test",
        help="seed profile of the test template (default: test)",
    )


@dataclass
class DevdbSession:
    """One per worker: settings, the server's owner ConnInfo, one admin connection, the template."""

    settings: Settings
    conninfo: ConnInfo
    admin: psycopg.Connection[Any]
    template: str
    worker: str
    keep_failed: bool
    _counter: Iterator[int] = field(default_factory=itertools.count)
    _shared: psycopg.Connection[Any] | None = None
    _pool: Pool | None = None

    def new_name(self, suffix: str = "") -> str:
        """``devdb_test_<owner>_<worker>_<n>``: the owner (see devdb.copies.names) holds a lease
        on the server while it runs, so leftovers of a run that died are found on any host."""
        from devdb.copies.names import owner

        return f"{PREFIX}{owner()}_{self.worker}_{suffix or next(self._counter)}"

    def clone(self, name: str) -> ConnInfo:
        from devdb.copies.dbops import clone_database

        clone_database(self.admin, self.template, name, self.conninfo.user)
        return self.conninfo.for_database(name)

    def drop(self, name: str) -> None:
        from devdb.database import drop_database

        drop_database(self.admin, name)

    def pool(self) -> Pool:
        """``fresh_db``'s databases, cloned ahead of time and dropped in the background."""
        if self._pool is None:
            from devdb.copies.testpool import Pool, workers_per_process

            workers = workers_per_process(os.environ)
            self._pool = Pool(self.conninfo, self.template, self.new_name, workers)
        return self._pool

    def keep(self, name: str, nodeid: str) -> None:
        from devdb.copies.dbops import now_iso, set_meta

        set_meta(self.admin, name, {"kind": "kept", "test": nodeid, "created": now_iso()})

    def shared_connection(self) -> psycopg.Connection[Any]:
        """The worker's ``db_conn`` connection (its database cloned on first use)."""
        if self._shared is None or self._shared.closed:
            info = self.clone(self.new_name("shared"))
            self._shared = _savepoint_class().connect(**info.kwargs(application_name="devdb"))
        return self._shared

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        if self._shared is not None:
            name = self._shared.info.dbname
            _really_close(self._shared)
            self.drop(name)
        self.admin.close()


@pytest.fixture(scope="session")
def devdb_session(request: pytest.FixtureRequest) -> Iterator[DevdbSession]:
    """Start the server when needed, build (or find) the test template; one per worker."""
    from devdb.copies.reset import connect_admin, ensure_template, prune_templates
    from devdb.errors import DevdbError

    config = request.config
    try:
        settings = _settings(config)
        conninfo = _ensure_server(settings)
        admin = connect_admin(conninfo)
    except DevdbError as exc:  # one readable message instead of a traceback
        pytest.fail(f"devdb: {exc.render()}", pytrace=False)
    try:
        _drop_leftovers(admin, conninfo)
        tpl = ensure_template(
            settings, admin, conninfo, profile=settings.profile, scale=settings.scale
        )
        if tpl.built:
            prune_templates(admin, settings, keep=tpl.name, profile=settings.profile)
    except DevdbError as exc:
        admin.close()
        pytest.fail(f"devdb: {exc.render()}", pytrace=False)
    except BaseException:
        admin.close()
        raise
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    keep = bool(config.getoption("--devdb-keep-failed"))
    session = DevdbSession(settings, conninfo, admin, tpl.name, worker, keep)
    yield session
    session.close()


@pytest.fixture
def db_conn(devdb_session: DevdbSession) -> Iterator[psycopg.Connection[Any]]:
    """A connection inside a transaction rolled back after the test (commit() = savepoint)."""
    conn = devdb_session.shared_connection()
    conn.execute(f"SAVEPOINT {SAVEPOINT}")  # opens the outer transaction too
    try:
        yield conn
    finally:
        if not conn.closed:
            import psycopg

            psycopg.Connection.rollback(conn)


@pytest.fixture
def fresh_database(
    devdb_session: DevdbSession, request: pytest.FixtureRequest
) -> Iterator[ConnInfo]:
    """A brand-new database cloned from the test template, dropped after the test."""
    ready = devdb_session.pool().take()
    info, name = ready.info, ready.info.dbname
    request.node.stash[_FRESH] = name
    if ready.conn is not None:  # opened ahead of time, for fresh_db; closed when not asked for
        if "fresh_db" in request.fixturenames:
            request.node.stash[_CONN] = ready.conn
        else:
            ready.conn.close()
    yield info
    if devdb_session.keep_failed and request.node.stash.get(_FAILED, False):
        devdb_session.keep(name, request.node.nodeid)
        return
    devdb_session.pool().drop(name)


@pytest.fixture
def fresh_db(
    fresh_database: ConnInfo, request: pytest.FixtureRequest
) -> Iterator[psycopg.Connection[Any]]:
    """A psycopg connection to a brand-new database (real commits and DDL allowed)."""
    from devdb.database import connect

    conn = request.node.stash.get(_CONN, None) or connect(fresh_database)
    try:
        yield conn
    finally:
        conn.close()  # uncommitted work is discarded; the database is dropped next


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    keep = item.config.getoption("--devdb-keep-failed")
    if keep and report.when == "call" and report.failed and _FRESH in item.stash:
        item.stash[_FAILED] = True
        session: DevdbSession = getattr(item, "funcargs", {})["devdb_session"]
        name = item.stash[_FRESH]
        url = session.conninfo.url(dbname=name)
        report.sections.append(("devdb", f"kept database {name}: {url}"))
        report.user_properties.append(("devdb_kept", f"{name} {url}"))
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    kept = [
        (rep.nodeid, value)
        for rep in terminalreporter.stats.get("failed", [])
        for key, value in getattr(rep, "user_properties", [])
        if key == "devdb_kept"
    ]
    if not kept:
        return
    terminalreporter.section("devdb: databases of failed tests kept")
    for nodeid, value in kept:
        name, url = value.split(" ", 1)
        terminalreporter.write_line(f"{nodeid}: {url}")
        terminalreporter.write_line(f"    full URL: invoke db.url --database {name}")


# -- helpers ------------------------------------------------------------------------------


def _settings(config: pytest.Config) -> Settings:
    from devdb.settings import find_root, load_settings

    env_root = os.environ.get("DEVDB_ROOT")
    root = Path(env_root) if env_root else find_root(Path(config.rootpath))
    return load_settings(root=root, profile=config.getoption("--devdb-profile"))


def _ensure_server(settings: Settings) -> ConnInfo:
    """The running server's owner ConnInfo; starts it (once, under a file lock) when none
    answers."""
    import fcntl

    from devdb import server
    from devdb.errors import ConnectionFailed

    try:
        return server.owner_conninfo(settings)
    except ConnectionFailed:
        pass
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with (settings.state_dir / "pytest-up.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return server.owner_conninfo(settings)
        except ConnectionFailed:
            return server.up(settings).conninfo


def _drop_leftovers(admin: psycopg.Connection[Any], conninfo: ConnInfo) -> None:
    """Drop test databases of runs that died: their owner's lease is free (any host), or, for
    names of an older devdb (``<worker>_<pid>_<n>``), their pid is gone on this machine.
    Databases kept by --devdb-keep-failed stay."""
    from devdb.copies.dbops import get_meta
    from devdb.copies.names import owner_alive
    from devdb.database import drop_database

    rows = admin.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (PREFIX,)
    ).fetchall()
    for (name,) in rows:
        parts = str(name).removeprefix(PREFIX).split("_")
        if len(parts) < 3 or get_meta(admin, name).get("kind") == "kept":
            continue
        if parts[0].startswith("h") and "p" in parts[0]:
            alive = owner_alive(admin, parts[0])
        elif parts[1].isdigit() and conninfo.is_loopback:
            alive = _pid_alive(int(parts[1]))
        else:
            continue
        if not alive:
            drop_database(admin, name)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_CLASS: list[type[Any]] = []


def _savepoint_class() -> type[Any]:
    """A psycopg Connection whose commit()/rollback() work on a savepoint (built lazily, so
    psycopg is imported only when a fixture is used)."""
    if _CLASS:
        return _CLASS[0]
    import psycopg

    class SavepointConnection(psycopg.Connection[Any]):
        def commit(self) -> None:
            self.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
            self.execute(f"SAVEPOINT {SAVEPOINT}")

        def rollback(self) -> None:
            self.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")

        def close(self) -> None:
            """Kept open for the next test; the session closes it."""

    _CLASS.append(SavepointConnection)
    return SavepointConnection


def _really_close(conn: psycopg.Connection[Any]) -> None:
    import psycopg

    psycopg.Connection.close(conn)
