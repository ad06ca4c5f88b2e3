"""Findings: what in a plan deserves a look, each pointing at one node with a one-line reason.

A finding is made only where its advice can help: no row misestimate on BitmapAnd/BitmapOr
(PostgreSQL always reports 0 rows for them), on a grouping node's HAVING filter (estimated by a
fixed guess no statistics improve) or on a node a LIMIT stopped early; no "an index would help"
for filters outside relation scans (HAVING, CTE Scan, subquery and join nodes) or for rows a
lossy bitmap's recheck threw away (``lossy-bitmap`` says what helps there: work_mem).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from devdb.explain.plan import Node, Plan

LARGE_TABLE_ROWS = 10_000  # a sequential scan reading at least this many rows is worth a look
MISESTIMATE_LEVELS = ((1000, "critical"), (100, "warning"), (10, "info"))
MISESTIMATE_MIN_ROWS = 100  # ignore a factor when the rows involved are this few
FILTER_MIN_ROWS = 1_000
HEAP_FETCH_MIN = 1_000
SLOW_PLANNING_MS = 50.0
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
NO_ROW_COUNT = frozenset({"BitmapAnd", "BitmapOr"})  # EXPLAIN always prints 0 actual rows
GROUPING = frozenset({"Aggregate", "Group", "WindowAgg"})
RELATION_SCANS = frozenset({"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan"})


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str  # critical, warning or info
    node_id: int | None
    node: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "node_id": self.node_id,
            "node": self.node,
            "message": self.message,
        }


def is_large_seq_scan(node: Node, relation_rows: dict[str, float] | None = None) -> bool:
    """A sequential scan over a table holding (or reading) many rows."""
    if node.node_type != "Seq Scan" or not node.relation:
        return False
    read = node.total_rows + node.rows_removed
    known = (relation_rows or {}).get(node.relation, 0.0)
    return max(read, known) >= LARGE_TABLE_ROWS


def find(plan: Plan, relation_rows: dict[str, float] | None = None) -> list[Finding]:
    """Every finding for a plan, most severe first, then in plan order."""
    out: list[Finding] = []
    for node in plan.nodes():
        if not node.executed:
            continue
        for rule in _NODE_RULES:
            out.extend(rule(node, relation_rows or {}))
    out.extend(_slow_planning(plan))
    return sorted(out, key=lambda f: (SEVERITY_ORDER[f.severity], f.node_id or 0))


def _finding(rule: str, severity: str, node: Node, message: str) -> Finding:
    return Finding(rule, severity, node.id, node.label(), message)


def _seq_scan(node: Node, relation_rows: dict[str, float]) -> Iterator[Finding]:
    if not is_large_seq_scan(node, relation_rows):
        return
    read = node.total_rows + node.rows_removed
    if node.rows_removed > node.total_rows:
        yield _finding(
            "seq-scan",
            "warning",
            node,
            f"sequential scan of {node.relation} read {read:,.0f} rows to return "
            f"{node.total_rows:,.0f}; an index on the filtered columns may help",
        )
    else:
        yield _finding(
            "seq-scan",
            "info",
            node,
            f"sequential scan of {node.relation} reads {read:,.0f} rows, most of the table: "
            "fine for a report, slow on a hot path",
        )


def _under_limit(node: Node) -> bool:
    """A LIMIT above stopped the node early: fewer rows than planned is expected."""
    parent = node.parent
    while parent is not None:
        if parent.node_type == "Limit":
            return True
        parent = parent.parent
    return False


def misestimate_counts(node: Node) -> bool:
    """False where a row misestimate is not the planner's fault to fix (see the docstring)."""
    if node.node_type in NO_ROW_COUNT:
        return False
    if node.node_type in GROUPING and "Filter" in node.raw:
        return False
    return node.underestimated or not _under_limit(node)


