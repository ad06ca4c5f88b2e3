"""The JSON report (full per-node data) and writing one report set per run to the reports folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from devdb.explain.run import ExplainRun, QueryResult
from devdb.settings import Settings


def result_to_dict(result: QueryResult) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": result.name,
        "description": result.query.description,
        "file": result.query.path.name,
        "sql": result.sql,
        "error": result.error,
        "wall_ms": round(result.wall_ms, 3),
    }
    if result.stats is not None:
        doc["stats"] = result.stats
    plan = result.plan
    if plan is None:
        return doc
    doc.update(
        {
            "planning_ms": plan.planning_time,
            "execution_ms": plan.execution_time,
            "trigger_ms": plan.trigger_time,
            "shared_buffers": plan.shared_buffers,
            "data_buffers": plan.data_buffers,
            "temp_blocks": plan.temp_blocks,
            "planning_buffers": plan.planning_buffers,
            "plan_settings": plan.settings,
            "findings": [f.to_dict() for f in result.findings],
            "nodes": [n.to_dict() for n in plan.nodes()],
        }
    )
    return doc


def run_to_dict(run: ExplainRun) -> dict[str, Any]:
    """The whole run as one JSON-ready document (what ``db.explain --json`` prints)."""
    return {
        "started_at": run.started_at,
        "database": run.database,
        "environment": run.environment,
        "analyzed_before_run": run.analyzed,
        "wall_ms": round(run.wall_ms, 3),
        "queries": [result_to_dict(r) for r in run.results],
    }


def slowest_nodes(doc: dict[str, Any], top: int) -> list[tuple[str, dict[str, Any]]]:
    """(query name, node) of the ``top`` executed nodes with the most exclusive time, all
    queries of a report document together (what the terminal and Markdown summaries list)."""
    nodes = [
        (q["name"], n)
        for q in doc["queries"]
        if not q.get("error")
        for n in q["nodes"]
        if n["executed"]
    ]
    nodes.sort(key=lambda item: item[1]["exclusive_time_ms"], reverse=True)
    return nodes[:top]


def write_reports(
    settings: Settings, run: ExplainRun, check: dict[str, Any] | None = None, kind: str = "explain"
) -> dict[str, Path]:
    """Write ``<kind>-<time>.html`` and ``.json`` into the reports folder (with the gate's
    verdict when ``check`` is given); returns their paths."""
    from devdb.explain.render_html import render_html

    folder = settings.reports_dir
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{kind}-" + run.started_at.replace(":", "").replace("-", "").replace("T", "-")
    stem = stem.rstrip("Z")
    base, n = stem, 1
    while (folder / f"{stem}.html").exists() or (folder / f"{stem}.json").exists():
        n += 1
        stem = f"{base}-{n}"
    doc = run_to_dict(run)
    if check is not None:
        doc["check"] = check
    paths = {"html": folder / f"{stem}.html", "json": folder / f"{stem}.json"}
    paths["json"].write_text(json.dumps(doc, indent=2, default=str) + "\n")
    paths["html"].write_text(render_html(doc))
    return paths


def write_step_summary(markdown: str) -> Path | None:
    """Append the Markdown report to ``$GITHUB_STEP_SUMMARY`` when CI provides one."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a") as fh:
        fh.write(markdown.rstrip() + "\n\n")
    return path
