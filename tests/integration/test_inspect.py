"""db.inspect against a real server holding the demo schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from devdb.conninfo import ConnInfo
from devdb.database import connect
from devdb.inspect import inspect_database, render_text
from devdb.settings import Settings
from tests.integration.explain_fill import demo_database


@pytest.fixture
def demo(project_on_server: Settings) -> tuple[Settings, ConnInfo]:
    conninfo = demo_database(project_on_server)
    with connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "CREATE INDEX events_action_twin_a ON audit.events (action);"
            "CREATE INDEX events_action_twin_b ON audit.events (action);"
            "ANALYZE"
        )
        conn.execute("SELECT count(*) FROM audit.events WHERE action = 'x'")
        conn.execute("SELECT pg_stat_force_next_flush()")
    return project_on_server, conninfo


def names(section: dict[str, object], key: str) -> list[str]:
    return [str(r[key]) for r in section["rows"]]  # type: ignore[attr-defined]


def test_foreign_keys_without_an_index(demo: tuple[Settings, ConnInfo]) -> None:
    doc = inspect_database(demo[1])
    rows = doc["fk_without_index"]["rows"]
    # audit.events.organization_id has no index; every other demo FK is covered, also
    # memberships.organization_id and invoice_lines.invoice_id by the leading column of a UNIQUE.
    assert [(r["table"], r["columns"]) for r in rows] == [("audit.events", "organization_id")]


def test_duplicate_and_unused_indexes(demo: tuple[Settings, ConnInfo]) -> None:
    doc = inspect_database(demo[1])
    dupes = names(doc["duplicate_indexes"], "indexes")
    assert dupes == ["audit.events_action_twin_a, audit.events_action_twin_b"]
    unused = names(doc["unused_indexes"], "index")
    assert "audit.events_action_twin_a" in unused or "audit.events_action_twin_b" in unused
    assert not any(name.endswith("_pkey") for name in unused)  # primary keys are never "unused"


def test_sizes_scans_and_cache_hits(demo: tuple[Settings, ConnInfo]) -> None:
    doc = inspect_database(demo[1])
    tables = {r["table"]: r for r in doc["tables"]["rows"]}
    events = tables["audit.events"]
    assert events["rows"] == 12000
    assert events["total_bytes"] >= events["table_bytes"] + events["index_bytes"] > 0
    assert events["seq_scan"] >= 1
    assert set(tables) >= {'"user".users', "billing.invoices", "auth.sessions"}
    assert {r["what"] for r in doc["cache_hit"]["rows"]} == {"tables", "indexes"}
    assert all(r["ratio"] is None or 0 <= r["ratio"] <= 1 for r in doc["cache_hit"]["rows"])
    text = render_text(doc)
    assert "foreign keys without an index" in text and "audit.events" in text


def test_slow_statements_from_pg_stat_statements(demo: tuple[Settings, ConnInfo]) -> None:
    conninfo = demo[1]
    with connect(conninfo, autocommit=True) as conn:
        row = conn.execute("SHOW shared_preload_libraries").fetchone()
    preloaded = row is not None and "pg_stat_statements" in str(row[0])
    section = inspect_database(conninfo, top=3)["slow_statements"]
    if preloaded:  # devdb's native server preloads it; the extension is created on demand
        assert 0 < len(section["rows"]) <= 3
        first = section["rows"][0]
        assert {"total_ms", "mean_ms", "calls", "rows", "query"} <= set(first)
        totals = [r["total_ms"] for r in section["rows"]]
        assert totals == sorted(totals, reverse=True)
    else:
        assert section["rows"] == [] and "not available" in section["note"]


def test_task_json(demo: tuple[Settings, ConnInfo]) -> None:
    settings = demo[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    env.update(
        DEVDB_BACKEND="external",
        DATABASE_URL=settings.database_url or "",
        DEVDB_DATABASE=settings.database,
        NO_COLOR="1",
    )
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "db.inspect", "--json", "--top", "2"],
        cwd=settings.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["database"] == settings.database
    assert doc["fk_without_index"]["rows"][0]["constraint"] == "events_organization_id_fkey"
    plain = subprocess.run(
        [sys.executable, "-m", "invoke", "db.inspect"],
        cwd=settings.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert plain.returncode == 0 and "duplicate indexes" in plain.stdout


def test_nothing_is_created_in_the_users_database(demo: tuple[Settings, ConnInfo]) -> None:
    conninfo = demo[1]
    inspect_database(conninfo, top=3)
    with connect(conninfo, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_extension WHERE extname <> 'plpgsql'")
        assert row.fetchone() == (0,)


def test_row_counts_without_statistics_and_no_unused_noise(scratch_db: ConnInfo) -> None:
    # A fresh database (a clone after db.reset is one): no ANALYZE, no scans yet.
    with connect(scratch_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int)")
        conn.execute("CREATE INDEX t_v ON t (v)")
        conn.execute("INSERT INTO t SELECT g, g % 7 FROM generate_series(1, 500) g")
    doc = inspect_database(scratch_db)
    assert [r["rows"] for r in doc["tables"]["rows"]] == [500]
    assert doc["unused_indexes"]["rows"] == []  # a small index on an unqueried table is not news
