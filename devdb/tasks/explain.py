"""EXPLAIN tasks: db.explain (default: run every named query), .baseline, .check, .capture."""

from __future__ import annotations

from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from devdb.tasks._common import exits, settings_for

CAPTURED = "use the latest capture (pytest --devdb-capture or db.explain.capture) instead"
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


@task(help={**HELP, "captured": CAPTURED})
@exits
def baseline(
    c: Context,
    query: str | None = None,
    parallel: bool = False,
    database: str | None = None,
    captured: bool = False,
) -> None:
    """Record each query's plan shape and buffer counts in the checked-in baseline file."""
    from devdb.explain import api
    from devdb.output import info

    if captured:
        count, path = api.record_captured_baseline(settings_for())
        info(f"capture baseline of {count} statements written to {path}; commit it")
        return
    result, path = api.record_baseline(
        settings_for(), query=query, parallel=parallel, database=database
    )
    info(f"baseline of {len(result.results)} queries written to {path}; commit it")


@task(
    help={
        **HELP,
        "json": "print the report and the verdict as one JSON document",
        "markdown": "print the Markdown report with the verdict",
        "captured": CAPTURED,
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
    captured: bool = False,
) -> None:
    """Fail (exit 1) when a plan's shape, large seq scans, spills or buffers regressed."""
    from devdb.explain import api

    settings = settings_for()
    if captured:
        outcome = api.check_captured(settings)
    else:
        outcome = api.check(settings, query=query, parallel=parallel, database=database)
    _print(outcome, json, markdown)
    api.require_pass(outcome)


@task(
    help={
        "seconds": "how long to capture (Ctrl-C stops early); default 60",
        "database": "capture another database on the same server",
        "stop": "only undo the settings of a capture that was killed",
        "json": "print the report as one JSON document",
        "markdown": "print the Markdown report",
    }
)
@exits
def capture(  # noqa: PLR0917 - a task's parameters are its CLI flags
    c: Context,
    seconds: int = 60,
    database: str | None = None,
    stop: bool = False,
    json: bool = False,
    markdown: bool = False,
) -> None:
    """Record the statements the app runs for a while, with plans, and report them."""
    from devdb.explain import api
    from devdb.output import info

    settings = settings_for()
    if seconds < 1 and not stop:
        from devdb.errors import ExplainError

        raise ExplainError(
            f"--seconds must be at least 1, got {seconds}", "Give the window in seconds: 60."
        )
    if stop:
        undone = api.undo_capture(settings)
        info("capture settings restored" if undone else "no capture was left running")
        return
    info(
        f"capturing for {seconds} s: statements of connections opened from now on "
        "(restart the app's connection pool if it is already connected); Ctrl-C stops early"
    )
    outcome = api.capture_window(settings, seconds=seconds, database=database)
    _print(outcome, json, markdown)


ns = Collection("explain", run, baseline, check, capture)
