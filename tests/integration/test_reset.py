"""db.reset against a real server: template clone, exact content, undo, rebuilds, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from devdb.conninfo import ConnInfo
from devdb.copies import dbops, names, reset, snapshots, spare
from devdb.database import connect, database_exists
from devdb.settings import Settings
from tests.integration.dbdigest import content_digest


@pytest.fixture
def project(project_on_server: Settings) -> Iterator[Settings]:
    """The demo project on a scratch database, `test` profile; its templates dropped after."""
    settings = replace(project_on_server, profile="test")
    yield settings
    conninfo = reset.project_conninfo(settings)
    with dbops.admin_connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, 'devdb_tpl_') "
            "OR starts_with(datname, 'devdb_spare_') OR starts_with(datname, 'devdb_tmp_') "
            "OR datname = %s",
            (names.undo_name(conninfo.dbname),),
        ).fetchall()
        for (name,) in rows:
            dbops.drop(conn, name)


def _mess_up(settings: Settings) -> None:
    """Edits, deletes and a schema change, as a developer's experiment would."""
    with connect(reset.project_conninfo(settings), autocommit=True) as conn:
        conn.execute("UPDATE \"user\".users SET full_name = 'changed' WHERE true")
        conn.execute("DELETE FROM billing.invoice_lines")
        conn.execute('ALTER TABLE "user".organizations ADD COLUMN note text')
        conn.execute("DROP TABLE audit.events")
        conn.execute("CREATE TABLE public.scratch (x int)")


def test_reset_restores_seeded_content_exactly(project: Settings) -> None:
    first = reset.reset(project)
    assert first.template.built
    info = reset.project_conninfo(project)
    seeded = content_digest(info)
    with connect(info) as conn:  # the seeds really are there
        row = conn.execute('SELECT count(*) FROM "user".users').fetchone()
        assert row is not None and row[0] > 0
    _mess_up(project)
    assert content_digest(info) != seeded
    second = reset.reset(project)
    assert not second.template.built  # nothing changed: no migrate, no seed
    assert second.template.name == first.template.name
    assert content_digest(info) == seeded


def test_reset_disconnects_clients_and_reports_them(project: Settings) -> None:
    reset.reset(project)
    client = connect(reset.project_conninfo(project), autocommit=True)
    result = reset.reset(project)
    assert result.disconnected == ["devdb"]
    assert result.kept_undo
    import psycopg

    with pytest.raises(psycopg.OperationalError):
        client.execute("SELECT 1")
    client.close()


def test_undo_after_a_mistaken_reset(project: Settings) -> None:
    reset.reset(project)
    info = reset.project_conninfo(project)
    with connect(info, autocommit=True) as conn:  # an afternoon of work
        conn.execute(
            "INSERT INTO \"user\".organizations (name, slug, plan) VALUES ('Work', 'work', 'team')"
        )
    work = content_digest(info)
    reset.reset(project)  # the mistake
    assert content_digest(info) != work
    snapshots.restore_undo(info)
    assert content_digest(info) == work


def test_changed_migrations_rebuild_the_template_and_prune_the_old(project: Settings) -> None:
    old = reset.reset(project).template
    (project.migrations_dir / "20990101000000_add_notes.sql").write_text(
        "-- +migrate Up\nCREATE TABLE public.notes (id int PRIMARY KEY);\n"
        "-- +migrate Down\nDROP TABLE public.notes;\n"
    )
    new = reset.reset(project)
    assert new.template.built
    assert new.template.name != old.name
    assert old.name in new.pruned
    with connect(reset.project_conninfo(project)) as conn:
        assert conn.execute("SELECT to_regclass('public.notes')").fetchone() == ("notes",)


def test_hard_rebuilds_the_same_template(project: Settings) -> None:
    first = reset.reset(project).template
    again = reset.reset(project, hard=True).template
    assert again.built
    assert again.name == first.name


def test_parallel_callers_build_the_template_once(project: Settings) -> None:
    conninfo = reset.project_conninfo(project)
    built: list[bool] = []

    def build() -> None:
        with dbops.admin_connect(conninfo) as conn:
            tpl = reset.ensure_template(project, conn, conninfo, profile="test", scale=1)
            built.append(tpl.built)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(built) == [False, True]


def test_reset_task_refuses_without_yes_and_runs_with_it(project: Settings) -> None:
    reset.reset(project)
    info = reset.project_conninfo(project)
    before = content_digest(info)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env |= {
        "DEVDB_BACKEND": "external",
        "DATABASE_URL": info.url(show_password=True),
        "DEVDB_DATABASE": info.dbname,
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "invoke", "db.reset", *args],
            cwd=project.root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    _mess_up(project)
    refused = run("--profile", "test")  # no terminal and no --yes: the answer is no
    assert refused.returncode == 1
    assert f"database {info.dbname!r} was left untouched" in refused.stderr
    assert content_digest(info) != before
    done = run("--profile", "test", "--yes")
    assert done.returncode == 0, done.stderr
    assert f"reset {info.dbname!r} to devdb_tpl_" in done.stderr
    assert content_digest(info) == before


def wait_for_spare(info: ConnInfo, source: str, timeout: float = 120) -> None:
    """The spare is made by a background process: wait until it is there."""
    deadline = time.monotonic() + timeout
    with dbops.admin_connect(info) as conn:
        while not database_exists(conn, spare.spare_name(source)):
            assert time.monotonic() < deadline, f"no spare of {source} after {timeout} s"
            time.sleep(0.1)


def test_reset_renames_the_spare_made_in_the_background(project: Settings) -> None:
    first = reset.reset(project)
    info = reset.project_conninfo(project)
    seeded = content_digest(info)
    wait_for_spare(info, first.template.name)
    _mess_up(project)
    second = reset.reset(project)
    assert second.used_spare
    assert content_digest(info) == seeded
    wait_for_spare(info, first.template.name)  # refilled for the next reset


def test_a_stale_spare_is_never_used(project: Settings) -> None:
    first = reset.reset(project)
    info = reset.project_conninfo(project)
    wait_for_spare(info, first.template.name)
    rebuilt = reset.reset(project, hard=True)  # a new template database: the spare is stale
    assert rebuilt.template.name == first.template.name
    assert not rebuilt.used_spare
    rebuilt_content = content_digest(info)
    wait_for_spare(info, rebuilt.template.name)  # a new spare, of the new template
    _mess_up(project)
    again = reset.reset(project)
    assert again.used_spare
    assert content_digest(info) == rebuilt_content
