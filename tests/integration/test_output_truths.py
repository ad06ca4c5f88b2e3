"""What devdb prints matches what happened: logs without checkpoint noise, a server never
created is "not created", a "no" is a no, compose's output is called compose's output."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_project

from devdb import server
from devdb.conninfo import ConnInfo
from devdb.database import connect
from devdb.errors import GuardError, ServerStartError
from devdb.guard import confirm_drop
from devdb.settings import Settings


def test_logs_leave_out_checkpoint_lines_unless_asked(
    native_server: tuple[Settings, ConnInfo],
) -> None:
    settings, conninfo = native_server
    with connect(conninfo.for_database("postgres"), autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    everything = server.logs(settings, 200, checkpoints=True)
    assert "checkpoint complete" in everything
    filtered = server.logs(settings, 200)
    assert "checkpoint" not in filtered
    assert filtered.strip()  # the rest of the log is still there


def test_a_server_never_created_is_not_called_stopped(tmp_path: Path) -> None:
    settings = make_project(tmp_path / "p")
    doc = server.status(settings)
    assert (doc["running"], doc["state"]) == (False, "not created")


def test_answering_no_is_not_called_a_missing_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    from io import StringIO

    from devdb import output

    monkeypatch.setattr(output, "is_interactive", lambda: True)
    monkeypatch.setattr(sys, "stdin", StringIO("n\n"))
    with pytest.raises(GuardError) as err:
        confirm_drop("shop", action="db.reset", yes=False)
    assert "you answered no" in err.value.message
    monkeypatch.setattr(output, "is_interactive", lambda: False)
    with pytest.raises(GuardError) as err:
        confirm_drop("shop", action="db.reset", yes=False)
    assert "no terminal" in err.value.message


def test_compose_output_is_labelled_as_such() -> None:
    err = ServerStartError("compose failed", log="pull access denied", log_label="compose said")
    assert "compose said:\npull access denied" in err.render()
    assert "server log" not in err.render()
