"""Named query files: header parsing, psql variables, and the demo project's queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from devdb.errors import ExplainError
from devdb.explain.queries import (
    is_query_param,
    literal_param,
    load_queries,
    parse_query,
    quote_literal,
    render_sql,
)

REPO = Path(__file__).resolve().parent.parent.parent


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_header_fields(tmp_path: Path) -> None:
    q = parse_query(
        write(
            tmp_path,
            "lookup.sql",
            "-- description: Find one.\n"
            "-- param: email = (SELECT email FROM users LIMIT 1)\n"
            "-- param: n = 5\n"
            "-- buffers-budget: +35%\n"
            "-- parallel: on\n"
            "SELECT * FROM users WHERE email = :'email' AND x::text = 'a' LIMIT :n;\n",
        )
    )
    assert q.name == "lookup" and q.description == "Find one."
    assert q.params == {"email": "(SELECT email FROM users LIMIT 1)", "n": "5"}
    assert q.buffers_budget == pytest.approx(0.35) and q.parallel
    assert q.variables() == ["email", "n"]  # the ::text cast is not a variable


def test_defaults(tmp_path: Path) -> None:
    q = parse_query(write(tmp_path, "plain.sql", "select 1"))
    assert q.description == "" and q.params == {}
    assert q.buffers_budget == pytest.approx(0.20) and not q.parallel


def test_render_sql_quotes_literals_and_inserts_raw_values(tmp_path: Path) -> None:
    q = parse_query(
        write(
            tmp_path,
            "r.sql",
            "-- param: s = 'x'\n-- param: n = 3\n-- a comment inside\n"
            "SELECT :'s', :n, 'a'::text -- trailing\n;\n",
        )
    )
    sql = render_sql(q, {"s": "it's", "n": "3"})
    assert sql == "SELECT 'it''s', 3, 'a'::text"
    assert render_sql(q, {"s": None, "n": None}).startswith("SELECT NULL, NULL")


def test_literals() -> None:
    assert quote_literal("a'b") == "'a''b'"
    assert quote_literal("a\\b") == "E'a\\\\b'"
    assert literal_param("'it''s'") == "it's" and literal_param("42") == "42"
    assert is_query_param("(SELECT 1)") and not is_query_param("SELECT 1")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-- param: bad line\nselect 1", "bad param line"),
        ("-- buffers-budget: lots\nselect 1", "not a percentage"),
        ("select :'who'", "have no `-- param:` line"),
    ],
)
def test_malformed_headers(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ExplainError, match=message):
        parse_query(write(tmp_path, "q.sql", text))


def test_load_queries_errors(tmp_path: Path) -> None:
    with pytest.raises(ExplainError, match="no queries folder"):
        load_queries(tmp_path / "missing")
    with pytest.raises(ExplainError, match=r"no \.sql files"):
        load_queries(tmp_path)
    write(tmp_path, "a.sql", "select 1")
    with pytest.raises(ExplainError, match="no query named 'b'") as exc:
        load_queries(tmp_path, "b")
    assert exc.value.hint == "Known queries: a."


def test_demo_project_queries() -> None:
    queries = load_queries(REPO / "queries")
    assert len(queries) >= 10
    assert all(q.description for q in queries)
    by_name = {q.name: q for q in queries}
    # One query per kind the demo promises.
    assert "audit_events_by_action" in by_name  # no index on action, on purpose
    page = render_sql(by_name["users_page"], {"after_id": "x", "page_size": "50"})
    assert page.endswith("LIMIT 50") and "OFFSET" not in page  # keyset pagination
    assert by_name["mark_overdue_invoices"].sql.lstrip("-").count("UPDATE") >= 1
    for q in queries:
        render_sql(q, dict.fromkeys(q.params, "0"))


def test_checked_in_baseline_covers_every_demo_query() -> None:
    import json

    doc = json.loads((REPO / "queries" / "explain-baseline.json").read_text())
    assert set(doc["queries"]) == {q.name for q in load_queries(REPO / "queries")}


def test_literals_and_quoted_identifiers_are_left_alone(tmp_path: Path) -> None:
    q = parse_query(
        write(
            tmp_path,
            "lit.sql",
            "-- param: v = 1\n"
            "SELECT ':v', '--not a comment', \"odd:v\", :v -- real comment\nFROM t;\n",
        )
    )
    assert q.variables() == ["v"]
    assert render_sql(q, {"v": "7"}) == "SELECT ':v', '--not a comment', \"odd:v\", 7 \nFROM t"


# -- issue 12: psql's rules for variables; issue 10: a query file cannot commit -----------------

PSQL_CASES = (
    "-- param: v = 7\n"
    "SELECT :v, $$ :v $$, $fn$ :'v' $fn$, /* :v /* nested :v */ still :v */ :'v',\n"
    "       E'it\\'s :v', 'a '' :v', \"x:v\", 1::int, $1;\n"
)


def test_variables_are_replaced_only_where_psql_replaces_them(tmp_path: Path) -> None:
    q = parse_query(write(tmp_path, "p.sql", PSQL_CASES))
    assert q.variables() == ["v"]
    assert render_sql(q, {"v": "7"}) == (
        "SELECT 7, $$ :v $$, $fn$ :'v' $fn$, /* :v /* nested :v */ still :v */ '7',\n"
        "       E'it\\'s :v', 'a '' :v', \"x:v\", 1::int, $1"
    )


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ("COMMIT", "COMMIT"),
        ("select 1; commit", "COMMIT"),
        ("ROLLBACK", "ROLLBACK"),
        ("begin; delete from t", "BEGIN"),
        ("start transaction", "START"),
        ("savepoint a", "SAVEPOINT"),
        ("release savepoint a", "RELEASE"),
        ("end", "END"),
        ("abort", "ABORT"),
        ("prepare transaction 'x'", "PREPARE"),
        ("commit prepared 'x'", "COMMIT"),
        ("/* c */ (Commit)", "COMMIT"),
    ],
)
def test_transaction_control_is_refused(tmp_path: Path, body: str, word: str) -> None:
    with pytest.raises(ExplainError, match=f"{word} is transaction control") as exc:
        parse_query(write(tmp_path, "tx.sql", body))
    assert "rolls back" in exc.value.message and exc.value.hint


def test_more_than_one_statement_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExplainError, match="holds 2 statements") as exc:
        parse_query(write(tmp_path, "two.sql", "select 1;\nupdate t set a = 1;\n"))
    assert "own .sql file" in exc.value.hint


def test_a_param_query_cannot_commit_either(tmp_path: Path) -> None:
    with pytest.raises(ExplainError, match=r"two\.sql \(param x\): COMMIT"):
        parse_query(write(tmp_path, "two.sql", "-- param: x = (select 1; commit)\nselect :x"))


@pytest.mark.parametrize(
    "body",
    [
        "select ';' as semi; -- one statement, a trailing semicolon\n",
        "select $$ a; b $$, 'c; d', \"e;f\" /* g; h */",
        "select $body$ commit; $body$",
        "-- commit;\nselect 1;;",
    ],
)
def test_semicolons_in_literals_and_comments_are_not_statement_ends(
    tmp_path: Path, body: str
) -> None:
    parse_query(write(tmp_path, "ok.sql", body))


def test_unterminated_sql_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(ExplainError, match=r"open\.sql: cannot read the SQL: unterminated"):
        parse_query(write(tmp_path, "open.sql", "select 'abc"))


def test_identifier_variables_and_array_slices(tmp_path: Path) -> None:
    q = parse_query(write(tmp_path, "i.sql", '-- param: col = a"b\nselect :"col", arr[1:n] from t'))
    assert q.variables() == ["col"]  # arr[1:n] is a slice, as psql leaves an unset :n
    assert render_sql(q, {"col": 'a"b'}) == 'select "a""b", arr[1:n] from t'
