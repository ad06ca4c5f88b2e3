"""db.explain never commits, whatever a query file holds (issue 10): transaction control and
extra statements are refused with one ``Error:`` line and a hint, before anything runs, and a
parameter value that would smuggle a second statement in is refused after substitution."""

from __future__ import annotations

import pytest

from devdb.settings import Settings
from tests.conftest import run_invoke
from tests.integration.explain_fill import demo_database
from tests.integration.test_explain import count

EVENTS = "SELECT count(*) FROM audit.events"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("DELETE FROM audit.events;\nCOMMIT;\n", "COMMIT is transaction control"),
        ("SELECT 1; DELETE FROM audit.events;\n", "holds 2 statements"),
        (
            "-- param: n = (SELECT '1; DELETE FROM audit.events; COMMIT')\nSELECT :n;\n",
            "with its params: COMMIT is transaction control",
        ),
    ],
)
def test_a_query_file_cannot_commit(project_on_server: Settings, body: str, error: str) -> None:
    conninfo = demo_database(project_on_server)
    before = count(conninfo, EVENTS)
    folder = project_on_server.root / "queries"
    for old in folder.glob("*.sql"):
        old.unlink()
    (folder / "sneaky.sql").write_text(body)

    result = run_invoke(project_on_server, "db.explain")

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith("Error: sneaky.sql") and error in line for line in lines), lines
    assert any(line.startswith("Hint: ") for line in lines)
    assert "Traceback" not in result.stderr
    assert count(conninfo, EVENTS) == before
