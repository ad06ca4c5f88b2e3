"""Capture on the docker backend (the stand-in for the official postgres:15 image): plans come
from the container's log, and PostgreSQL 15's auto_explain logs no query identifier, so each plan
is matched to its pg_stat_statements entry by fingerprint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devdb import server
from devdb.backends.docker import DockerBackend
from devdb.database import connect
from devdb.explain import api, capture
from devdb.migrations import migrate
from devdb.settings import Settings
from tests.integration.explain_fill import FILL
from tests.integration.test_backend_docker import docker_project

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def project(tmp_path: Path, docker_ready: str) -> Iterator[Settings]:
    settings = docker_project(tmp_path / "proj", docker_ready)
    for folder in ("migrations", "queries"):
        (settings.root / folder).symlink_to(Path(__file__).resolve().parents[2] / folder)
    yield settings
    DockerBackend(settings).remove()


def test_capture_window_on_docker_reads_plans_from_the_container_log(project: Settings) -> None:
    conninfo = server.up(project).conninfo
    migrate(project, conninfo)
    with connect(conninfo, autocommit=True) as conn:
        conn.execute(FILL)  # type: ignore[arg-type]
        conn.execute("ANALYZE")
    window = capture.start(project, conninfo, capture.Scope("database", conninfo.dbname))
    with connect(conninfo, autocommit=True) as app:
        for action in ("user.login", "invoice.paid", "member.added"):
            app.execute("SELECT count(*) FROM audit.events WHERE action = %s", (action,))
    capture.stop(window)

    assert window.server_version.startswith("15.")
    (stmt,) = window.statements
    assert stmt.text == "SELECT count(*) FROM audit.events WHERE action = $1"
    assert stmt.calls == 3 and len(stmt.plans) == 3
    assert all(p.query_id is None for p in stmt.plans)  # matched by fingerprint
    assert window.relation_rows["audit.events"] == 12_000  # table sizes, for "large table"
    outcome = api.captured_report(project, api.save_capture(project, window))
    (result,) = outcome.run.results
    assert result.plan is not None and result.plan.root.node_type == "Aggregate"
    assert [f.rule for f in result.findings] == ["seq-scan"]
    with connect(conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name FROM pg_file_settings WHERE sourcefile LIKE '%%auto.conf' "
            "AND (name LIKE 'auto_explain.%%' OR name IN "
            "('session_preload_libraries', 'compute_query_id'))"
        ).fetchall()
    assert rows == []  # settings put back
