"""EXPLAIN tasks: db.explain (default: run every named query), db.explain.baseline, .check."""

from __future__ import annotations

from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from devdb.tasks._common import exits, settings_for

HELP = {
    "query": "only the query with this name (a file queries/NAME.sql)",
    "parallel": "let the planner use parallel workers (pinned off by default)",
    "database": "another database on the same server",
}


def _print(outcome: Any, json: bool, markdown: bool) -> None:
    from devdb.explain.render_text import print_summary
    from devdb.output import info, print_json

    if json:
        doc = dict(outcome.doc)
        if outcome.check is not None:
            doc["check"] = outcome.check.to_dict()
        print_json(doc)
    elif markdown:
        print(outcome.markdown, end="")
    else:
        print_summary(outcome.doc, outcome.check)
    info(f"report: {outcome.paths['html']}")


@task(
    default=True,
    help={
        **HELP,
        "json": "print the full report (every node) as one JSON document",
        "markdown": "print the Markdown report (what CI puts in the job summary)",
    },
)
@exits
def run(  # noqa: PLR0917 - a task's parameters are its CLI flags
    c: Context,
    query: str | None = None,
    json: bool = False,
    markdown: bool = False,
    parallel: bool = False,
    database: str | None = None,
) -> None:
    """EXPLAIN ANALYZE the named queries (rolled back) and write the HTML/JSON report."""
    from devdb.explain import api

    outcome = api.explain(settings_for(), query=query, parallel=parallel, database=database)
    _print(outcome, json, markdown)
    api.require_pass(outcome)


@task(help=HELP)
@exits
def baseline(
    c: Context, query: str | None = None, parallel: bool = False, database: str | None = None
) -> None:
    """Record each query's plan shape and buffer counts in the checked-in baseline file."""
    from devdb.explain import api
    from devdb.output import info

    result, path = api.record_baseline(
        settings_for(), query=query, parallel=parallel, database=database
    )
    info(f"baseline of {len(result.results)} queries written to {path}; commit it")


@task(
    help={
        **HELP,
        "json": "print the report and the verdict as one JSON document",
        "markdown": "print the Markdown report with the verdict",
    }
)
@exits
def check(  # noqa: PLR0917 - a task's parameters are its CLI flags
    c: Context,
    query: str | None = None,
    json: bool = False,
    markdown: bool = False,
    parallel: bool = False,
    database: str | None = None,
) -> None:
    """Fail (exit 1) when a plan's shape, large seq scans, spills or buffers regressed."""
    from devdb.explain import api

    outcome = api.check(settings_for(), query=query, parallel=parallel, database=database)
    _print(outcome, json, markdown)
    api.require_pass(outcome)


ns = Collection("explain", run, baseline, check)
