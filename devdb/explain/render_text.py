"""The terminal summary: a table of queries, the slowest nodes, and the findings.

A rich table on a terminal (when NO_COLOR is unset); plain aligned text otherwise, so logs and
pipes stay readable.
"""

from __future__ import annotations

import sys
from typing import Any

from devdb.explain.baseline import CheckReport
from devdb.explain.report import slowest_nodes
from devdb.output import use_color

HEADERS = ("query", "exec ms", "plan ms", "shared buf", "temp", "findings")


CAPTURED_HEADERS = ("statement", "total ms", "calls", "shared buf", "temp", "findings")


def _headers(doc: dict[str, Any]) -> tuple[str, ...]:
    return CAPTURED_HEADERS if any(q.get("stats") for q in doc["queries"]) else HEADERS


def _rows(doc: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row per query; a captured statement shows its total time and calls instead of one
    execution's and planning time."""
    rows: list[tuple[str, ...]] = []
    for q in doc["queries"]:
        if q.get("error"):
            rows.append((q["name"], "failed", "", "", "", q["error"]))
            continue
        worst = {f["severity"] for f in q["findings"]}
        tag = next((s for s in ("critical", "warning", "info") if s in worst), "")
        stats = q.get("stats")
        first = (
            (f"{stats['total_ms']:.2f}", f"{stats['calls']:,}")
            if stats
            else (f"{q['execution_ms']:.2f}", f"{q['planning_ms']:.2f}")
        )
        rows.append(
            (
                q["name"],
                *first,
                f"{q['shared_buffers']:,}",
                f"{q['temp_blocks']:,}",
                f"{len(q['findings'])} ({tag})" if tag else "0",
            )
        )
    return rows


def _slowest(doc: dict[str, Any], count: int) -> list[tuple[str, str, str]]:
    return [
        (f"{n['exclusive_time_ms']:.2f}", name, f"#{n['id']} {n['label']}")
        for name, n in slowest_nodes(doc, count)
    ]


def _findings(doc: dict[str, Any]) -> list[str]:
    out = []
    for q in doc["queries"]:
        for f in q.get("findings", []):
            where = f"#{f['node_id']} " if f["node_id"] else ""
            out.append(f"{f['severity']:<8} {q['name']}: {where}{f['message']}")
    return out


def summary_text(doc: dict[str, Any], check: CheckReport | None = None, *, top: int = 5) -> str:
    """Plain text: for logs, pipes and NO_COLOR."""
    rows = [_headers(doc), *_rows(doc)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS) - 1)]
    lines = []
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(r[1:-1], widths[1:], strict=True)
        ]
        lines.append("  ".join([*cells, r[-1]]))
    lines += ["", f"slowest nodes (exclusive ms, top {top}):"]
    lines += [f"  {ms:>9}  {name}: {label}" for ms, name, label in _slowest(doc, top)]
    found = _findings(doc)
    lines += ["", f"findings ({len(found)}):" if found else "findings: none"]
    lines += ["  " + f for f in found]
    if check is not None:
        lines += ["", *_check_lines(check)]
    return "\n".join(lines)


def _check_lines(check: CheckReport) -> list[str]:
    lines = ["gate: ok, plans match the baseline" if check.ok else "gate: FAILED"]
    lines += [f"  note: {note}" for note in check.notes]
    for c in check.checks:
        lines += [f"  FAIL {c.name}: {p}" for p in c.problems]
        lines += [f"       {line}" for line in c.shape_diff]
        lines += [f"  note {c.name}: {n}" for n in c.notes]
    return lines


def print_summary(doc: dict[str, Any], check: CheckReport | None = None, *, top: int = 5) -> None:
    """Print the summary to stdout: rich on a terminal, plain text otherwise."""
    if not use_color(sys.stdout):
        print(summary_text(doc, check, top=top))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"EXPLAIN ANALYZE · {doc['database']}", title_justify="left")
    for i, h in enumerate(_headers(doc)):
        table.add_column(h, justify="left" if i in (0, 5) else "right")
    for row in _rows(doc):
        table.add_row(*row)
    console.print(table)
    slow = Table(title=f"slowest nodes (top {top})", title_justify="left")
    for h in ("exclusive ms", "query", "node"):
        slow.add_column(h, justify="right" if h == "exclusive ms" else "left")
    for row in _slowest(doc, top):
        slow.add_row(*row)
    console.print(slow)
    styles = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
    for line in _findings(doc):
        console.print(line, style=styles.get(line.split()[0], ""), markup=False, highlight=False)
    if check is not None:
        for line in _check_lines(check):
            style = "red" if "FAIL" in line else "green" if "ok" in line else ""
            console.print(line, style=style, markup=False, highlight=False)
