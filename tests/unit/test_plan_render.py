"""Reports from stored plans: JSON document, Markdown summary, plain text, HTML page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from devdb.explain.baseline import check_run, make_baseline
from devdb.explain.plan import parse_plan
from devdb.explain.queries import NamedQuery
from devdb.explain.render_html import embed_json, render_html
from devdb.explain.render_markdown import markdown
from devdb.explain.render_text import summary_text
from devdb.explain.report import run_to_dict, write_step_summary
from devdb.explain.rules import find
from devdb.explain.run import ExplainRun, QueryResult

PLANS = Path(__file__).resolve().parent.parent / "fixtures" / "plans"


def run_of(*names: str) -> ExplainRun:
    results = []
    for name in names:
        doc = json.loads((PLANS / f"{name}.json").read_text())
        plan = parse_plan(doc)
        query = NamedQuery(name, Path(f"{name}.sql"), "SELECT 1", description=f"about {name}")
        results.append(QueryResult(query, "SELECT 1", plan, doc, find(plan), 1.0))
    failed = QueryResult(NamedQuery("broken", Path("broken.sql"), "x"), error="syntax | error")
    env = {"server_version": "18.6", "jit": "off"}
    return ExplainRun("2026-01-01T00:00:00Z", "app", env, [], {}, [*results, failed])


def doc_of(run: ExplainRun) -> dict[str, Any]:
    return json.loads(json.dumps(run_to_dict(run)))


def test_json_document_has_every_node() -> None:
    doc = doc_of(run_of("pg18_hash_spill", "pg15_never_executed"))
    spill = doc["queries"][0]
    assert spill["name"] == "pg18_hash_spill" and spill["temp_blocks"] > 0
    assert len(spill["nodes"]) == 6 and spill["nodes"][0]["raw"]["Node Type"] == "Aggregate"
    assert any(f["rule"] == "spill" for f in spill["findings"])
    never = doc["queries"][1]["nodes"]
    assert [n["executed"] for n in never].count(False) == 2
    assert doc["queries"][2] == {
        "name": "broken",
        "description": "",
        "file": "broken.sql",
        "sql": "",
        "error": "syntax | error",
        "wall_ms": 0.0,
    }


def test_markdown_summary() -> None:
    run = run_of("pg18_hash_spill", "pg18_simple_index")
    text = markdown(doc_of(run))
    assert text.startswith("## EXPLAIN ANALYZE report")
    assert "| `pg18_hash_spill` |" in text and "| `pg18_simple_index` |" in text
    assert "| `broken` | failed: syntax \\| error |" in text  # pipes escaped in cells
    assert "**spill**" in text and "#### Slowest nodes" in text
    assert "#### `pg18_simple_index`" not in text  # no findings: no section of its own
    assert "never gated" in text


def test_markdown_with_the_gate_verdict() -> None:
    run = run_of("pg18_simple_index")
    run.results = run.results[:1]
    report = check_run(run, make_baseline(run))
    assert "✅ plans match the baseline" in markdown(doc_of(run), report)
    base = make_baseline(run)
    base["queries"]["pg18_simple_index"]["shape"] = ["Seq Scan on user.organizations"]
    bad = markdown(doc_of(run), check_run(run, base))
    assert "❌ plan regressions" in bad and "```diff" in bad


def test_plain_text_summary() -> None:
    text = summary_text(doc_of(run_of("pg18_hash_spill")))
    lines = text.splitlines()
    assert lines[0].split() == [
        "query",
        "exec",
        "ms",
        "plan",
        "ms",
        "shared",
        "buf",
        "temp",
        "findings",
    ]
    assert lines[1].startswith("pg18_hash_spill")
    assert "slowest nodes" in text and "warning  pg18_hash_spill: #2 sort went to disk" in text
    assert "broken" in text and "failed" in text


def test_html_is_self_contained_and_script_safe() -> None:
    doc = doc_of(run_of("pg18_cte"))
    doc["queries"][0]["sql"] = "SELECT '</script><script>alert(1)</script>'"
    page = render_html(doc)
    assert page.count("</script>") == 2  # the data block and the code block, nothing injected
    assert "http://" not in page and "https://" not in page
    assert "\\u003c/script\\u003e" in page
    assert json.loads(embed_json({"a": "<!-- & -->"})) == {"a": "<!-- & -->"}


def test_step_summary_only_in_ci(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert write_step_summary("# x") is None
    target = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    write_step_summary("# one")
    write_step_summary("# two")
    assert target.read_text() == "# one\n\n# two\n\n"
