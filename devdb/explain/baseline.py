"""The CI gate: a checked-in baseline of each query's plan shape and buffer counts, and the check.

The shape is what a plan *is*, not what it cost: node types, join types, aggregate strategies,
relations, indexes, CTE and subplan names, and where each child hangs (Outer/Inner/...). Costs,
row counts and timings are left out; timings vary between machines and are never gated on.
``check`` fails when a shape changes, a sequential scan over a large table appears, temp (spilled)
blocks appear, or the shared buffers (hit + read) of the plan's scan and modify nodes grow past the
query's budget (default +20 %, and by more than ``BUFFER_SLACK`` blocks so that a 3 -> 4 block
change on a tiny lookup is not a failure). See ``Plan.data_buffers`` for why only those nodes.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devdb.errors import ExplainError
from devdb.explain.plan import Node, Plan
from devdb.explain.rules import is_large_seq_scan
from devdb.explain.run import ExplainRun, QueryResult
from devdb.settings import Settings

BASELINE_FILE = "explain-baseline.json"
FORMAT_VERSION = 1
BUFFER_SLACK = 2


def baseline_path(settings: Settings) -> Path:
    """Where the baseline lives: next to the queries it describes, checked in with them."""
    return settings.queries_dir / BASELINE_FILE


def shape_line(node: Node) -> str:
    """One node of the normalized shape, indented by depth."""
    parts = []
    if node.relationship and node.depth:
        parts.append(f"{node.relationship}:")
    if node.subplan_name:
        parts.append(f"[{node.subplan_name}]")
    parts.append(node.node_type)
    for key in ("Operation", "Strategy", "Join Type", "Partial Mode", "Command"):
        if node.raw.get(key) and node.raw[key] != "Simple":  # Partial Mode: Simple is the norm
            parts.append(f"({node.raw[key]})")
    if node.index:
        parts.append(f"using {node.index}")
    if node.relation:
        parts.append(f"on {node.relation}")
    if node.raw.get("CTE Name"):
        parts.append(f"on CTE {node.raw['CTE Name']}")
    return "  " * node.depth + " ".join(parts)


def plan_shape(plan: Plan) -> list[str]:
    return [shape_line(n) for n in plan.nodes()]


def large_seq_scans(plan: Plan, relation_rows: dict[str, float]) -> list[str]:
    return sorted({n.relation or "" for n in plan.nodes() if is_large_seq_scan(n, relation_rows)})


def entry(result: QueryResult, relation_rows: dict[str, float]) -> dict[str, Any]:
    """What the baseline keeps for one query."""
    assert result.plan is not None
    return {
        "shape": plan_shape(result.plan),
        "buffers": result.plan.data_buffers,
        "temp_blocks": result.plan.temp_blocks,
        "large_seq_scans": large_seq_scans(result.plan, relation_rows),
    }


def make_baseline(
    run: ExplainRun, previous: dict[str, Any] | None = None, profile: str | None = None
) -> dict[str, Any]:
    """A baseline document for a run (``profile``: the seed profile the data came from); with
    ``--query`` the other queries' entries are kept."""
    if run.failed:
        first = run.failed[0]
        raise ExplainError(
            f"cannot record a baseline: {first.name} failed: {first.error}",
            "Fix the query first; a baseline records only plans that ran.",
        )
    queries = dict((previous or {}).get("queries", {}))
    queries.update({r.name: entry(r, run.relation_rows) for r in run.results})
    return {
        "format": FORMAT_VERSION,
        "seed_profile": profile,
        "server_version": run.environment.get("server_version", ""),
        "environment": {k: v for k, v in run.environment.items() if k not in {"server_version"}},
        "queries": dict(sorted(queries.items())),
    }


def write_baseline(settings: Settings, run: ExplainRun, *, merge: bool) -> Path:
    path = baseline_path(settings)
    previous = read_baseline(path) if merge and path.is_file() else None
    doc = make_baseline(run, previous, settings.profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)
    return path


def read_baseline(path: Path) -> dict[str, Any]:
    return read_document(
        path,
        what="EXPLAIN baseline",
        hint="Record it with `invoke db.explain.baseline` and commit the file.",
        required="queries",
    )


