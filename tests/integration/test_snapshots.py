"""Snapshots, undo, dump/load against a real server (no migrations or seeds needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devdb.conninfo import ConnInfo
from devdb.copies import dbops, names, pgdump, snapshots
from devdb.database import connect
from devdb.errors import SnapshotError
from devdb.settings import Settings
from tests.integration.dbdigest import content_digest


@pytest.fixture
def db(scratch_db: ConnInfo) -> Iterator[ConnInfo]:
    """The scratch database with a small table; snapshots made on it are removed after."""
    with connect(scratch_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 50) g")
    yield scratch_db
    with dbops.admin_connect(scratch_db) as conn:
        for name in ("rt", "other", "cli"):
            dbops.drop(conn, snapshots.snapshot_database(scratch_db.dbname, name))
        dbops.drop(conn, names.undo_name(scratch_db.dbname))


def _change(info: ConnInfo) -> None:
    with connect(info, autocommit=True) as conn:
        conn.execute("DELETE FROM items WHERE id > 10")
        conn.execute("UPDATE items SET name = 'edited' WHERE id = 1")
        conn.execute("ALTER TABLE items ADD COLUMN extra int")
        conn.execute("CREATE TABLE junk (x int)")


def test_snapshot_round_trip(db: ConnInfo) -> None:
    before = content_digest(db)
    snap, _ = snapshots.save(db, "rt")
    assert snap.database == names.snapshot_prefix(db.dbname) + "rt"
    assert snap.source == db.dbname
    assert snap.size_bytes > 0
    _change(db)
    assert content_digest(db) != before
    snapshots.restore(db, "rt")
    assert content_digest(db) == before
    listed = {s.name: s for s in snapshots.list_snapshots(db)}
    assert listed["rt"].created and listed["rt"].size_bytes == snap.size_bytes
    assert "(undo)" in listed
    snapshots.delete(db, "rt")
    assert "rt" not in {s.name for s in snapshots.list_snapshots(db)}


def test_restore_keeps_an_undo_and_undo_twice_is_a_no_op(db: ConnInfo) -> None:
    original = content_digest(db)
    snapshots.save(db, "rt")
    _change(db)
    changed = content_digest(db)
    snapshots.restore(db, "rt")  # the mistake: the changes were wanted
    assert content_digest(db) == original
    snapshots.restore_undo(db)
    assert content_digest(db) == changed
    snapshots.restore_undo(db)
    assert content_digest(db) == original


def test_save_undo_copies_and_leaves_the_database_usable(db: ConnInfo) -> None:
    before = content_digest(db)
    snapshots.save_undo(Settings(root=Path(), project="p"), db)
    _change(db)  # e.g. a migrate down
    snapshots.restore_undo(db)
    assert content_digest(db) == before


def test_restore_disconnects_clients_and_says_so(db: ConnInfo) -> None:
    snapshots.save(db, "rt")
    client = connect(db, autocommit=True)
    gone = snapshots.restore(db, "rt")
    assert gone == ["devdb"]
    import psycopg

    with pytest.raises(psycopg.OperationalError):
        client.execute("SELECT 1")
    client.close()
    with connect(db) as conn:  # the restored database accepts connections again
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (50,)


def test_snapshot_errors_say_what_to_do(db: ConnInfo) -> None:
    with pytest.raises(SnapshotError, match="no snapshot 'nope'"):
        snapshots.restore(db, "nope")
    with pytest.raises(SnapshotError, match="bad snapshot name"):
        snapshots.save(db, "Bad Name")
    snapshots.save(db, "rt")
    with pytest.raises(SnapshotError, match="already exists") as err:
        snapshots.save(db, "rt")
    assert "--replace" in err.value.hint
    snapshots.save(db, "rt", replace=True)


def test_undo_and_snapshots_are_per_project_database(
    db: ConnInfo, server_conninfo: ConnInfo
) -> None:
    """Two projects on one server: neither sees, nor replaces, the other's undo or snapshots."""
    other = server_conninfo.for_database("some_other_db")
    snapshots.save_undo(Settings(root=Path(), project="p"), db)
    snapshots.save(db, "rt")
    with pytest.raises(SnapshotError, match="no undo snapshot of database 'some_other_db'"):
        snapshots.restore_undo(other)
    with pytest.raises(SnapshotError, match="no snapshot 'rt'"):
        snapshots.restore(other, "rt")
    assert [s.name for s in snapshots.list_snapshots(other) if "leftover" not in s.name] == []


