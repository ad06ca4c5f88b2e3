"""Plan arithmetic on ``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` output, as PEV2 and depesz do it.

PostgreSQL reports a node's ``Actual Total Time`` and ``Actual Rows`` per loop, and, below a
Gather, averaged over the processes that ran it. So a node's inclusive time is
``actual total time x loops``, divided by the processes that ran it. Buffer counts are already
totals over loops and processes, and include children.

Processes per node kind (``_processes``): a Gather's or Gather Merge's ``Outer`` child (and its
subtree) runs in the workers launched plus the leader; only in the workers when
``parallel_leader_participation = off`` (the plan's ``Settings``, or loops = workers launched x
Gather loops); in one process under ``Single Copy``. The Gather itself, its InitPlans and the
SubPlans of its output list run in the leader only.

A node's exclusive time (and buffers) is its inclusive value minus what its children account for;
``arithmetic.py`` says which rule handles InitPlans, CTEs and recursive CTEs. Exclusive values
never go below zero (timer noise). Nodes with ``Actual Loops = 0`` never ran.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from devdb.explain.arithmetic import buffers_of, compute


@dataclass
class Node:
    """One plan node with PostgreSQL's raw fields and the derived numbers."""

    id: int
    raw: dict[str, Any]
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    depth: int = 0
    workers: int = 1  # processes that shared this node (1 unless below a Gather)
    total_time: float = 0.0  # inclusive, ms
    exclusive_time: float = 0.0
    buffers: dict[str, int] = field(default_factory=dict)  # inclusive
    exclusive_buffers: dict[str, int] = field(default_factory=dict)

    # -- raw fields ----------------------------------------------------------------------------

    @property
    def node_type(self) -> str:
        return str(self.raw.get("Node Type", "?"))

    @property
    def relationship(self) -> str:
        return str(self.raw.get("Parent Relationship", ""))

    @property
    def subplan_name(self) -> str:
        """``InitPlan 1``, ``SubPlan 2`` or ``CTE x``; PostgreSQL <= 16 appends ``(returns $0)``,
        which is dropped so plans compare across versions."""
        name = str(self.raw.get("Subplan Name", ""))
        return re.sub(r"\s*\(returns [^)]*\)$", "", name)

    @property
    def relation(self) -> str | None:
        rel = self.raw.get("Relation Name")
        if rel is None:
            return None
        schema = self.raw.get("Schema")
        return f"{schema}.{rel}" if schema else str(rel)

    @property
    def index(self) -> str | None:
        value = self.raw.get("Index Name")
        return str(value) if value is not None else None

    @property
    def join_type(self) -> str | None:
        value = self.raw.get("Join Type")
        return str(value) if value is not None else None

    @property
    def loops(self) -> float:
        return float(self.raw.get("Actual Loops", 1) or 0)

    @property
    def executed(self) -> bool:
        """False for a node PostgreSQL never ran (``never executed`` in text format)."""
        return "Actual Loops" not in self.raw or self.loops > 0

    @property
    def analyzed(self) -> bool:
        return "Actual Loops" in self.raw

    @property
    def plan_rows(self) -> float:
        return float(self.raw.get("Plan Rows", 0))

    @property
    def actual_rows(self) -> float:
        """Rows per loop (PostgreSQL 18 reports fractions, earlier versions whole numbers)."""
        return float(self.raw.get("Actual Rows", 0))

    @property
    def total_rows(self) -> float:
        return self.actual_rows * self.loops

    @property
    def rows_removed(self) -> float:
        """Rows a filter, join filter or index recheck threw away, over all loops."""
        per_loop = sum(
            float(self.raw.get(k, 0))
            for k in (
                "Rows Removed by Filter",
                "Rows Removed by Join Filter",
                "Rows Removed by Index Recheck",
            )
        )
        return per_loop * self.loops

    @property
    def filter_removed(self) -> float:
        """Rows the node's own filter or join filter threw away, over all loops (not the rows
        a lossy bitmap's recheck threw away: no index avoids those)."""
        per_loop = sum(
            float(self.raw.get(k, 0))
            for k in ("Rows Removed by Filter", "Rows Removed by Join Filter")
        )
        return per_loop * self.loops

    @property
    def misestimate(self) -> float:
        """How far the planner's row estimate was off, as a factor >= 1 (1 = exact)."""
        if not self.executed or not self.analyzed:
            return 1.0
        actual, planned = max(self.actual_rows, 1.0), max(self.plan_rows, 1.0)
        return max(actual / planned, planned / actual)

    @property
    def underestimated(self) -> bool:
        return self.actual_rows > self.plan_rows

    def label(self) -> str:
        """A short human name: ``Index Scan using users_pkey on user.users``."""
        text = self.node_type
        if self.raw.get("Strategy") and self.node_type == "Aggregate":
            text = f"{self.raw['Strategy'].replace('Plain', '')} Aggregate".strip()
        if self.join_type and self.join_type != "Inner":
            text += f" ({self.join_type})"
        if self.index:
            text += f" using {self.index}"
        if self.relation:
            text += f" on {self.relation}"
        elif self.raw.get("CTE Name"):
            text += f" on {self.raw['CTE Name']}"
        if self.subplan_name:
            text = f"{self.subplan_name}: {text}"
        return text

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    def to_dict(self) -> dict[str, Any]:
        """The per-node data of the JSON report (raw fields kept under ``raw``)."""
        raw = {k: v for k, v in self.raw.items() if k != "Plans"}
        return {
            "id": self.id,
            "parent": self.parent.id if self.parent else None,
            "depth": self.depth,
            "label": self.label(),
            "node_type": self.node_type,
            "relation": self.relation,
            "index": self.index,
            "join_type": self.join_type,
            "relationship": self.relationship or None,
            "subplan": self.subplan_name or None,
            "executed": self.executed,
            "loops": self.loops,
            "workers": self.workers,
            "plan_rows": self.plan_rows,
            "actual_rows": self.actual_rows,
            "total_rows": self.total_rows,
            "rows_removed": self.rows_removed,
            "misestimate": round(self.misestimate, 2),
            "total_time_ms": round(self.total_time, 3),
            "exclusive_time_ms": round(self.exclusive_time, 3),
            "buffers": self.buffers,
            "exclusive_buffers": self.exclusive_buffers,
            "raw": raw,
        }


