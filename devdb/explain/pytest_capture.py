"""Capture under pytest (opt-in): ``pytest --devdb-capture``, or ``devdb_capture = true`` in the
pytest ini options.

While the session runs, every statement the tests' database connections execute (those of
``db_conn``, ``fresh_db``, and whatever the application under test opens to the databases those
fixtures hand out) is captured with its plan (``capture.py``). At the end the capture is saved
(``reports/capture-latest.json``), a report is written, and its path is printed;
``invoke db.explain.check --captured`` is the CI gate over it. Under pytest-xdist the controller
captures for all workers.

Registered from devdb's pytest plugin; imports only pytest and the standard library at load time.
"""

from __future__ import annotations

from typing import Any

import pytest

_RUNNING = pytest.StashKey[Any]()
_OUTCOME = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("devdb", "devdb test databases")
    group.addoption(
        "--devdb-capture",
        action="store_true",
        default=False,
        help="capture the statements the tests run, with their plans, and write a report",
    )
    parser.addini("devdb_capture", "capture statements and plans (as --devdb-capture)", type="bool")


def _enabled(config: pytest.Config) -> bool:
    if hasattr(config, "workerinput"):
        return False  # an xdist worker: the controller captures
    return bool(config.getoption("--devdb-capture") or config.getini("devdb_capture"))


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if not _enabled(config):
        return
    from devdb import pytest_plugin
    from devdb.errors import DevdbError
    from devdb.explain import capture

    try:
        settings = pytest_plugin._settings(config)
        conninfo = pytest_plugin._ensure_server(settings)
        running = capture.start(settings, conninfo, capture.Scope("tests"))
    except DevdbError as exc:
        raise pytest.UsageError(f"devdb capture: {exc.render()}") from None
    config.stash[_RUNNING] = (settings, running)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if _RUNNING not in config.stash:
        return
    from devdb.errors import DevdbError
    from devdb.explain import api, capture

    settings, running = config.stash[_RUNNING]
    del config.stash[_RUNNING]
    try:
        capture.stop(running)
        outcome = api.captured_report(settings, api.save_capture(settings, running))
    except DevdbError as exc:
        config.stash[_OUTCOME] = f"capture failed: {exc.render()}"
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    count = len(outcome.run.results)
    config.stash[_OUTCOME] = (
        f"captured {count} statements with plans ({running.unplanned} without a plan); "
        f"report: {outcome.paths['html']}"
    )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    message = config.stash.get(_OUTCOME, None)
    if message:
        terminalreporter.section("devdb capture")
        terminalreporter.write_line(message)
