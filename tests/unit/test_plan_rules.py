"""Findings on stored plans: each rule fires on the plan it is about, with the node it points at."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from devdb.explain.plan import parse_plan
from devdb.explain.rules import Finding, find

PLANS = Path(__file__).resolve().parent.parent / "fixtures" / "plans"


def load(name: str) -> Any:
    return json.loads((PLANS / f"{name}.json").read_text())


def findings(doc: Any, rows: dict[str, float] | None = None) -> list[Finding]:
    return find(parse_plan(doc), rows)


def rules(found: list[Finding]) -> set[str]:
    return {f.rule for f in found}


@pytest.mark.parametrize("version", ["pg15", "pg18"])
def test_spills_point_at_the_sort_and_the_hash(version: str) -> None:
    plan = parse_plan(load(f"{version}_hash_spill"))
    spills = [f for f in find(plan) if f.rule == "spill"]
    types = {plan.node(f.node_id or 0).node_type for f in spills}
    assert {"Sort", "Hash"} <= types
    sort = next(f for f in spills if plan.node(f.node_id or 0).node_type == "Sort")
    assert "external merge" in sort.message
    hash_ = next(f for f in spills if plan.node(f.node_id or 0).node_type == "Hash")
    assert "batches" in hash_.message


@pytest.mark.parametrize("version", ["pg15", "pg18"])
def test_lossy_bitmap(version: str) -> None:
    found = [f for f in findings(load(f"{version}_lossy_bitmap")) if f.rule == "lossy-bitmap"]
    assert len(found) == 1 and found[0].node.startswith("Bitmap Heap Scan")
    assert "lossy" in found[0].message


@pytest.mark.parametrize("version", ["pg15", "pg18"])
def test_heavy_heap_fetches(version: str) -> None:
    found = [f for f in findings(load(f"{version}_heap_fetches")) if f.rule == "heap-fetches"]
    assert len(found) == 1 and found[0].node.startswith("Index Only Scan")
    assert "VACUUM" in found[0].message


def test_a_clean_index_lookup_has_no_findings() -> None:
    for version in ("pg15", "pg18"):
        assert findings(load(f"{version}_simple_index")) == []


def test_never_executed_nodes_get_no_findings() -> None:
    doc = copy.deepcopy(load("pg18_never_executed"))
    inner = doc[0]["Plan"]["Plans"][1]
    inner["Plan Rows"] = 100000  # would be a huge misestimate if it had run
    assert findings(doc) == []


def test_seq_scan_over_a_large_table_with_a_selective_filter_is_a_warning() -> None:
    doc = copy.deepcopy(load("pg18_initplan"))
    plan = parse_plan(doc)
    scan = plan.node(3)  # the InitPlan's full scan of 20,000 invoices, no filter
    found = [f for f in find(plan) if f.node_id == scan.id]
    assert [(f.rule, f.severity) for f in found] == [("seq-scan", "info")]
    node = doc[0]["Plan"]["Plans"][0]["Plans"][0]
    node["Actual Rows"], node["Rows Removed by Filter"] = 100, 19900
    found = [f for f in findings(doc) if f.node_id == 3]
    assert [(f.rule, f.severity) for f in found] == [("seq-scan", "warning")]
    assert "read 20,000 rows to return 100" in found[0].message


def test_small_seq_scans_are_fine_unless_the_table_is_known_large() -> None:
    doc = copy.deepcopy(load("pg18_initplan"))
    node = doc[0]["Plan"]["Plans"][0]["Plans"][0]
    node["Actual Rows"] = 50
    assert "seq-scan" not in rules(findings(doc))
    assert "seq-scan" in rules(findings(doc, {"billing.invoices": 50_000.0}))


@pytest.mark.parametrize(
    ("planned", "actual", "severity"),
    [(10, 150.0, "info"), (10, 2000.0, "warning"), (10, 50_000.0, "critical"), (10, 50.0, None)],
)
def test_misestimate_levels(planned: int, actual: float, severity: str | None) -> None:
    doc = copy.deepcopy(load("pg18_simple_index"))
    doc[0]["Plan"]["Plan Rows"], doc[0]["Plan"]["Actual Rows"] = planned, actual
    found = [f for f in findings(doc) if f.rule == "misestimate"]
    assert [f.severity for f in found] == ([severity] if severity else [])
    if severity:
        assert "underestimated" in found[0].message and found[0].node_id == 1


def test_fewer_rows_than_planned_under_a_limit_is_not_a_misestimate() -> None:
    doc = copy.deepcopy(load("pg18_initplan"))
    outer = doc[0]["Plan"]["Plans"][1]  # the scan the LIMIT stops early
    outer["Plan Rows"] = 10_000
    assert not [f for f in findings(doc) if f.rule == "misestimate" and f.node_id == 4]


def test_rows_removed_by_a_filter() -> None:
    doc = copy.deepcopy(load("pg18_subplan"))
    heap = doc[0]["Plan"]["Plans"][0]["Plans"][0]["Plans"][0]  # loops 50
    heap["Rows Removed by Filter"] = 100
    found = [f for f in findings(doc) if f.rule == "filter"]
    assert len(found) == 1 and "removed 5,000 rows" in found[0].message


def test_slow_planning() -> None:
    doc = copy.deepcopy(load("pg18_simple_index"))
    doc[0]["Planning Time"] = 120.0
    found = [f for f in findings(doc) if f.rule == "slow-planning"]
    assert len(found) == 1 and found[0].node_id is None and found[0].severity == "warning"
    doc[0]["Planning Time"] = 5.0
    assert "slow-planning" not in rules(findings(doc))


def test_most_severe_first() -> None:
    doc = copy.deepcopy(load("pg18_hash_spill"))
    doc[0]["Plan"]["Plan Rows"] = 1  # 20,000 actual: critical misestimate on the root
    found = findings(doc)
    order = {"critical": 0, "warning": 1, "info": 2}
    assert [order[f.severity] for f in found] == sorted(order[f.severity] for f in found)
    assert found[0].rule == "misestimate" and found[0].node_id == 1
    assert all(isinstance(f.to_dict()["message"], str) for f in found)


# -- issue 12: findings only where the advice can help -----------------------------------------

EVENTS = {"audit.events": 12_000.0}


@pytest.mark.parametrize("version", ["pg15", "pg18"])
def test_no_misestimate_on_bitmap_or_which_always_reports_zero_rows(version: str) -> None:
    plan = parse_plan(load(f"{version}_bitmap_or"))
    bitmap_or = next(n for n in plan.nodes() if n.node_type == "BitmapOr")
    assert bitmap_or.plan_rows >= 1000 and bitmap_or.actual_rows == 0  # a 1000x "miss"
    assert [f for f in find(plan, EVENTS) if f.node_id == bitmap_or.id] == []


@pytest.mark.parametrize("version", ["pg15", "pg18"])
def test_having_filter_gets_no_index_advice_and_no_misestimate(version: str) -> None:
    plan = parse_plan(load(f"{version}_having"))
    agg = plan.root
    assert agg.raw["Filter"] == "(count(*) > 2)" and agg.filter_removed == 6000
    assert [f for f in find(plan, EVENTS) if f.node_id == agg.id] == []


@pytest.mark.parametrize("version", ["pg15", "pg18"])
def test_cte_scan_filter_gets_no_index_advice(version: str) -> None:
    plan = parse_plan(load(f"{version}_cte_filter"))
    scan = next(n for n in plan.nodes() if n.node_type == "CTE Scan")
    assert scan.filter_removed == 8000
    assert "filter" not in rules([f for f in find(plan, EVENTS) if f.node_id == scan.id])


@pytest.mark.parametrize("version", ["pg15", "pg18"])
def test_lossy_recheck_removals_get_work_mem_advice_not_an_index(version: str) -> None:
    plan = parse_plan(load(f"{version}_lossy_recheck"))
    heap = next(n for n in plan.nodes() if n.node_type == "Bitmap Heap Scan")
    assert heap.raw["Rows Removed by Index Recheck"] > heap.actual_rows > 1000
    found = [f for f in find(plan, EVENTS) if f.node_id == heap.id]
    assert rules(found) == {"lossy-bitmap"}
    assert "work_mem" in found[0].message


@pytest.mark.parametrize("version", ["pg15", "pg18"])
def test_a_scan_stopped_by_limit_is_no_misestimate(version: str) -> None:
    plan = parse_plan(load(f"{version}_limit"))
    scan = plan.nodes()[1]
    assert scan.misestimate >= 100  # 4000 planned, 5 read before the LIMIT stopped it
    assert "misestimate" not in rules(find(plan, EVENTS))
