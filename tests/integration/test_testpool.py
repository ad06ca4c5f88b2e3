"""The pool behind ``fresh_db`` on a real server: copies that fail are reported to the test that
waits for them and replaced, so a run where copies fail gives errors, never a hang."""

from __future__ import annotations

import dataclasses
import itertools
import queue
import threading
from typing import Any

import pytest

from devdb.conninfo import ConnInfo
from devdb.copies.dbops import clone_database
from devdb.copies.testpool import WORKERS, Pool, workers_per_process
from devdb.database import connect, database_exists, drop_database
from devdb.errors import DevdbError


def _take(pool: Pool, out: queue.Queue[Any]) -> None:
    try:
        out.put(pool.take())
    except BaseException as exc:  # handed to the test thread
        out.put(exc)


def _take_or_hang(pool: Pool) -> Any:
    """``pool.take()`` in a thread; a minute without an answer is a hang (not a speed limit)."""
    out: queue.Queue[Any] = queue.Queue()
    threading.Thread(target=_take, args=(pool, out), daemon=True).start()
    try:
        return out.get(timeout=60)
    except queue.Empty:
        pytest.fail("Pool.take() never answered: a failed copy was not replaced")


def _every_take_fails(conninfo: ConnInfo, template: str, says: str) -> None:
    """More takes than threads and copies in flight: each one answers with the error."""
    counter = itertools.count()
    pool = Pool(conninfo, template, lambda: f"devdb_pool_fail_{next(counter)}")
    try:
        for _ in range(WORKERS * 2 + 1):
            item = _take_or_hang(pool)
            assert isinstance(item, DevdbError)
            assert says in str(item)
    finally:
        pool.close()


def test_every_failed_copy_is_reported_and_replaced(server_conninfo: ConnInfo) -> None:
    _every_take_fails(server_conninfo, "devdb_no_such_template", "devdb_no_such_template")


def test_a_pool_hands_out_connected_copies_and_drops_them(
    server_conninfo: ConnInfo, scratch_db: ConnInfo
) -> None:
    with connect(scratch_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE marker (x int)")
    counter = itertools.count()
    pool = Pool(server_conninfo, scratch_db.dbname, lambda: f"devdb_pool_ok_{next(counter)}")
    made = []
    try:
        for _ in range(WORKERS + 2):
            ready = _take_or_hang(pool)
            assert ready.conn is not None
            found = ready.conn.execute("SELECT to_regclass('marker')::text").fetchone()
            assert found == ("marker",)
            ready.conn.close()
            made.append(ready.info.dbname)
            pool.drop(ready.info.dbname)
    finally:
        pool.close()
    with connect(server_conninfo.for_database("postgres"), autocommit=True) as admin:
        assert [name for name in made if database_exists(admin, name)] == []
        left = admin.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, 'devdb_pool_ok_')"
        ).fetchall()
    assert left == []


def test_a_server_that_refuses_the_pool_gives_every_test_the_error(
    server_conninfo: ConnInfo,
) -> None:
    refused = dataclasses.replace(server_conninfo, password="not-the-password")
    _every_take_fails(refused, "devdb_tpl_any", "password")


def test_copies_keep_privileges_granted_to_roles_whose_names_need_quoting(
    server_conninfo: ConnInfo, scratch_db: ConnInfo
) -> None:
    odd = 'Odd; Role %s {x} "q"'
    quoted = '"Odd; Role %s {x} ""q"""'
    acl = (
        "SELECT array_agg(a::text ORDER BY a::text) "
        "FROM pg_database d, unnest(d.datacl) a WHERE d.datname = %s"
    )
    admin = server_conninfo.for_database("postgres")
    with connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {quoted}")
        try:
            conn.execute(f'REVOKE ALL ON DATABASE "{scratch_db.dbname}" FROM PUBLIC')
            conn.execute(f'GRANT CONNECT ON DATABASE "{scratch_db.dbname}" TO {quoted}')
            clone_database(conn, scratch_db.dbname, "devdb_pool_acl", server_conninfo.user)
            try:
                source = conn.execute(acl, (scratch_db.dbname,)).fetchone()
                copy = conn.execute(acl, ("devdb_pool_acl",)).fetchone()
                can = conn.execute(
                    "SELECT has_database_privilege(%s, 'devdb_pool_acl', 'CONNECT')", (odd,)
                ).fetchone()
            finally:
                drop_database(conn, "devdb_pool_acl")
        finally:
            conn.execute(f'REVOKE ALL ON DATABASE "{scratch_db.dbname}" FROM {quoted}')
            conn.execute(f"DROP ROLE {quoted}")
    assert can == (True,)
    assert copy == source


@pytest.mark.parametrize(
    ("count", "each"), [(None, WORKERS), ("1", WORKERS), ("2", 2), ("3", 1), ("8", 1), ("x", 4)]
)
def test_the_clones_in_flight_are_shared_among_xdist_workers(count: str | None, each: int) -> None:
    environ = {} if count is None else {"PYTEST_XDIST_WORKER_COUNT": count}
    assert workers_per_process(environ) == each
