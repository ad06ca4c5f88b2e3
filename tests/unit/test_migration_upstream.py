"""The parser test cases of sql-migrate and goose, ported with the outcome each upstream expects.

Sources (MIT licence both; cases rewritten here, except goose's golden files, kept as they are):
- rubenv/sql-migrate, ``sqlparse/sqlparse_test.go``: TestSemicolons, TestSplitStatements,
  TestIntentionallyBadStatements, TestJustComment (TestCustomTerminator is for MSSQL ``GO``
  lines, which PostgreSQL has no use for).
- pressly/goose, ``internal/sqlparser/parser_test.go``: TestSemicolons, TestSplitStatements,
  TestParsingErrors, Test_extractAnnotation, TestValidUp (its testdata in
  tests/fixtures/goose-sqlparser; ENVSUB cases are left out: devdb refuses substitution).

Where devdb differs on purpose, the test says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devdb.errors import MigrationParseError
from devdb.migrations.formats import MarkerError, classify
from devdb.migrations.parse import Migration, parse_text
from devdb.migrations.split import split

NAME = Path("00001_upstream.sql")


def counts(text: str) -> tuple[int, int]:
    m: Migration = parse_text(text, NAME)
    return len(m.up.statements), len(m.down.statements) if m.down else 0


@pytest.mark.parametrize(
    ("line", "ends"),
    [
        ("END;", True),
        ("END; -- comment", True),
        ("END   ; -- comment", True),
        ("END -- comment", False),
        ("END -- comment ;", False),
        ('END " ; " -- comment', False),
        # goose #699: "--" inside a quoted string is not a comment
        ("COMMENT='Look at this cool arrow -->';", True),
        ("COMMENT='Look at this cool arrow -->'; -- trailing", True),
        ("SELECT '-- not a comment';", True),
        ('COMMENT="arrow -->";', True),
        # goose says True (a MySQL backtick string); PostgreSQL has no backtick quoting, so
        # its scanner (and psql) read `-->` as the start of a comment: not terminated.
        ("COMMENT=`arrow -->`;", False),
    ],
)
def test_semicolons(line: str, ends: bool) -> None:
    result = split(line)
    assert (result.tail is None and len(result.spans) == 1) is ends


SQL_MIGRATE_FUNCTXT = """-- +migrate Up
CREATE TABLE IF NOT EXISTS histories (
  id                BIGSERIAL  PRIMARY KEY,
  current_value     varchar(2000) NOT NULL,
  created_at      timestamp with time zone  NOT NULL
);

-- +migrate StatementBegin
CREATE OR REPLACE FUNCTION histories_partition_creation( DATE, DATE )
returns void AS $$
DECLARE
  create_query text;