def read_document(path: Path, *, what: str, hint: str, required: str) -> dict[str, Any]:
    """A devdb JSON document (a baseline, a capture): one ``ExplainError`` with ``hint`` when it
    is missing, is not JSON, or is not a ``what`` of this format (no ``required`` key)."""
    if not path.is_file():
        raise ExplainError(f"no {what} at {path}", hint)
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExplainError(f"{path} is not valid JSON: {exc}", hint) from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_VERSION or required not in doc:
        raise ExplainError(f"{path} is not a devdb {what} (format {FORMAT_VERSION})", hint)
    return doc


@dataclass
class QueryCheck:
    name: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    shape_diff: list[str] = field(default_factory=list)
    buffers: tuple[int, int] | None = None  # (baseline, now)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.name,
            "ok": self.ok,
            "problems": self.problems,
            "notes": self.notes,
            "shape_diff": self.shape_diff,
            "buffers": list(self.buffers) if self.buffers else None,
        }


@dataclass
class CheckReport:
    checks: list[QueryCheck]
    baseline_version: str
    server_version: str
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[QueryCheck]:
        return [c for c in self.checks if not c.ok]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "baseline_server_version": self.baseline_version,
            "server_version": self.server_version,
            "notes": self.notes,
            "queries": [c.to_dict() for c in self.checks],
        }


def check_run(run: ExplainRun, baseline: dict[str, Any], profile: str | None = None) -> CheckReport:
    """Compare a run with the baseline; every query gets a ``QueryCheck``."""
    known: dict[str, Any] = baseline.get("queries", {})
    checks = [_check_one(r, known.get(r.name), run.relation_rows) for r in run.results]
    report = CheckReport(
        checks, str(baseline.get("server_version", "")), run.environment.get("server_version", "")
    )
    if _major(report.baseline_version) != _major(report.server_version):
        report.notes.append(
            f"baseline recorded on PostgreSQL {report.baseline_version}, "
            f"this is {report.server_version}: plans may differ for that reason alone"
        )
    recorded = baseline.get("seed_profile")
    if recorded and profile and recorded != profile:
        report.notes.append(
            f"baseline recorded on data of seed profile {recorded!r}, this run's settings say "
            f"{profile!r}: seed with DEVDB_PROFILE={recorded} before checking"
        )
    return report


def _major(version: str) -> str:
    return version.split(".", maxsplit=1)[0] if version else ""


def _check_one(
    result: QueryResult, base: dict[str, Any] | None, relation_rows: dict[str, float]
) -> QueryCheck:
    check = QueryCheck(result.name)
    if result.plan is None:
        check.problems.append(f"query failed: {result.error}")
        return check
    if base is None:
        check.problems.append(
            "no baseline for this query: record it with "
            f"`invoke db.explain.baseline --query {result.name}` and commit the file"
        )
        return check
    now = entry(result, relation_rows)
    if now["shape"] != base["shape"]:
        check.problems.append("plan shape changed")
        check.shape_diff = list(
            difflib.unified_diff(base["shape"], now["shape"], "baseline", "now", lineterm="", n=1)
        )
    for rel in sorted(set(now["large_seq_scans"]) - set(base.get("large_seq_scans", []))):
        check.problems.append(f"new sequential scan over the large table {rel}")
    if now["temp_blocks"] > 0 and base.get("temp_blocks", 0) == 0:
        check.problems.append(f"spills to disk now: {now['temp_blocks']:,} temp blocks")
    before, after = int(base["buffers"]), int(now["buffers"])
    check.buffers = (before, after)
    budget = result.query.buffers_budget
    if after > before * (1 + budget) and after - before > BUFFER_SLACK:
        growth = (after - before) / max(before, 1)
        check.problems.append(
            f"buffers read by its scans grew {growth:+.0%} ({before:,} -> {after:,}), "
            f"over the budget of +{budget:.0%}"
        )
    elif after < before * 0.8 and before - after > BUFFER_SLACK:
        check.notes.append(f"buffers read by its scans shrank ({before:,} -> {after:,})")
    return check