def _misestimate(node: Node, _rows: dict[str, float]) -> Iterator[Finding]:
    factor = node.misestimate
    if factor < 10 or not node.analyzed or not misestimate_counts(node):
        return
    gap = abs(node.actual_rows - node.plan_rows) * max(node.loops, 1)
    if gap < MISESTIMATE_MIN_ROWS:
        return
    severity = next(s for level, s in MISESTIMATE_LEVELS if factor >= level)
    way = "under" if node.underestimated else "over"
    yield _finding(
        "misestimate",
        severity,
        node,
        f"planner {way}estimated rows {factor:,.0f}x ({node.plan_rows:,.0f} planned, "
        f"{node.actual_rows:,.0f} actual per loop); stale statistics or correlated columns?",
    )


def _spill(node: Node, _rows: dict[str, float]) -> Iterator[Finding]:
    raw = node.raw
    temp = node.exclusive_buffers.get("temp_written", 0) + node.exclusive_buffers.get(
        "temp_read", 0
    )
    reasons = []
    method = str(raw.get("Sort Method", ""))
    if method.startswith("external") or raw.get("Sort Space Type") == "Disk":
        used = raw.get("Sort Space Used", "?")
        reasons.append(f"sort went to disk ({method or 'Disk'}, {used} kB)")
    if int(raw.get("Hash Batches", 1) or 1) > 1:
        reasons.append(f"hash table split into {raw['Hash Batches']} batches on disk")
    if int(raw.get("HashAgg Batches", 0) or 0) > 1 or float(raw.get("Disk Usage", 0) or 0) > 0:
        reasons.append(f"hash aggregate spilled {raw.get('Disk Usage', '?')} kB to disk")
    if raw.get("Storage") == "Disk":
        reasons.append("materialized rows went to disk")
    if not reasons and temp:
        reasons.append(f"{temp:,} temp blocks read/written")
    if reasons:
        yield _finding(
            "spill",
            "warning",
            node,
            "; ".join(reasons) + " - raise work_mem for this query or reduce the rows it handles",
        )


def _lossy_bitmap(node: Node, _rows: dict[str, float]) -> Iterator[Finding]:
    lossy = int(node.raw.get("Lossy Heap Blocks", 0) or 0)
    if lossy > 0:
        yield _finding(
            "lossy-bitmap",
            "warning",
            node,
            f"bitmap went lossy on {lossy:,} heap blocks (every row rechecked); "
            "work_mem is too small for the bitmap",
        )


def _filter(node: Node, relation_rows: dict[str, float]) -> Iterator[Finding]:
    if node.node_type not in RELATION_SCANS or is_large_seq_scan(node, relation_rows):
        return  # no index helps elsewhere; the seq-scan finding already says how much
    removed, kept = node.filter_removed, node.total_rows
    if removed >= FILTER_MIN_ROWS and removed >= kept:
        share = removed / (removed + kept)
        yield _finding(
            "filter",
            "warning",
            node,
            f"filter removed {removed:,.0f} rows ({share:.0%} of those read) to keep "
            f"{kept:,.0f}; an index matching the filter would read fewer",
        )


def _heap_fetches(node: Node, _rows: dict[str, float]) -> Iterator[Finding]:
    fetches = float(node.raw.get("Heap Fetches", 0) or 0)
    if node.node_type == "Index Only Scan" and fetches >= HEAP_FETCH_MIN:
        share = fetches / max(node.total_rows, 1.0)
        if share >= 0.1:
            yield _finding(
                "heap-fetches",
                "warning",
                node,
                f"index-only scan visited the heap {fetches:,.0f} times ({share:.0%} of rows); "
                "VACUUM the table so its visibility map is current",
            )


def _slow_planning(plan: Plan) -> Iterator[Finding]:
    planning, execution = plan.planning_time, plan.execution_time
    if planning >= SLOW_PLANNING_MS or (planning >= 10 and planning > execution):
        yield Finding(
            "slow-planning",
            "info" if planning < SLOW_PLANNING_MS else "warning",
            None,
            "planning",
            f"planning took {planning:.1f} ms (execution {execution:.1f} ms); many joins, "
            "partitions or a cold catalog cache?",
        )


_NODE_RULES: tuple[Callable[[Node, dict[str, float]], Iterator[Finding]], ...] = (
    _seq_scan,
    _misestimate,
    _spill,
    _lossy_bitmap,
    _filter,
    _heap_fetches,
)
