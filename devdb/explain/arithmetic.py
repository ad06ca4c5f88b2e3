"""The arithmetic behind ``Plan``: inclusive and exclusive time and buffers per node.

A node's inclusive time is ``actual total time x loops / processes`` (the processes are set on
the nodes by ``plan.py``); exclusive numbers subtract what the node's children account for.
Which rule handles which node kind:

- Outer/Inner/Member/Subquery/SubPlan children: subtracted from their parent (they run inside
  it). A SubPlan in a Gather's output list runs in the leader only (``plan.py``).
- An InitPlan (``InitPlan n``): not subtracted from the node it hangs under, but from the node
  that evaluated it (``_evaluator``): the Gather above the parallel part that names its
  parameter (PostgreSQL evaluates such params in the leader before starting the workers;
  up to 16 ``VERBOSE`` lists them as ``Params Evaluated``, 17+ no longer prints it), else the
  deepest node naming it, else its parent.
- A CTE (an InitPlan named ``CTE x``): charged to the ``CTE Scan`` nodes reading it, in plan
  order. A recursive CTE's ``WorkTable Scan`` shares the CTE's name but runs inside the CTE's
  own plan (it reads the previous iteration's rows): it keeps its own time.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devdb.explain.plan import Node

BUFFER_KEYS = (
    "Shared Hit Blocks",
    "Shared Read Blocks",
    "Shared Dirtied Blocks",
    "Shared Written Blocks",
    "Local Hit Blocks",
    "Local Read Blocks",
    "Local Dirtied Blocks",
    "Local Written Blocks",
    "Temp Read Blocks",
    "Temp Written Blocks",
)
_SHORT = {k: k.replace(" Blocks", "").lower().replace(" ", "_") for k in BUFFER_KEYS}


def buffers_of(raw: dict[str, Any]) -> dict[str, int]:
    """PostgreSQL's buffer counters of a node (or of ``Planning``) under short names."""
    return {_SHORT[k]: int(raw.get(k, 0) or 0) for k in BUFFER_KEYS}


def compute(root: Node) -> None:
    """Fill in every node's inclusive and exclusive time and buffers."""
    nodes = list(root.walk())
    for node in nodes:
        node.total_time = float(node.raw.get("Actual Total Time", 0.0)) * node.loops / node.workers
        node.buffers = buffers_of(node.raw)
    for node in nodes:
        kids = [c for c in node.children if c.relationship != "InitPlan"]
        node.exclusive_time = node.total_time - sum(c.total_time for c in kids)
        node.exclusive_buffers = {
            k: v - sum(c.buffers[k] for c in kids) for k, v in node.buffers.items()
        }
    for init in (n for n in nodes if n.relationship == "InitPlan"):
        if init.subplan_name.startswith("CTE "):
            name = init.subplan_name[4:]
            _charge(init, [n for n in nodes if _reads_cte(n, name)])
        else:
            _charge(init, [_evaluator(init)])
    for node in nodes:
        node.exclusive_time = max(node.exclusive_time, 0.0)
        node.exclusive_buffers = {k: max(v, 0) for k, v in node.exclusive_buffers.items()}


def _reads_cte(node: Node, name: str) -> bool:
    return node.node_type == "CTE Scan" and node.raw.get("CTE Name") == name


def _param_refs(init: Node) -> list[re.Pattern[str]]:
    """How expressions name an InitPlan's output: ``$0`` up to PostgreSQL 16 (listed in
    ``returns $0,$1``), ``(InitPlan 1).col1`` from 17 on."""
    raw_name = str(init.raw.get("Subplan Name", ""))
    returns = re.search(r"\(returns ([^)]*)\)", raw_name)
    if returns:
        params = [p.strip() for p in returns.group(1).split(",") if p.strip()]
        return [re.compile(re.escape(p) + r"(?!\d)") for p in params]
    return [re.compile(re.escape(f"({init.subplan_name})"))]


def _mentions(node: Node, refs: list[re.Pattern[str]]) -> bool:
    for key, value in node.raw.items():
        if key == "Plans":
            continue
        text = value if isinstance(value, str) else str(value) if isinstance(value, list) else ""
        if text and any(r.search(text) for r in refs):
            return True
    return False


def _evaluator(init: Node) -> Node:
    """The node that evaluated an InitPlan (its time includes the InitPlan's): a Gather that
    lists the parameter in ``Params Evaluated``, or the Gather nearest above the deepest node
    naming it (the same rule where 17+ no longer prints that list); else that deepest node;
    else the node the InitPlan hangs under."""
    parent = init.parent
    assert parent is not None
    inside = {id(n) for n in init.walk()}
    refs = _param_refs(init)
    outside = [n for n in parent.walk() if id(n) not in inside]
    for node in outside:
        evaluated = node.raw.get("Params Evaluated") or []
        if any(r.fullmatch(str(p)) for p in evaluated for r in refs):
            return node
    users = [n for n in outside if _mentions(n, refs)]
    if not users:
        return parent
    user = max(users, key=lambda n: n.depth)
    return _gather_above(user, parent) or user


def _gather_above(node: Node, stop: Node) -> Node | None:
    """The nearest Gather or Gather Merge above ``node`` (up to ``stop``, included)."""
    current = node.parent
    while current is not None:
        if current.node_type in {"Gather", "Gather Merge"}:
            return current
        if current is stop:
            return None
        current = current.parent
    return None


def _charge(init: Node, consumers: list[Node]) -> None:
    """Take an InitPlan's (or CTE's) own cost out of the nodes that made it run, first one
    first, never below zero."""
    time_left = init.total_time
    buffers_left = dict(init.buffers)
    for node in consumers:
        take = min(time_left, max(node.exclusive_time, 0.0))
        node.exclusive_time -= take
        time_left -= take
        for key, left in buffers_left.items():
            got = min(left, max(node.exclusive_buffers[key], 0))
            node.exclusive_buffers[key] -= got
            buffers_left[key] = left - got
