"""Plan arithmetic on stored EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON) output.

pg15_* and pg18_* fixtures are real server output; pg16_* and pg17_* are derived from them by the
documented format differences (tests/fixtures/plans/generate.py says how).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from devdb.explain.plan import Node, Plan, parse_plan

PLANS = Path(__file__).resolve().parent.parent / "fixtures" / "plans"
VERSIONS = ("pg15", "pg16", "pg17", "pg18")


def load(name: str) -> Any:
    return json.loads((PLANS / f"{name}.json").read_text())


def plan(name: str) -> Plan:
    return parse_plan(load(name))


def by_type(p: Plan, node_type: str) -> list[Node]:
    return [n for n in p.nodes() if n.node_type == node_type]


def shared(n: Node, exclusive: bool = True) -> int:
    b = n.exclusive_buffers if exclusive else n.buffers
    return b["shared_hit"] + b["shared_read"]


@pytest.mark.parametrize("version", ["pg15", "pg18"])
def test_exclusive_times_add_up_to_the_root_total(version: str) -> None:
    for name in ("simple_index", "hash_spill", "lossy_bitmap", "subplan", "heap_fetches"):
        p = plan(f"{version}_{name}")
        assert sum(n.exclusive_time for n in p.nodes()) == pytest.approx(
            p.root.total_time, abs=0.01 * len(p.nodes())
        ), name


@pytest.mark.parametrize("version", ["pg15", "pg18"])
def test_exclusive_buffers_add_up_to_the_root_buffers(version: str) -> None:
    for name in ("hash_spill", "lossy_bitmap", "subplan", "initplan", "cte"):
        p = plan(f"{version}_{name}")
        assert sum(shared(n) for n in p.nodes()) == shared(p.root, exclusive=False), name


def test_node_time_is_per_loop_time_times_loops() -> None:
    p = plan("pg18_subplan")
    inner = next(n for n in p.nodes() if n.node_type == "Bitmap Heap Scan")
    assert inner.loops == 50
    assert inner.total_time == pytest.approx(float(inner.raw["Actual Total Time"]) * 50)
    assert inner.total_rows == pytest.approx(float(inner.raw["Actual Rows"]) * 50)


@pytest.mark.parametrize("version", VERSIONS)
def test_subplan_is_subtracted_from_the_node_that_evaluates_it(version: str) -> None:
    p = plan(f"{version}_subplan")
    sub = next(n for n in p.nodes() if n.relationship == "SubPlan")
    assert sub.subplan_name == "SubPlan 1"
    owner = sub.parent
    assert owner is not None
    assert owner.exclusive_time == pytest.approx(owner.total_time - sub.total_time, abs=1e-6)
    assert owner.exclusive_time < sub.total_time


@pytest.mark.parametrize("version", VERSIONS)
def test_initplan_is_charged_to_the_node_that_uses_its_value(version: str) -> None:
    p = plan(f"{version}_initplan")
    init = next(n for n in p.nodes() if n.relationship == "InitPlan")
    assert init.subplan_name == "InitPlan 1"  # "(returns $0)" of <= 16 dropped
    limit = p.root
    outer_scan = next(n for n in limit.children if n.relationship == "Outer")
    # The outer scan's filter uses the InitPlan's value, so its inclusive numbers contain it ...
    assert outer_scan.total_time >= init.total_time
    assert shared(outer_scan, exclusive=False) > shared(init, exclusive=False)
    # ... and its exclusive numbers do not.
    assert outer_scan.exclusive_time == pytest.approx(
        outer_scan.total_time - init.total_time, abs=1e-6
    )
    assert shared(outer_scan) == shared(outer_scan, False) - shared(init, False)
    assert limit.exclusive_time == pytest.approx(0.0, abs=0.05)


@pytest.mark.parametrize("version", VERSIONS)
def test_cte_cost_is_taken_out_of_the_cte_scan(version: str) -> None:
    p = plan(f"{version}_cte")
    cte = next(n for n in p.nodes() if n.subplan_name == "CTE recent")
    scan = by_type(p, "CTE Scan")[0]
    assert scan.label() == "CTE Scan on recent"
    assert scan.exclusive_time == pytest.approx(scan.total_time - cte.total_time, abs=1e-6)
    # The CTE's buffers are read through the scan, never counted twice.
    assert sum(shared(n) for n in p.nodes()) == shared(p.root, exclusive=False)


@pytest.mark.parametrize("version", VERSIONS)
def test_never_executed_nodes(version: str) -> None:
    p = plan(f"{version}_never_executed")
    never = [n for n in p.nodes() if not n.executed]
    assert never, "the inner side of a nested loop over zero rows never runs"
    for n in never:
        assert n.loops == 0
        assert n.total_time == 0 and n.exclusive_time == 0
        assert n.misestimate == 1.0  # no actual rows: no estimate to judge
        assert n.to_dict()["executed"] is False
    assert all(n.executed for n in p.nodes() if n.id == 1)


@pytest.mark.parametrize("version", VERSIONS)
def test_parallel_nodes_divide_time_among_processes(version: str) -> None:
    p = plan(f"{version}_parallel")
    gather = next(n for n in p.nodes() if n.node_type in {"Gather", "Gather Merge"})
    processes = int(gather.raw["Workers Launched"]) + 1
    below = [n for n in p.nodes() if n.depth > gather.depth]
    assert below
    for n in below:
        assert n.workers == processes
        expected = float(n.raw["Actual Total Time"]) * n.loops / processes
        assert n.total_time == pytest.approx(expected)
    assert gather.workers == 1
    # Per-process time below the Gather never exceeds the Gather's wall time.
    assert max(n.total_time for n in below) <= gather.total_time + 1e-6


def test_parallel_worker_count_falls_back_to_planned() -> None:
    doc = copy.deepcopy(load("pg18_parallel"))
    gather = doc[0]["Plan"]["Plans"][0]
    del gather["Workers Launched"]
    p = parse_plan(doc)
    assert p.node(3).workers == int(gather["Workers Planned"]) + 1


def test_misestimate_factor_and_direction() -> None:
    doc = copy.deepcopy(load("pg18_simple_index"))
    node = doc[0]["Plan"]
    node["Plan Rows"], node["Actual Rows"] = 10, 5000.0
    p = parse_plan(doc)
    assert p.root.misestimate == pytest.approx(500)
    assert p.root.underestimated
    node["Plan Rows"], node["Actual Rows"] = 2000, 2.0
    assert parse_plan(doc).root.misestimate == pytest.approx(1000)
    node["Plan Rows"], node["Actual Rows"] = 1, 0.0
    assert parse_plan(doc).root.misestimate == 1.0


def test_rows_removed_by_filter_counts_all_loops() -> None:
    p = plan("pg15_initplan")
    scan = p.node(4)
    assert scan.raw["Rows Removed by Filter"] == 19
    assert scan.rows_removed == 19 * scan.loops


def test_fractional_rows_of_pg18_are_kept() -> None:
    p = plan("pg18_parallel")
    scan = by_type(p, "Seq Scan")[0]
    assert scan.actual_rows != int(scan.actual_rows)
    assert scan.total_rows == pytest.approx(scan.actual_rows * scan.loops)


def test_top_level_numbers() -> None:
    p = plan("pg18_hash_spill")
    assert p.execution_time > 0 and p.planning_time > 0
    assert p.settings["work_mem"] == "64kB"
    assert p.temp_blocks > 0
    assert p.shared_buffers == shared(p.root, exclusive=False)
    assert p.slowest(3)[0].exclusive_time == max(n.exclusive_time for n in p.nodes())


def test_to_dict_keeps_raw_fields_without_children() -> None:
    d = plan("pg18_subplan").root.to_dict()
    assert d["id"] == 1 and d["parent"] is None
    assert "Plans" not in d["raw"] and d["raw"]["Node Type"] == "Limit"
    json.dumps(d)


def test_not_a_plan_is_refused() -> None:
    with pytest.raises(ValueError, match="Plan"):
        parse_plan([{"Query": 1}])


def test_gated_buffers_leave_out_nodes_without_a_relation() -> None:
    doc = copy.deepcopy(load("pg18_hash_spill"))
    plain = parse_plan(doc)
    # Catalog lookups a Sort does on first use show up as its own hits; the gate ignores them.
    doc[0]["Plan"]["Plans"][0]["Shared Hit Blocks"] += 7
    doc[0]["Plan"]["Shared Hit Blocks"] += 7
    noisy = parse_plan(doc)
    assert noisy.shared_buffers == plain.shared_buffers + 7
    assert noisy.data_buffers == plain.data_buffers
    scans = [n for n in plain.nodes() if n.relation]
    assert plain.data_buffers == sum(shared(n) for n in scans)
