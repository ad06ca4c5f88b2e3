"""The gate on stored plans: normalized shapes, and what check() calls a regression."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from devdb.errors import ExplainError
from devdb.explain.baseline import check_run, make_baseline, plan_shape, read_baseline
from devdb.explain.plan import parse_plan
from devdb.explain.queries import NamedQuery
from devdb.explain.rules import find
from devdb.explain.run import ExplainRun, QueryResult

PLANS = Path(__file__).resolve().parent.parent / "fixtures" / "plans"


def load(name: str) -> Any:
    return json.loads((PLANS / f"{name}.json").read_text())


def result(name: str, doc: Any, budget: float = 0.20) -> QueryResult:
    query = NamedQuery(name=name, path=Path(f"{name}.sql"), sql="select 1", buffers_budget=budget)
    plan = parse_plan(doc)
    return QueryResult(query, plan=plan, document=doc, findings=find(plan))


def run_of(*results: QueryResult, version: str = "18.6") -> ExplainRun:
    return ExplainRun(
        "2026-01-01T00:00:00Z", "app", {"server_version": version}, [], {}, list(results)
    )


def test_shape_has_structure_but_no_costs_rows_or_timings() -> None:
    shape = plan_shape(parse_plan(load("pg18_initplan")))
    assert shape == [
        "Limit",
        "  InitPlan: [InitPlan 1] Aggregate (Plain)",
        "    Outer: Seq Scan on billing.invoices",
        "  Outer: Seq Scan on billing.invoices",
    ]
    joined = "\n".join(plan_shape(parse_plan(load("pg18_hash_spill"))))
    assert "Hash Join (Inner)" in joined and "Aggregate (Sorted)" in joined
    assert not any(ch.isdigit() for ch in joined.replace("InitPlan 1", ""))


@pytest.mark.parametrize("name", ["initplan", "subplan"])
def test_same_plan_same_shape_on_15_to_18(name: str) -> None:
    # 15/16 name an InitPlan "InitPlan 1 (returns $0)", 17/18 "InitPlan 1": both are "InitPlan 1".
    shapes = [plan_shape(parse_plan(load(f"{v}_{name}"))) for v in ("pg15", "pg16", "pg17", "pg18")]
    assert shapes[0] == shapes[1] == shapes[2] == shapes[3]


def test_unchanged_run_passes() -> None:
    run = run_of(result("q", load("pg18_hash_spill")))
    report = check_run(run, make_baseline(run))
    assert report.ok and report.checks[0].problems == []


def test_timing_changes_never_fail() -> None:
    base = make_baseline(run_of(result("q", load("pg18_subplan"))))
    slow = copy.deepcopy(load("pg18_subplan"))
    slow[0]["Execution Time"] *= 100
    slow[0]["Plan"]["Actual Total Time"] *= 100
    assert check_run(run_of(result("q", slow)), base).ok


def test_shape_change_fails_with_a_diff() -> None:
    base = make_baseline(run_of(result("q", load("pg18_subplan"))))
    changed = copy.deepcopy(load("pg18_subplan"))
    changed[0]["Plan"]["Plans"][0]["Index Name"] = "organizations_pkey"
    report = check_run(run_of(result("q", changed)), base)
    check = report.checks[0]
    assert check.problems == ["plan shape changed"]
    assert any(
        line.startswith("-") and "organizations_slug_key" in line for line in check.shape_diff
    )
    assert any(line.startswith("+") and "organizations_pkey" in line for line in check.shape_diff)


def test_new_seq_scan_over_a_large_table_fails() -> None:
    base = make_baseline(run_of(result("q", load("pg18_simple_index"))))
    scanned = copy.deepcopy(load("pg18_simple_index"))
    node = scanned[0]["Plan"]
    node["Node Type"] = "Seq Scan"
    del node["Index Name"]
    node["Rows Removed by Filter"] = 40_000
    problems = check_run(run_of(result("q", scanned)), base).checks[0].problems
    assert "new sequential scan over the large table user.organizations" in problems


def test_temp_blocks_appearing_fail_but_staying_do_not() -> None:
    clean = copy.deepcopy(load("pg18_hash_spill"))
    for n in _walk(clean[0]["Plan"]):
        n["Temp Read Blocks"] = n["Temp Written Blocks"] = 0
    base = make_baseline(run_of(result("q", clean)))
    problems = check_run(run_of(result("q", load("pg18_hash_spill"))), base).checks[0].problems
    assert any(p.startswith("spills to disk now") for p in problems)
    spilled_base = make_baseline(run_of(result("q", load("pg18_hash_spill"))))
    assert check_run(run_of(result("q", load("pg18_hash_spill"))), spilled_base).ok


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = [node]
    for child in node.get("Plans", []):
        out += _walk(child)
    return out


@pytest.mark.parametrize(
    ("before", "after", "budget", "fails"),
    [
        (1000, 1200, 0.20, False),  # exactly the budget
        (1000, 1201, 0.20, True),
        (1000, 1400, 0.50, False),  # a header override
        (3, 5, 0.20, False),  # +66 % but only 2 blocks: within the slack
        (3, 6, 0.20, True),
    ],
)
def test_buffer_budget(before: int, after: int, budget: float, fails: bool) -> None:
    def with_buffers(n: int) -> Any:
        doc = copy.deepcopy(load("pg18_simple_index"))
        doc[0]["Plan"]["Shared Hit Blocks"], doc[0]["Plan"]["Shared Read Blocks"] = n - 1, 1
        return doc

    base = make_baseline(run_of(result("q", with_buffers(before))))
    check = check_run(run_of(result("q", with_buffers(after), budget)), base).checks[0]
    assert (not check.ok) is fails
    assert check.buffers == (before, after)
    if fails:
        assert check.problems[0].startswith("buffers read by its scans grew")


def test_missing_query_and_failed_query_fail() -> None:
    base = make_baseline(run_of(result("q", load("pg18_simple_index"))))
    failed = QueryResult(NamedQuery("q", Path("q.sql"), "x"), error="syntax error")
    new = result("other", load("pg18_simple_index"))
    report = check_run(run_of(failed, new), base)
    assert report.checks[0].problems == ["query failed: syntax error"]
    assert "no baseline for this query" in report.checks[1].problems[0]
    assert [c.name for c in report.failed] == ["q", "other"]


def test_other_major_version_is_noted() -> None:
    base = make_baseline(run_of(result("q", load("pg15_simple_index")), version="15.18"))
    report = check_run(run_of(result("q", load("pg18_simple_index"))), base)
    assert report.ok
    assert "PostgreSQL 15.18" in report.notes[0]


def test_other_seed_profile_is_noted() -> None:
    run = run_of(result("q", load("pg18_simple_index")))
    base = make_baseline(run, profile="demo")
    assert base["seed_profile"] == "demo"
    assert check_run(run, base, "demo").notes == []
    notes = check_run(run, base, "dev").notes
    assert len(notes) == 1 and "DEVDB_PROFILE=demo" in notes[0]


def test_baseline_refuses_failed_runs_and_bad_files(tmp_path: Path) -> None:
    failed = QueryResult(NamedQuery("q", Path("q.sql"), "x"), error="boom")
    with pytest.raises(ExplainError, match="cannot record a baseline"):
        make_baseline(run_of(failed))
    with pytest.raises(ExplainError, match="no EXPLAIN baseline"):
        read_baseline(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"format": 99}')
    with pytest.raises(ExplainError, match="not a devdb EXPLAIN baseline"):
        read_baseline(tmp_path / "bad.json")