@dataclass
class Plan:
    """A whole analyzed plan: the node tree plus the top-level numbers."""

    root: Node
    planning_time: float
    execution_time: float
    settings: dict[str, str]
    planning_buffers: dict[str, int]
    triggers: list[dict[str, Any]]

    def nodes(self) -> list[Node]:
        return list(self.root.walk())

    def node(self, node_id: int) -> Node:
        for n in self.root.walk():
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    @property
    def shared_buffers(self) -> int:
        """Shared blocks hit or read by the whole execution (the gated number)."""
        return self.root.buffers["shared_hit"] + self.root.buffers["shared_read"]

    @property
    def data_buffers(self) -> int:
        """Shared blocks hit or read by the nodes that touch relations (scans, index scans,
        ModifyTable): the number the CI gate compares. Catalog lookups during execution are
        counted on whatever node runs at the time (a Sort, a Hash); they depend on the session's
        caches, not on the query, so nodes without a relation are left out."""
        return sum(
            n.exclusive_buffers["shared_hit"] + n.exclusive_buffers["shared_read"]
            for n in self.nodes()
            if n.relation or n.index
        )

    @property
    def temp_blocks(self) -> int:
        return sum(
            n.exclusive_buffers["temp_read"] + n.exclusive_buffers["temp_written"]
            for n in self.nodes()
        )

    @property
    def trigger_time(self) -> float:
        return sum(float(t.get("Time", 0)) for t in self.triggers)

    def slowest(self, count: int = 5) -> list[Node]:
        ran = [n for n in self.nodes() if n.executed]
        return sorted(ran, key=lambda n: n.exclusive_time, reverse=True)[:count]


def parse_plan(document: Any) -> Plan:
    """Build a ``Plan`` from EXPLAIN's JSON (the list PostgreSQL returns, or its one item)."""
    top = document[0] if isinstance(document, list) else document
    if not isinstance(top, dict) or "Plan" not in top:
        raise ValueError("not EXPLAIN (FORMAT JSON) output: no 'Plan' key")
    counter = iter(range(1, 1_000_000))
    settings = top.get("Settings") or {}
    leader_off = str(settings.get("parallel_leader_participation", "on")) == "off"
    root = _build(top["Plan"], None, (0, 1), counter, leader_off)
    compute(root)
    planning = top.get("Planning", {})
    return Plan(
        root=root,
        planning_time=float(top.get("Planning Time", 0.0)),
        execution_time=float(top.get("Execution Time", 0.0)),
        settings={str(k): str(v) for k, v in (top.get("Settings") or {}).items()},
        planning_buffers=buffers_of(planning) if isinstance(planning, dict) else buffers_of({}),
        triggers=list(top.get("Triggers", [])),
    )


def _build(
    raw: dict[str, Any],
    parent: Node | None,
    at: tuple[int, int],
    counter: Iterator[int],
    leader_off: bool,
) -> Node:
    """A node and its subtree; ``at`` is (depth, processes that shared this node)."""
    depth, workers = at
    node = Node(id=next(counter), raw=raw, parent=parent, depth=depth, workers=workers)
    node.children = [
        _build(c, node, (depth + 1, _processes(raw, c, workers, leader_off)), counter, leader_off)
        for c in raw.get("Plans", [])
    ]
    return node


def _processes(raw: dict[str, Any], child: dict[str, Any], workers: int, leader_off: bool) -> int:
    """How many processes shared a child's ``Actual Loops`` (see the module docstring).

    Only a Gather's (or Gather Merge's) ``Outer`` child runs in the workers: its InitPlans and
    the SubPlans of its output list run in the leader alone, like the Gather itself.
    """
    if raw.get("Node Type") not in {"Gather", "Gather Merge"}:
        return workers
    if child.get("Parent Relationship") != "Outer":
        return workers
    if raw.get("Single Copy"):
        return 1
    launched = int(raw.get("Workers Launched", raw.get("Workers Planned", 0)) or 0)
    if launched and (leader_off or _ran_in_workers_only(raw, child, launched)):
        return launched
    return launched + 1


def _ran_in_workers_only(raw: dict[str, Any], child: dict[str, Any], launched: int) -> bool:
    """True when the leader did not run the parallel part (``parallel_leader_participation =
    off``; plans without ``SETTINGS`` show it only in the loops): the child ran once per worker
    and Gather loop, not once more in the leader."""
    gather_loops = float(raw.get("Actual Loops", 0) or 0)
    child_loops = float(child.get("Actual Loops", 0) or 0)
    return gather_loops > 0 and child_loops == launched * gather_loops