def test_dump_and_load_round_trip(
    db: ConnInfo, native_server: tuple[Settings, ConnInfo], tmp_path: Path
) -> None:
    settings = native_server[0]
    before = content_digest(db)
    path = tmp_path / "state.dump"
    assert pgdump.dump(settings, db, path) > 0
    _change(db)
    pgdump.load(settings, db, path)
    assert content_digest(db) == before
    snapshots.restore_undo(db)  # the load can be undone too
    assert content_digest(db) != before


def test_load_refuses_a_file_that_is_not_a_dump(
    db: ConnInfo, native_server: tuple[Settings, ConnInfo], tmp_path: Path
) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    before = content_digest(db)
    with pytest.raises(SnapshotError, match="not a pg_dump custom-format archive"):
        pgdump.load(native_server[0], db, bad)
    assert content_digest(db) == before


def test_a_truncated_dump_is_refused_and_the_database_untouched(
    db: ConnInfo, native_server: tuple[Settings, ConnInfo], tmp_path: Path
) -> None:
    """The table of contents is intact, the data is cut: pg_restore fails on the temporary
    database, and the project database is never replaced (it used to be: 0 rows, exit 0)."""
    with connect(db, autocommit=True) as conn:  # enough data that cutting the file cuts it
        conn.execute(
            "INSERT INTO items SELECT g, repeat(md5(g::text), 8) FROM "
            "generate_series(1000, 20000) g"
        )
    path = tmp_path / "state.dump"
    pgdump.dump(native_server[0], db, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _change(db)
    before = content_digest(db)
    with pytest.raises(SnapshotError, match="pg_restore could not load") as caught:
        pgdump.load(native_server[0], db, path)
    assert "was not touched" in caught.value.message
    assert content_digest(db) == before
    with dbops.admin_connect(db) as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (names.TMP_PREFIX,)
        ).fetchall()
    assert left == []


