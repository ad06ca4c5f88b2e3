"""Reading auto_explain's plans back from real server logs, and the capture gate's decisions.

tests/fixtures/logs/pg15_auto_explain.log (the stand-in/postgres:15 image's container log) and
pg18_auto_explain.log (the native backend's log file, PostgreSQL 18.6) are the windows of one real
capture each (``capture.start``, three statements on the demo data, ``capture.stop``), cut at the
markers.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from devdb.errors import ExplainError
from devdb.explain.baseline import large_seq_scans, plan_shape
from devdb.explain.capture import Statement, fingerprint
from devdb.explain.captured import check_capture, digest, load, statement_doc
from devdb.explain.plan import parse_plan
from devdb.explain.serverlog import logged_plans

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"


def window(version: str) -> list[Any]:
    text = (LOGS / f"{version}_auto_explain.log").read_text()
    start = text.split("\n", 1)[0].split("LOG:  ")[1]
    token = start.split()[2]
    return list(logged_plans(text, start, f"devdb capture {token} end"))


@pytest.mark.parametrize("version", ["pg15", "pg18"])
def test_every_logged_plan_between_the_markers_is_read(version: str) -> None:
    plans = window(version)
    assert [round(p.duration_ms, 3) for p in plans][:3] == {
        "pg15": [1.12, 0.992, 0.13],
        "pg18": [1.049, 0.84, 0.062],
    }[version]
    texts = [p.document["Query Text"] for p in plans]
    assert texts[0] == "select count(*) from audit.events where action = $1"
    assert texts[1] == "select count(*) from audit.events where action = 'invoice.paid'"
    for p in plans:
        parse_plan(p.document)  # each is a whole EXPLAIN document


def test_pg15_logs_no_query_identifier_so_plans_match_by_fingerprint() -> None:
    pg15, pg18 = window("pg15"), window("pg18")
    assert all(p.query_id is None for p in pg15)
    assert all(p.query_id is not None for p in pg18)
    normalised = "select count(*) from audit.events where action = $1"
    assert {fingerprint(p.document["Query Text"]) for p in pg15[:2]} == {fingerprint(normalised)}


def test_nothing_is_read_outside_the_window() -> None:
    text = (LOGS / "pg18_auto_explain.log").read_text()
    assert list(logged_plans(text, "devdb capture 1 start", "devdb capture 1 end")) == []
    start = text.split("\n", 1)[0].split("LOG:  ")[1]
    assert len(list(logged_plans(text, start, text.splitlines()[4][40:]))) == 0


def doc_of(version: str, which: slice = slice(0, 2)) -> dict[str, Any]:
    """The two executions of the count by action (or the plans ``which`` picks) as a statement."""
    stmt = Statement("k1", {1}, "select count(*) from audit.events where action = $1", calls=2)
    stmt.plans = window(version)[which]
    return statement_doc(stmt)


def test_a_statement_keeps_its_slowest_plan_and_every_shape() -> None:
    s = doc_of("pg18")
    assert s["slowest_ms"] == pytest.approx(1.049) and s["executions_logged"] == 2
    assert len(s["shapes"]) == 1  # both executions: Aggregate over a Seq Scan


def test_the_kept_plan_has_the_normalised_text_not_the_logged_constants() -> None:
    s = doc_of("pg18", slice(1, 2))  # logged as ... action = 'invoice.paid'
    assert s["plan"]["Query Text"] == "select count(*) from audit.events where action = $1"
    assert "invoice.paid" not in s["plan"]["Query Text"]


def baseline_of(doc: dict[str, Any]) -> dict[str, Any]:
    scans = large_seq_scans(parse_plan(doc["plan"]), {})
    return {"statements": {doc["key"]: {"shapes": dict(doc["shapes"]), "large_seq_scans": scans}}}


def test_gate_passes_on_known_shapes_and_fails_on_a_new_one() -> None:
    s = doc_of("pg18")
    base = baseline_of(s)
    assert all(c.ok for c in check_capture({"statements": [s]}, base))
    changed = copy.deepcopy(s)
    plan = copy.deepcopy(changed["plan"])
    plan["Plan"]["Plans"][0]["Node Type"] = "Index Only Scan"
    shape = plan_shape(parse_plan(plan))
    changed["shapes"][digest(shape)] = shape
    (check,) = check_capture({"statements": [changed]}, base)
    assert check.problems == ["plan shape changed"]
    assert any(line.startswith("+") and "Index Only Scan" in line for line in check.shape_diff)


def test_new_and_vanished_statements_are_notes() -> None:
    s = doc_of("pg15", slice(2, 3))  # the lookup by email: an index scan
    (new,) = check_capture({"statements": [s]}, {"statements": {}})
    assert new.ok and new.notes == ["new statement (not in the capture baseline)"]
    (gone,) = check_capture({"statements": []}, baseline_of(s))
    assert gone.ok and gone.notes == ["in the baseline but not run in this capture"]


def test_a_new_statement_scanning_a_large_table_fails() -> None:
    s = doc_of("pg18")  # a Seq Scan over audit.events reading 12,000 rows
    (check,) = check_capture({"statements": [s]}, {"statements": {}})
    assert check.problems == ["new statement scans the large table audit.events sequentially"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "no capture at"),
        ("{not json", "is not valid JSON"),
        ('{"format": 1, "queries": {}}', "is not a devdb capture"),
        (b"\xff\xfe", "is not valid JSON"),
    ],
)
def test_a_bad_capture_file_is_one_error(tmp_path: Path, text: object, message: str) -> None:
    path = tmp_path / "capture-latest.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif isinstance(text, str):
        path.write_text(text)
    with pytest.raises(ExplainError, match=message) as exc:
        load(path)
    assert "--devdb-capture" in exc.value.hint
