"""Markdown for a CI job summary: the gate, a table of queries, the slowest nodes, findings."""

from __future__ import annotations

from typing import Any

from devdb.explain.baseline import CheckReport
from devdb.explain.report import slowest_nodes

ICONS = {"critical": "🔴", "warning": "🟠", "info": "🔵"}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(doc: dict[str, Any], check: CheckReport | None = None, *, top: int = 5) -> str:
    """The report for a run (``report.run_to_dict``), with the gate's verdict when given."""
    env = doc["environment"]
    lines = [
        "## EXPLAIN ANALYZE report",
        "",
        f"Database `{doc['database']}` on PostgreSQL {env.get('server_version', '?')}, "
        f"{doc['started_at']}. Plan environment: "
        + ", ".join(f"`{k}={v}`" for k, v in sorted(env.items()) if k != "server_version")
        + ".",
        "",
    ]
    if check is not None:
        lines += _check_section(check)
    captured = any(q.get("stats") for q in doc["queries"])
    lines += _captured_table(doc) if captured else _table(doc)
    lines.append("")
    lines.append("Timings are reported, never gated on: they vary between machines.")
    lines += _slowest(doc, top)
    for q in doc["queries"]:
        lines += _query_findings(q)
    return "\n".join(lines).rstrip() + "\n"


def _table(doc: dict[str, Any]) -> list[str]:
    lines = [
        "| query | execution ms | planning ms | shared buffers | temp blocks | findings |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for q in doc["queries"]:
        if q.get("error"):
            lines.append(f"| `{q['name']}` | failed: {_cell(q['error'])} | | | | |")
            continue
        counts = _finding_counts(q["findings"])
        lines.append(
            f"| `{q['name']}` | {q['execution_ms']:.2f} | {q['planning_ms']:.2f} | "
            f"{q['shared_buffers']:,} | {q['temp_blocks']:,} | {counts} |"
        )
    return lines


def _captured_table(doc: dict[str, Any]) -> list[str]:
    """Captured statements (slowest first by total time): pg_stat_statements' totals."""
    lines = [
        "| statement | calls | total ms | mean ms | shared buffers (slowest run) | findings |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for q in doc["queries"]:
        st = q["stats"]
        text = " ".join(q["sql"].split())[:80]
        lines.append(
            f"| `{q['name']}` `{_cell(text)}` | {st['calls']:,} | {st['total_ms']:,.2f} | "
            f"{st['total_ms'] / max(st['calls'], 1):,.3f} | {q['shared_buffers']:,} | "
            f"{_finding_counts(q['findings'])} |"
        )
    return lines


def _finding_counts(findings: list[dict[str, Any]]) -> str:
    if not findings:
        return "none"
    out = []
    for severity in ("critical", "warning", "info"):
        n = sum(1 for f in findings if f["severity"] == severity)
        if n:
            out.append(f"{ICONS[severity]} {n} {severity}")
    return ", ".join(out)


def _slowest(doc: dict[str, Any], top: int) -> list[str]:
    lines = ["", f"#### Slowest nodes (exclusive time, top {top})", ""]
    lines += ["| query | node | exclusive ms | rows (actual / planned) | loops |"]
    lines.append("|---|---|---:|---:|---:|")
    for name, n in slowest_nodes(doc, top):
        lines.append(
            f"| `{name}` | #{n['id']} {_cell(n['label'])} | {n['exclusive_time_ms']:.3f} | "
            f"{n['actual_rows']:,.0f} / {n['plan_rows']:,.0f} | {n['loops']:,.0f} |"
        )
    return lines


def _query_findings(q: dict[str, Any]) -> list[str]:
    if q.get("error") or not q["findings"]:
        return []
    lines = ["", f"#### `{q['name']}`"]
    if q["description"]:
        lines += ["", _cell(q["description"])]
    lines.append("")
    for f in q["findings"]:
        where = f"node #{f['node_id']} {f['node']}" if f["node_id"] else f["node"]
        lines.append(f"- {ICONS[f['severity']]} **{f['rule']}** ({where}): {f['message']}")
    return lines


def _check_section(check: CheckReport) -> list[str]:
    verdict = "✅ plans match the baseline" if check.ok else "❌ plan regressions"
    lines = [f"### Gate: {verdict}", ""]
    lines += [f"- note: {_cell(note)}" for note in check.notes]
    for c in check.checks:
        for p in c.problems:
            lines.append(f"- ❌ `{c.name}`: {_cell(p)}")
        for note in c.notes:
            lines.append(f"- `{c.name}`: {_cell(note)}")
        if c.shape_diff:
            lines += ["", "```diff", *c.shape_diff, "```", ""]
    if check.ok and not check.notes and not any(c.notes for c in check.checks):
        lines.append(f"All {len(check.checks)} queries keep their plan shape and budgets.")
    return [*lines, ""]