def test_a_dump_that_cannot_be_restored_names_the_cause(
    db: ConnInfo, native_server: tuple[Settings, ConnInfo], tmp_path: Path
) -> None:
    """pg_restore's error line, not the ``Command was:`` line after it; nothing replaced."""
    with connect(db, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS gone_reader")
        conn.execute("CREATE ROLE gone_reader")
        conn.execute("GRANT SELECT ON items TO gone_reader")
    path = tmp_path / "grant.dump"
    pgdump.dump(native_server[0], db, path)
    with connect(db, autocommit=True) as conn:
        conn.execute("REVOKE SELECT ON items FROM gone_reader")
        conn.execute("DROP ROLE gone_reader")
    before = content_digest(db)
    with pytest.raises(SnapshotError) as caught:
        pgdump.load(native_server[0], db, path)
    assert 'role "gone_reader" does not exist' in caught.value.message
    assert "Command was" not in caught.value.message
    assert content_digest(db) == before


def test_snapshot_tasks_from_the_command_line(db: ConnInfo, tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text("from devdb.tasks import ns\nnamespace = ns\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env |= {"DEVDB_BACKEND": "external", "DATABASE_URL": db.url(show_password=True)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "invoke", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    before = content_digest(db)
    assert run("db.snapshot.save", "cli").returncode == 0
    _change(db)
    refused = run("db.snapshot.restore", "cli")  # no terminal, no --yes: a refusal
    assert refused.returncode == 1
    assert f"database {db.dbname!r} was left untouched" in refused.stderr
    restored = run("db.snapshot.restore", "cli", "--yes")
    assert restored.returncode == 0
    assert "undo: invoke db.snapshot.restore --undo" in restored.stderr  # a command that runs
    assert content_digest(db) == before
    assert run("db.snapshot.restore", "--undo", "--yes").returncode == 0
    assert content_digest(db) != before
    listing = run("db.snapshot.list", "--json")
    assert '"name": "cli"' in listing.stdout
    assert run("db.snapshot.delete", "cli", "--yes").returncode == 0


def test_destroy_undo_dump_comes_back_with_restore_undo(project_on_server: Settings) -> None:
    """db.destroy keeps a dump in the state folder; after db.up, restore --undo loads it."""
    from devdb import server
    from devdb.copies import reset

    settings = project_on_server
    info = reset.project_conninfo(settings)
    with connect(info, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id int PRIMARY KEY)")
        conn.execute("INSERT INTO kept SELECT generate_series(1, 20)")
    before = content_digest(info)
    path = pgdump.save_undo_file(settings, info)
    assert path == settings.state_dir / pgdump.UNDO_FILE
    with dbops.admin_connect(info) as conn:  # what destroy + up leave: an empty database
        dbops.drop(conn, names.undo_name(info.dbname))
        dbops.drop(conn, info.dbname)
    server.ensure_database(info)
    assert pgdump.newer_undo_file(settings, info) == path
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env |= {"DEVDB_BACKEND": "external", "DATABASE_URL": info.url(show_password=True)}
    proc = subprocess.run(
        [sys.executable, "-m", "invoke", "db.snapshot.restore", "--undo", "--yes"],
        cwd=settings.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "kept by db.destroy" in proc.stderr
    assert content_digest(info) == before
    assert not path.exists()
    with dbops.admin_connect(info) as conn:
        dbops.drop(conn, names.undo_name(info.dbname))


def test_restore_after_saving_again_under_the_same_name_gets_the_new_content(
    db: ConnInfo,
) -> None:
    from devdb.copies import spare
    from tests.integration.test_reset import wait_for_spare

    snapshots.save(db, "rt")
    snap = snapshots.snapshot_database(db.dbname, "rt")
    snapshots.restore(db, "rt")  # starts making a spare of the snapshot in the background
    wait_for_spare(db, snap)
    _change(db)
    changed = content_digest(db)
    snapshots.save(db, "rt", replace=True)
    snapshots.restore(db, "rt")
    assert content_digest(db) == changed
    with dbops.admin_connect(db) as conn:
        dbops.drop(conn, spare.spare_name(snap))


def test_the_sweep_drops_temporaries_of_dead_owners_only(db: ConnInfo) -> None:
    """A temporary whose owner's lease nobody holds is dropped by the next command; one whose
    owner is alive (here: another session holding its lease) stays. Databases an older devdb
    left are not guessed at: db.snapshot.list shows them."""
    from devdb.database import create_database

    dead = f"{names.TMP_PREFIX}aaaaaa_h0000p1s1_new_0001"
    alive = f"{names.TMP_PREFIX}aaaaaa_h0000p2s1_new_0002"
    legacy = "devdb_snap_nightly"  # an older devdb's server-wide snapshot name
    admin = db.for_database("postgres")
    with connect(admin, autocommit=True) as owner, connect(admin, autocommit=True) as conn:
        owner.execute(
            "SELECT pg_advisory_lock_shared(hashtextextended(%s, 0))", ("devdb-owner-h0000p2s1",)
        )
        for name in (dead, alive, legacy):
            create_database(conn, name)
        try:
            swept = names.sweep(conn)
            assert dead in swept
            assert alive not in swept
            shown = [s.name for s in snapshots.list_snapshots(db)]
            assert f"(leftover) {legacy}" in shown
        finally:
            for name in (dead, alive, legacy):
                dbops.drop(conn, name)
