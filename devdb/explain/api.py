"""The explain commands, one plain function each, taking settings first (tasks print the result)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devdb.conninfo import ConnInfo
from devdb.errors import ExplainError
from devdb.explain.baseline import CheckReport, baseline_path, check_run, read_baseline
from devdb.explain.baseline import write_baseline as _write_baseline
from devdb.explain.render_markdown import markdown
from devdb.explain.report import run_to_dict, write_reports, write_step_summary
from devdb.explain.run import ExplainRun, run_explain
from devdb.settings import Settings


@dataclass
class Outcome:
    """A run, its JSON document, the report files written, and the gate's verdict if asked."""

    run: ExplainRun
    doc: dict[str, Any]
    paths: dict[str, Path] = field(default_factory=dict)
    check: CheckReport | None = None
    markdown: str = ""


def target(settings: Settings, database: str | None = None) -> ConnInfo:
    """Owner connection info for the project database (or ``database``) on the running server."""
    from devdb.server import owner_conninfo

    conninfo = owner_conninfo(settings)
    return conninfo.for_database(database) if database else conninfo


def explain(
    settings: Settings,
    *,
    query: str | None = None,
    parallel: bool = False,
    database: str | None = None,
    conninfo: ConnInfo | None = None,
) -> Outcome:
    """Run the named queries, write the HTML and JSON reports (and the CI step summary)."""
    run = run_explain(
        settings, conninfo or target(settings, database), only=query, parallel=parallel
    )
    return _finish(settings, run, None)


def check(
    settings: Settings,
    *,
    query: str | None = None,
    parallel: bool = False,
    database: str | None = None,
    conninfo: ConnInfo | None = None,
) -> Outcome:
    """Run the queries and compare them with the checked-in baseline."""
    baseline = read_baseline(baseline_path(settings))
    run = run_explain(
        settings, conninfo or target(settings, database), only=query, parallel=parallel
    )
    return _finish(settings, run, check_run(run, baseline, settings.profile))


def record_baseline(
    settings: Settings,
    *,
    query: str | None = None,
    parallel: bool = False,
    database: str | None = None,
    conninfo: ConnInfo | None = None,
) -> tuple[ExplainRun, Path]:
    """Run the queries and (re)write the baseline; ``query`` updates just that entry."""
    run = run_explain(
        settings, conninfo or target(settings, database), only=query, parallel=parallel
    )
    return run, _write_baseline(settings, run, merge=query is not None)


def require_pass(outcome: Outcome) -> None:
    """Raise ``ExplainError`` when a query failed or the gate found regressions."""
    failed = outcome.run.failed
    if failed:
        first = failed[0]
        raise ExplainError(
            f"{len(failed)} of {len(outcome.run.results)} queries failed; "
            f"{first.name}: {first.error}",
            f"Fix {first.query.path.name}, or run it alone: "
            f"`invoke db.explain --query {first.name}`.",
        )
    report = outcome.check
    if report is not None and not report.ok:
        names = ", ".join(c.name for c in report.failed)
        raise ExplainError(
            f"plan regressions in {len(report.failed)} of {len(report.checks)} queries: {names}",
            "Read the report above. If the change is intended, re-record with "
            "`invoke db.explain.baseline` and commit the baseline file.",
        )


def _finish(
    settings: Settings, run: ExplainRun, report: CheckReport | None, kind: str = "explain"
) -> Outcome:
    doc = run_to_dict(run)
    outcome = Outcome(run, doc, check=report)
    outcome.paths = write_reports(settings, run, report.to_dict() if report else None, kind)
    outcome.markdown = markdown(doc, report)
    summary = write_step_summary(outcome.markdown)
    if summary is not None:
        outcome.paths["step_summary"] = summary
    return outcome


# -- captured statements (capture.py, captured.py) ----------------------------------------------


def capture_window(
    settings: Settings,
    *,
    seconds: float,
    database: str | None = None,
    conninfo: ConnInfo | None = None,
) -> Outcome:
    """Capture the statements run against the project database (or ``database``) for
    ``seconds`` (Ctrl-C ends the window early), then report them."""
    import time

    from devdb.explain import capture

    where = conninfo or target(settings, database)
    window = capture.start(settings, where, capture.Scope("database", where.dbname))
    try:
        time.sleep(seconds)
    except KeyboardInterrupt:
        pass
    finally:
        capture.stop(window)
    return captured_report(settings, save_capture(settings, window))


def save_capture(settings: Settings, window: Any) -> dict[str, Any]:
    """Write a finished capture (``capture.Capture``) to the reports folder; returns it."""
    from devdb.explain import captured

    doc = captured.capture_doc(window)
    captured.save(settings, doc)
    return doc


def captured_report(
    settings: Settings, doc: dict[str, Any], report: CheckReport | None = None
) -> Outcome:
    """The HTML/JSON report (and Markdown) of a capture, with the gate's verdict if given."""
    from devdb.explain import captured

    return _finish(settings, captured.to_run(doc), report, "capture-report")


def check_captured(settings: Settings, path: Path | None = None) -> Outcome:
    """The gate over a saved capture (default: the latest) against ``capture-baseline.json``."""
    from devdb.explain import captured

    doc = captured.load(path or settings.reports_dir / captured.LATEST)
    baseline = captured.read_baseline(settings)
    report = CheckReport(
        captured.check_capture(doc, baseline),
        str(baseline.get("server_version", "")),
        str(doc.get("server_version", "")),
    )
    return captured_report(settings, doc, report)


def record_captured_baseline(settings: Settings, path: Path | None = None) -> tuple[int, Path]:
    """(Re)write ``capture-baseline.json`` from a saved capture (default: the latest)."""
    from devdb.explain import captured

    doc = captured.load(path or settings.reports_dir / captured.LATEST)
    return len(doc["statements"]), captured.write_baseline(settings, doc)


def undo_capture(settings: Settings) -> bool:
    """Restore the settings of a capture that did not finish; False when none was left."""
    from devdb.database import ADMIN_DB, connect
    from devdb.explain import capture

    with connect(target(settings).for_database(ADMIN_DB), autocommit=True) as conn:
        return capture.undo_leftover(settings, conn)