BEGIN
  FOR create_query IN SELECT
      'CREATE TABLE IF NOT EXISTS histories_'
      || TO_CHAR( d, 'YYYY_MM' )
      || ' ( CHECK( created_at >= timestamp '''
      || TO_CHAR( d, 'YYYY-MM-DD 00:00:00' )
      || ''' AND created_at < timestamp '''
      || TO_CHAR( d + INTERVAL '1 month', 'YYYY-MM-DD 00:00:00' )
      || ''' ) ) inherits ( histories );'
    FROM generate_series( $1, $2, '1 month' ) AS d
  LOOP
    EXECUTE create_query;
  END LOOP;  -- LOOP END
END;         -- FUNCTION END
$$
language plpgsql;
-- +migrate StatementEnd

-- +migrate Down
drop function histories_partition_creation(DATE, DATE);
drop TABLE histories;
"""

POST = (
    "CREATE TABLE post (\n    id int NOT NULL,\n    title text,\n    body text,\n"
    "    PRIMARY KEY(id)\n)"
)
FANCIER = (
    "CREATE TABLE fancier_post (\n    id int NOT NULL,\n    title text,\n    body text,\n"
    "    created_on timestamp without time zone,\n    PRIMARY KEY(id)\n)"
)
SQL_MIGRATE_MULTI = (
    f"-- +migrate Up\n{POST};\n\n-- +migrate Down\nDROP TABLE post;\n\n"
    f"-- +migrate Up\n{FANCIER};\n\n-- +migrate Down\nDROP TABLE fancier_post;\n"
)


@pytest.mark.parametrize(
    ("text", "up", "down"), [(SQL_MIGRATE_FUNCTXT, 2, 2), (SQL_MIGRATE_MULTI, 2, 2)]
)
def test_sql_migrate_split_statements(text: str, up: int, down: int) -> None:
    assert counts(text) == (up, down)


def test_sql_migrate_function_body_is_sent_with_its_comments() -> None:
    """sql-migrate drops the `-- ` lines; devdb (like psql, goose and dbmate) keeps them."""
    m = parse_text(SQL_MIGRATE_FUNCTXT, NAME)
    body = m.up.statements[1].sql
    assert body.startswith("CREATE OR REPLACE FUNCTION") and body.endswith("language plpgsql;")
    assert "END LOOP;  -- LOOP END\nEND;         -- FUNCTION END\n$$" in body


SQL_MIGRATE_BAD = [
    # first statement missing terminator
    SQL_MIGRATE_MULTI.replace(f"{POST};", POST),
    # second half of first statement missing terminator
    SQL_MIGRATE_MULTI.replace(f"{POST};", f"{POST};\n\nSELECT 'No ending semicolon'"),
    # second statement missing terminator
    SQL_MIGRATE_MULTI.replace("DROP TABLE post;", "DROP TABLE post"),
    # trailing text after a second StatementBegin (never closed)
    (
        f"-- +migrate Up\n-- +migrate StatementBegin\n{POST};\n-- +migrate StatementBegin\n"
        "SELECT 'no semicolon'\n\n-- +migrate Down\nDROP TABLE post;\n"
    ),
    # justAComment: the Up statement has no terminator; the Down is only a comment
    f"-- +migrate Up\n{POST}\n\n-- +migrate Down\n-- no migration here\n",
]


@pytest.mark.parametrize("text", SQL_MIGRATE_BAD)
def test_sql_migrate_intentionally_bad_statements(text: str) -> None:
    with pytest.raises(MigrationParseError):
        parse_text(text, NAME)


GOOSE_FUNCTXT = SQL_MIGRATE_FUNCTXT.replace("+migrate", "+goose")
GOOSE_MULTILINE = """-- +goose Up
CREATE TABLE post (
\t\tid int NOT NULL,
\t\ttitle text,
\t\tbody text,
\t\tPRIMARY KEY(id)
);                  -- 1st stmt

-- comment
SELECT 2;           -- 2nd stmt
SELECT 3; SELECT 3; -- 3rd stmt
SELECT 4;           -- 4th stmt

-- +goose Down
-- comment
DROP TABLE post;    -- 1st stmt
"""
GOOSE_MYSQL_DELIMITER = """
-- +goose Up
-- +goose StatementBegin
DELIMITER | 
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION my_func( str CHAR(255) ) RETURNS CHAR(255) DETERMINISTIC
BEGIN 
  RETURN "Dummy Body"; 
END | 
-- +goose StatementEnd

-- +goose StatementBegin
DELIMITER ; 
-- +goose StatementEnd

select my_func("123") from dual;
-- +goose Down
"""  # noqa: W291 (the trailing spaces are part of goose's case)
GOOSE_COPY = (
    "\n-- +goose Up\n-- +goose StatementBegin\n"
    "COPY public.django_content_type (id, app_label, model) FROM stdin;\n"
    "1\tadmin\tlogentry\n2\tauth\tpermission\n\\.\n-- +goose StatementEnd\n"
)
UPDATED_AT_FN = """CREATE OR REPLACE FUNCTION update_updated_at_column()
RETURNS TRIGGER AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$$ language 'plpgsql';
"""  # both goose plpgsql cases share it
GOOSE_PLPGSQL = f"""
-- +goose Up
-- +goose StatementBegin
{UPDATED_AT_FN}-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER update_properties_updated_at BEFORE UPDATE ON properties FOR EACH ROW EXECUTE PROCEDURE  update_updated_at_column();
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DROP TRIGGER update_properties_updated_at
-- +goose StatementEnd
-- +goose StatementBegin
DROP FUNCTION update_updated_at_column()
-- +goose StatementEnd
"""  # noqa: E501
GOOSE_PLPGSQL_MIXED = f"""
-- +goose Up
-- +goose StatementBegin
{UPDATED_AT_FN}-- +goose StatementEnd

CREATE TRIGGER update_properties_updated_at
BEFORE UPDATE
ON properties 
FOR EACH ROW EXECUTE PROCEDURE  update_updated_at_column();

-- +goose Down
DROP TRIGGER update_properties_updated_at;
DROP FUNCTION update_updated_at_column();
"""  # noqa: W291
GOOSE_COMMENT_ARROW = """-- +goose Up
CREATE TABLE t1 (
    c1 INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    c2 VARCHAR(100))
ENGINE=InnoDB
COMMENT='Look at this cool arrow -->';

CREATE TABLE t2 (
    c1 INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    c2 VARCHAR(100))
ENGINE=InnoDB;

-- +goose Down
DROP TABLE t2;
DROP TABLE t1;
"""


@pytest.mark.parametrize(
    ("text", "up", "down"),
    [
        (GOOSE_MULTILINE, 4, 1),
        ("-- +goose Up\n-- This is just a comment", 0, 0),
        ("\n\n-- comment\n-- +goose Up\n\n-- comment\n-- +goose Down\n\n", 0, 0),
        (GOOSE_FUNCTXT, 2, 2),
        (GOOSE_MYSQL_DELIMITER, 4, 0),
        (GOOSE_COPY, 1, 0),
        (GOOSE_PLPGSQL, 2, 2),
        (GOOSE_PLPGSQL_MIXED, 2, 2),
        (GOOSE_COMMENT_ARROW, 2, 2),
    ],
)
def test_goose_split_statements(text: str, up: int, down: int) -> None:
    """goose counts ``SELECT 3; SELECT 3;`` on one line as one statement (it splits at line
    ends); PostgreSQL's grammar sees two, so devdb counts 5 for GOOSE_MULTILINE."""
    expected = (5, 1) if text is GOOSE_MULTILINE else (up, down)
    assert counts(text) == expected


GOOSE_ERRORS = [
    # statementBeginNoStatementEnd
    GOOSE_FUNCTXT.replace("-- +goose StatementEnd\n", ""),
    # unfinishedSQL
    "\n-- +goose Up\nALTER TABLE post\n\n-- +goose Down\n",
    # noUpDownAnnotations
    f"\n{POST};\n",
    # multiUpDown
    f"-- +goose Up\n{POST};\n\n-- +goose Down\nDROP TABLE post;\n\n-- +goose Up\n{FANCIER};\n",
    # downFirst
    "-- +goose Down\nDROP TABLE fancier_post;\n",
]


@pytest.mark.parametrize("text", GOOSE_ERRORS)
def test_goose_parsing_errors(text: str) -> None:
    with pytest.raises(MigrationParseError):
        parse_text(text, NAME)


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("-- +goose Up", "up"),
        ("-- +goose Down", "down"),
        ("-- +goose StatementBegin", "begin"),
        ("-- +goose NO TRANSACTION", "notx"),
        ("-- +goose unsupported", None),
        ("-- +goose", None),
        ("-- +goose   UP \t", "up"),
        (" -- +goose   UP \t", None),
        ("\t-- +goose   UP \t", None),
        ("-- +goose +goose Up", None),
    ],
)
def test_goose_extract_annotation(line: str, kind: str | None) -> None:
    if kind is None:
        with pytest.raises(MarkerError):
            classify(line, "goose")
    else:
        assert classify(line, "goose")[0] == kind


GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "goose-sqlparser"


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.glob("test*")))
def test_goose_valid_up_statements_equal_goose_goldens(case: str) -> None:
    """goose's TestValidUp: every statement byte-identical to goose's golden file (leading
    ``--`` comments dropped, a leading block comment kept: what psql sends too)."""
    folder = GOLDEN / case
    m = parse_text((folder / "input.sql").read_text(), NAME)
    goldens = sorted(folder.glob("*.up.golden.sql"))
    assert [s.sql for s in m.up.statements] == [g.read_text() for g in goldens]
