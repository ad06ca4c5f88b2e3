"""Captured statements as a report: the same findings, report and CI gate as named queries.

A capture is saved as one JSON document (``capture-<time>.json`` and ``capture-latest.json`` in
the reports folder): per statement its normalised text, pg_stat_statements' totals, the plan of
its slowest logged execution, and the digest of every distinct plan shape it ran with. The
report lists statements slowest first by total time. The gate compares a capture with the
checked-in ``capture-baseline.json`` (next to the named queries): it fails when a statement ran
with a plan shape the baseline does not know, scans a large table sequentially where it did not
before, or spills to disk; new and vanished statements are notes, not failures (the application
changes), unless a new statement scans a large table sequentially.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devdb.explain.baseline import QueryCheck, large_seq_scans, plan_shape, read_document
from devdb.explain.plan import Plan, parse_plan
from devdb.explain.queries import NamedQuery
from devdb.explain.rules import find
from devdb.explain.run import ExplainRun, QueryResult

if TYPE_CHECKING:
    from devdb.explain.capture import Capture, Statement
    from devdb.settings import Settings

FORMAT_VERSION = 1
LATEST = "capture-latest.json"
BASELINE = "capture-baseline.json"


def digest(shape: list[str]) -> str:
    return hashlib.sha256("\n".join(shape).encode()).hexdigest()[:16]


def _plan_of(document: dict[str, Any], duration_ms: float) -> Plan:
    """auto_explain's document has no ``Execution Time``: the logged duration is that."""
    return parse_plan({**document, "Execution Time": duration_ms})


def statement_doc(stmt: Statement) -> dict[str, Any]:
    """What a capture keeps of one statement."""
    slowest = stmt.slowest
    assert slowest is not None
    shapes: dict[str, list[str]] = {}
    for logged in stmt.plans:
        shape = plan_shape(_plan_of(logged.document, logged.duration_ms))
        shapes.setdefault(digest(shape), shape)
    return {
        "key": stmt.key,
        "text": stmt.text,
        "calls": stmt.calls,
        "total_ms": round(stmt.total_ms, 3),
        "rows": stmt.rows,
        "executions_logged": len(stmt.plans),
        "shapes": shapes,
        "slowest_ms": slowest.duration_ms,
        # The logged text carries the execution's constants; keep the normalised ($1) text.
        "plan": {**slowest.document, "Query Text": stmt.text},
    }


def capture_doc(capture: Capture) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "started_at": capture.started_at,
        "scope": capture.scope.kind if capture.scope.kind == "tests" else capture.scope.database,
        "server_version": capture.server_version,
        "statements_without_plan": capture.unplanned,
        "relation_rows": capture.relation_rows,
        "statements": [statement_doc(s) for s in capture.statements],
    }


def save(settings: Settings, doc: dict[str, Any]) -> Path:
    """Write the capture next to the reports (timestamped, and as ``capture-latest.json``)."""
    folder = settings.reports_dir
    folder.mkdir(parents=True, exist_ok=True)
    stamp = doc["started_at"].replace(":", "").replace("-", "").replace("T", "-").rstrip("Z")
    text = json.dumps(doc, indent=1) + "\n"
    (folder / f"capture-{stamp}.json").write_text(text)
    latest = folder / LATEST
    latest.write_text(text)
    return latest


def load(path: Path) -> dict[str, Any]:
    return read_document(
        path,
        what="capture",
        hint="Run the test suite with `pytest --devdb-capture`, or `invoke db.explain.capture`.",
        required="statements",
    )


def to_run(doc: dict[str, Any]) -> ExplainRun:
    """The capture as an ``ExplainRun``: statements slowest first by total time."""
    run = ExplainRun(
        started_at=doc["started_at"],
        database=f"captured: {doc['scope']}",
        environment={"server_version": doc["server_version"]},
        analyzed=[],
        relation_rows=doc.get("relation_rows", {}),
    )
    for s in sorted(doc["statements"], key=lambda s: s["total_ms"], reverse=True):
        plan = _plan_of(s["plan"], s["slowest_ms"])
        run.results.append(
            QueryResult(
                NamedQuery(f"stmt-{s['key']}", Path(f"stmt-{s['key']}"), s["text"], _about(s)),
                sql=s["text"],
                plan=plan,
                document=s["plan"],
                findings=find(plan, run.relation_rows),
                stats={k: s[k] for k in ("calls", "total_ms", "rows", "executions_logged")},
            )
        )
    return run


