"""db.explain.baseline / db.explain.check against a real server: what fails the gate, what not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devdb.conninfo import ConnInfo
from devdb.database import connect
from devdb.explain import api
from devdb.explain.baseline import baseline_path
from devdb.settings import Settings
from tests.conftest import run_invoke
from tests.integration.explain_fill import demo_database

GATE_QUERIES = {
    "by_action.sql": "-- description: no index on action\n"
    "SELECT count(*) FROM audit.events WHERE action = 'invoice.paid';\n",
    "by_actor.sql": "-- description: index on actor_id\n"
    "-- param: actor = (SELECT actor_id FROM audit.events ORDER BY id LIMIT 1)\n"
    "SELECT id, action FROM audit.events WHERE actor_id = :'actor' ORDER BY id;\n",
    "big_sort.sql": "-- description: sorts every event\n"
    "SELECT id FROM audit.events ORDER BY action, occurred_at, id;\n",
    "small_table.sql": "-- description: reads a table we bloat\n"
    "SELECT count(*) FROM gate_t WHERE n > 0;\n",
}


@pytest.fixture
def gate(project_on_server: Settings) -> tuple[Settings, ConnInfo]:
    conninfo = demo_database(project_on_server)
    with connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE gate_t (n int) WITH (autovacuum_enabled = off);"
            "INSERT INTO gate_t SELECT g FROM generate_series(1, 2000) g; ANALYZE gate_t"
        )
    folder = project_on_server.root / "gate_queries"
    folder.mkdir()
    for name, text in GATE_QUERIES.items():
        (folder / name).write_text(text)
    return project_on_server.with_overrides(queries_dir=folder), conninfo


def execute(conninfo: ConnInfo, sql: str) -> None:
    with connect(conninfo, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def problems(settings: Settings, conninfo: ConnInfo) -> dict[str, list[str]]:
    outcome = api.check(settings, conninfo=conninfo)
    assert outcome.check is not None
    return {c.name: c.problems for c in outcome.check.checks}


def test_unchanged_plans_pass(gate: tuple[Settings, ConnInfo]) -> None:
    settings, conninfo = gate
    _, path = api.record_baseline(settings, conninfo=conninfo)
    assert path == baseline_path(settings) and path.is_file()
    doc = json.loads(path.read_text())
    entry = doc["queries"]["by_actor"]
    assert entry["shape"][0].startswith("Sort") or "Index Scan" in "".join(entry["shape"])
    assert "Cost" not in json.dumps(doc) and "Time" not in json.dumps(doc["queries"])
    assert doc["queries"]["by_action"]["large_seq_scans"] == ["audit.events"]

    outcome = api.check(settings, conninfo=conninfo)
    assert outcome.check is not None and outcome.check.ok, outcome.check.to_dict()
    api.require_pass(outcome)


def test_shape_change_and_new_large_seq_scan_fail(gate: tuple[Settings, ConnInfo]) -> None:
    settings, conninfo = gate
    api.record_baseline(settings, conninfo=conninfo)
    execute(conninfo, "DROP INDEX audit.events_actor_id_idx")

    found = problems(settings, conninfo)

    assert "plan shape changed" in found["by_actor"]
    assert "new sequential scan over the large table audit.events" in found["by_actor"]
    assert found["by_action"] == []  # its seq scan is in the baseline: not new
    with pytest.raises(api.ExplainError, match="plan regressions in 1 of 4 queries: by_actor"):
        api.require_pass(api.check(settings, conninfo=conninfo))


def test_temp_blocks_appearing_fail(gate: tuple[Settings, ConnInfo]) -> None:
    settings, conninfo = gate
    api.record_baseline(settings, conninfo=conninfo)
    execute(conninfo, f"ALTER DATABASE {conninfo.dbname} SET work_mem = '64kB'")

    found = problems(settings, conninfo)

    assert any(p.startswith("spills to disk now") for p in found["big_sort"]), found


def test_buffer_growth_over_budget_fails_and_header_budget_overrides(
    gate: tuple[Settings, ConnInfo],
) -> None:
    settings, conninfo = gate
    api.record_baseline(settings, conninfo=conninfo)
    execute(conninfo, "UPDATE gate_t SET n = n; UPDATE gate_t SET n = n")  # dead rows: 3x pages

    found = problems(settings, conninfo)
    assert any("buffers read by its scans grew" in p and "+20%" in p for p in found["small_table"])
    assert found["small_table"] != [] and "plan shape changed" not in found["small_table"]

    query = settings.queries_dir / "small_table.sql"
    query.write_text("-- buffers-budget: +500%\n" + query.read_text())
    assert problems(settings, conninfo)["small_table"] == []


def test_query_without_baseline_fails_and_baseline_per_query_merges(
    gate: tuple[Settings, ConnInfo],
) -> None:
    settings, conninfo = gate
    api.record_baseline(settings, conninfo=conninfo, query="by_action")
    found = problems(settings, conninfo)
    assert found["by_action"] == []
    assert "no baseline for this query" in found["by_actor"][0]
    api.record_baseline(settings, conninfo=conninfo, query="by_actor")
    doc = json.loads(baseline_path(settings).read_text())
    assert set(doc["queries"]) == {"by_action", "by_actor"}


def test_check_without_baseline_file_is_an_error(gate: tuple[Settings, ConnInfo]) -> None:
    settings, conninfo = gate
    with pytest.raises(api.ExplainError, match="no EXPLAIN baseline"):
        api.check(settings, conninfo=conninfo)


def test_tasks_exit_codes_and_outputs(gate: tuple[Settings, ConnInfo], tmp_path: Path) -> None:
    settings, conninfo = gate
    missing = run_invoke(settings, "db.explain.check")
    assert missing.returncode == 1
    assert missing.stderr.startswith("Error: no EXPLAIN baseline")
    assert "Hint: Record it with `invoke db.explain.baseline`" in missing.stderr

    assert run_invoke(settings, "db.explain.baseline").returncode == 0
    ok = run_invoke(settings, "db.explain.check", "--json")
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert doc["check"]["ok"] is True and len(doc["queries"]) == 4

    execute(conninfo, "DROP INDEX audit.events_actor_id_idx")
    summary = tmp_path / "summary.md"
    bad = run_invoke(settings, "db.explain.check", extra={"GITHUB_STEP_SUMMARY": str(summary)})
    assert bad.returncode == 1
    assert "FAIL by_actor: plan shape changed" in bad.stdout
    assert "Error: plan regressions in 1 of 4 queries: by_actor" in bad.stderr
    # In CI the Markdown report, with the verdict, lands in the job summary.
    text = summary.read_text()
    assert "### Gate: ❌ plan regressions" in text and "`by_actor`: plan shape changed" in text

    md = run_invoke(settings, "db.explain", "--markdown", "--query", "by_actor")
    assert md.returncode == 0
    assert md.stdout.startswith("## EXPLAIN ANALYZE report")
    assert "| `by_actor` |" in md.stdout
