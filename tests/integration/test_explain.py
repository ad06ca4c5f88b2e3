"""db.explain against a real server: every demo query explained, rolled back, reports written."""

from __future__ import annotations

import json

import pytest

from devdb.conninfo import ConnInfo
from devdb.database import connect
from devdb.explain import api
from devdb.explain.run import run_explain
from devdb.settings import Settings
from tests.integration.explain_fill import demo_database


@pytest.fixture
def demo(project_on_server: Settings) -> tuple[Settings, ConnInfo]:
    return project_on_server, demo_database(project_on_server)


def count(conninfo: ConnInfo, sql: str) -> int:
    with connect(conninfo, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


def test_every_demo_query_runs_and_dml_is_rolled_back(demo: tuple[Settings, ConnInfo]) -> None:
    settings, conninfo = demo
    open_before = count(conninfo, "SELECT count(*) FROM billing.invoices WHERE status = 'open'")
    assert open_before > 0

    outcome = api.explain(settings, conninfo=conninfo)

    run = outcome.run
    assert len(run.results) >= 10
    assert not run.failed, [(r.name, r.error) for r in run.failed]
    update = next(r for r in run.results if r.name == "mark_overdue_invoices")
    assert update.plan is not None and update.plan.root.node_type == "ModifyTable"
    assert update.plan.root.raw["Operation"] == "Update"
    # The UPDATE really ran (EXPLAIN ANALYZE executes it) and was rolled back.
    assert count(conninfo, "SELECT count(*) FROM billing.invoices WHERE status = 'open'") == (
        open_before
    )
    assert (
        count(conninfo, "SELECT count(*) FROM billing.invoices WHERE status = 'uncollectible'") == 0
    )

    # Reports: one HTML page and one JSON document for the run, in the reports folder.
    assert outcome.paths["html"].parent == settings.reports_dir
    doc = json.loads(outcome.paths["json"].read_text())
    assert {q["name"] for q in doc["queries"]} == {r.name for r in run.results}
    assert all(q["nodes"] and "exclusive_time_ms" in q["nodes"][0] for q in doc["queries"])
    assert "<script" in outcome.paths["html"].read_text()
    assert "## EXPLAIN ANALYZE report" in outcome.markdown


def test_plan_environment_is_pinned_and_recorded(demo: tuple[Settings, ConnInfo]) -> None:
    settings, conninfo = demo
    run = run_explain(settings, conninfo, only="users_page")
    env = run.environment
    assert env["jit"] == "off"
    assert env["max_parallel_workers_per_gather"] == "0"
    assert env["statement_timeout"] == settings.statement_timeout
    assert env["server_version"]
    plan = run.results[0].plan
    assert plan is not None
    # SETTINGS in the plan itself shows what differed from the server's defaults.
    assert plan.settings.get("jit") == "off"
    assert plan.settings.get("max_parallel_workers_per_gather") == "0"
    # The pinning is SET LOCAL: the session is back to its defaults afterwards.
    with connect(conninfo, autocommit=True) as conn:
        row = conn.execute("SHOW max_parallel_workers_per_gather").fetchone()
    assert row is not None and row[0] != "0"


def test_parallel_flag_lifts_the_worker_pin(demo: tuple[Settings, ConnInfo]) -> None:
    settings, conninfo = demo
    run = run_explain(settings, conninfo, only="users_page", parallel=True)
    assert "max_parallel_workers_per_gather" not in run.environment
    assert run.environment["jit"] == "off"


def test_missing_statistics_are_analyzed_once(demo: tuple[Settings, ConnInfo]) -> None:
    settings, conninfo = demo
    first = run_explain(settings, conninfo, only="organization_by_slug")
    assert "audit.events" in first.analyzed
    second = run_explain(settings, conninfo, only="organization_by_slug")
    assert second.analyzed == []


def test_statement_timeout_cancels_a_slow_query(
    demo: tuple[Settings, ConnInfo],
) -> None:
    settings, conninfo = demo
    folder = settings.root / "slow_queries"
    folder.mkdir()
    (folder / "sleepy.sql").write_text("-- description: sleeps\nSELECT pg_sleep(5);\n")
    slow = settings.with_overrides(queries_dir=folder, statement_timeout="200ms")
    outcome = api.explain(slow, conninfo=conninfo)
    result = outcome.run.results[0]
    assert result.error is not None and "statement_timeout" in result.error
    with pytest.raises(api.ExplainError, match="1 of 1 queries failed"):
        api.require_pass(outcome)


def test_findings_on_the_demo_queries(demo: tuple[Settings, ConnInfo]) -> None:
    settings, conninfo = demo
    run = run_explain(settings, conninfo, only="audit_events_by_action")
    result = run.results[0]
    assert result.plan is not None
    scans = [f for f in result.findings if f.rule == "seq-scan"]
    assert scans and "audit.events" in scans[0].message
    node = result.plan.node(scans[0].node_id or 0)
    assert node.node_type == "Seq Scan" and node.relation == "audit.events"


def test_unknown_query_name(demo: tuple[Settings, ConnInfo]) -> None:
    settings, conninfo = demo
    with pytest.raises(api.ExplainError, match="no query named 'nope'"):
        run_explain(settings, conninfo, only="nope")