def _about(s: dict[str, Any]) -> str:
    mean = s["total_ms"] / max(s["calls"], 1)
    shapes = len(s["shapes"])
    kinds = f"; {shapes} different plans" if shapes > 1 else ""
    return (
        f"{s['calls']:,} calls, {s['total_ms']:,.2f} ms in all, {mean:,.3f} ms each "
        f"(pg_stat_statements); plan of the slowest of {s['executions_logged']:,} logged "
        f"executions{kinds}"
    )


# -- baseline and gate -------------------------------------------------------------------------


def baseline_path(settings: Settings) -> Path:
    return settings.queries_dir / BASELINE


def make_baseline(doc: dict[str, Any]) -> dict[str, Any]:
    rows = doc.get("relation_rows", {})
    entries = {}
    for s in doc["statements"]:
        plan = _plan_of(s["plan"], s["slowest_ms"])
        entries[s["key"]] = {
            "text": s["text"],
            "shapes": dict(sorted(s["shapes"].items())),
            "large_seq_scans": large_seq_scans(plan, rows),
            "temp_blocks": plan.temp_blocks,
        }
    return {
        "format": FORMAT_VERSION,
        "server_version": doc["server_version"],
        "statements": dict(sorted(entries.items())),
    }


def write_baseline(settings: Settings, doc: dict[str, Any]) -> Path:
    path = baseline_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(make_baseline(doc), indent=1) + "\n")
    return path


def read_baseline(settings: Settings) -> dict[str, Any]:
    return read_document(
        baseline_path(settings),
        what="capture baseline",
        hint="Record one with `invoke db.explain.baseline --captured` and commit the file.",
        required="statements",
    )


def check_statement(
    s: dict[str, Any], base: dict[str, Any] | None, rows: dict[str, float] | None = None
) -> QueryCheck:
    """The gate for one captured statement against its baseline entry (None: new); ``rows``:
    table sizes, where the capture knows them (a large table is one of 10,000 rows or more)."""
    check = QueryCheck(f"stmt-{s['key']}")
    plan = _plan_of(s["plan"], s["slowest_ms"])
    scans = large_seq_scans(plan, rows or {})
    if base is None:
        check.notes.append("new statement (not in the capture baseline)")
        check.problems += [f"new statement scans the large table {r} sequentially" for r in scans]
        return check
    new_shapes = [d for d in s["shapes"] if d not in base["shapes"]]
    if new_shapes:
        check.problems.append("plan shape changed")
        old: list[str] = next(iter(base["shapes"].values()), [])
        check.shape_diff = _diff(old, s["shapes"][new_shapes[0]])
    for rel in sorted(set(scans) - set(base.get("large_seq_scans", []))):
        check.problems.append(f"new sequential scan over the large table {rel}")
    if plan.temp_blocks > 0 and base.get("temp_blocks", 0) == 0:
        check.problems.append(f"spills to disk now: {plan.temp_blocks:,} temp blocks")
    return check


def _diff(old: list[str], new: list[str]) -> list[str]:
    import difflib

    return list(difflib.unified_diff(old, new, "baseline", "now", lineterm="", n=1))


def check_capture(doc: dict[str, Any], baseline: dict[str, Any]) -> list[QueryCheck]:
    """Every captured statement checked; vanished baseline statements become notes."""
    known: dict[str, Any] = baseline.get("statements", {})
    rows = doc.get("relation_rows", {})
    checks = [check_statement(s, known.get(s["key"]), rows) for s in doc["statements"]]
    seen = {s["key"] for s in doc["statements"]}
    for key in sorted(set(known) - seen):
        gone = QueryCheck(f"stmt-{key}")
        gone.notes.append("in the baseline but not run in this capture")
        checks.append(gone)
    return checks
