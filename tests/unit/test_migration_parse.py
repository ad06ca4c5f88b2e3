"""The migration file parser: sql-migrate, goose and dbmate formats, split by PostgreSQL's own
grammar, run byte for byte, parsed strictly."""

from __future__ import annotations

from pathlib import Path

import pytest

from devdb.errors import MigrationParseError
from devdb.migrations.files import files_digest, load_migrations, new_migration
from devdb.migrations.parse import Migration, checksum, parse_text, split_filename
from devdb.migrations.split import split

REPO = Path(__file__).resolve().parents[2]
NAME = Path("20250101000000_create_things.sql")


def parse(text: str) -> Migration:
    return parse_text(text, NAME, "20250101000000")


def sqls(m: Migration, direction: str = "up") -> list[str]:
    section = m.up if direction == "up" else m.down
    assert section is not None
    return [s.sql for s in section.statements]


def test_up_and_down_sections_split_into_statements() -> None:
    m = parse(
        "-- +migrate Up\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n"
        "-- +migrate Down\nDROP TABLE b;\nDROP TABLE a;\n"
    )
    assert sqls(m) == ["CREATE TABLE a (id int);", "CREATE TABLE b (id int);"]
    assert sqls(m, "down") == ["DROP TABLE b;", "DROP TABLE a;"]
    assert m.up.transactional and m.down is not None and m.down.transactional
    assert [s.line for s in m.up.statements] == [2, 3]


def test_semicolons_inside_strings_comments_and_dollar_quotes_do_not_split() -> None:
    body = (
        "INSERT INTO t VALUES ('a;b', E'it\\'s; fine', \"odd;name\");\n"
        "SELECT 1 /* a ; comment /* nested ; */ still */ + 1; --trailing ; comment\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$\n"
        "BEGIN\n  PERFORM 1;\n  RETURN 2;\nEND;\n$body$;\n"
        "DO $$ BEGIN RAISE NOTICE 'x;y'; END $$;\n"
    )
    m = parse("-- +migrate Up\n" + body)
    stmts = sqls(m)
    assert len(stmts) == 4
    assert stmts[0].startswith("INSERT") and stmts[0].endswith('"odd;name");')
    assert stmts[2].startswith("CREATE FUNCTION") and stmts[2].endswith("$body$;")
    assert stmts[3] == "DO $$ BEGIN RAISE NOTICE 'x;y'; END $$;"
    assert [s.line for s in m.up.statements] == [2, 3, 4, 10]


def test_statement_begin_end_keeps_a_block_whole() -> None:
    m = parse(
        "-- +migrate Up\n-- +migrate StatementBegin\nCREATE FUNCTION g() RETURNS int AS '\n"
        "  SELECT 1;\n' LANGUAGE sql;\n-- +migrate StatementEnd\nSELECT 2;\n"
    )
    assert sqls(m) == [
        "CREATE FUNCTION g() RETURNS int AS '\n  SELECT 1;\n' LANGUAGE sql;",
        "SELECT 2;",
    ]
    assert m.up.statements[0].line == 3


def test_notransaction_option_and_several_statements_on_a_line() -> None:
    m = parse(
        "-- +migrate Up notransaction\n"
        "CREATE INDEX CONCURRENTLY a ON t (x); CREATE INDEX CONCURRENTLY b ON t (y);\n"
        "-- +migrate Down notransaction\nDROP INDEX CONCURRENTLY a;\n"
    )
    assert not m.up.transactional
    assert m.down is not None and not m.down.transactional
    assert sqls(m) == [
        "CREATE INDEX CONCURRENTLY a ON t (x);",
        "CREATE INDEX CONCURRENTLY b ON t (y);",
    ]
    assert m.up.statements[1].first_col == 39


def test_text_before_the_first_marker_is_ignored_as_in_sql_migrate() -> None:
    m = parse(
        "-- header\nnot sql at all\n-- +migrate Up\n-- a comment; with a semicolon\nSELECT 1;\n"
    )
    assert sqls(m) == ["SELECT 1;"]
    assert m.down is None


def test_up_section_with_only_comments_is_allowed() -> None:
    m = parse("-- +migrate Up\n-- nothing yet\n-- +migrate Down\n")
    assert m.up.statements == () and m.down is not None


def test_locate_maps_a_position_back_to_file_line_and_column() -> None:
    m = parse("-- +migrate Up\nSELECT 1;   SELECT\n  nope\n  FROM t;\n")
    second = m.up.statements[1]
    assert second.sql == "SELECT\n  nope\n  FROM t;"
    assert second.locate(1) == (2, 13)
    assert second.locate(second.sql.index("nope") + 1) == (3, 3)


def test_crlf_files_parse_and_checksum_like_lf() -> None:
    lf = "-- +migrate Up\nSELECT 1;\n-- +migrate Down\nSELECT 2;\n"
    crlf = lf.replace("\n", "\r\n")
    assert sqls(parse(crlf)) == ["SELECT 1;"]
    assert sqls(parse("\ufeff" + lf)) == ["SELECT 1;"]
    assert (
        checksum(lf) == checksum(crlf) == checksum(lf + "\n\n") == checksum(lf.replace(";", "; "))
    )
    assert checksum(lf) != checksum(lf.replace("1", "3"))


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("CREATE TABLE a (id int);\n", 1, "has no Up section"),
        ("-- +migrate Down\nDROP TABLE a;\n", 1, "has a Down section but no Up section"),
        ("-- +migrate up\nSELECT 1;\n", 1, "unknown migration directive"),
        ("-- +migrate Up\nSELECT 1;\n-- +migrate down\nSELECT 2;\n", 3, "unknown migration"),
        ("-- +migrate Up\nSELECT 1;\n-- +migrate Sideways\n", 3, "unknown migration directive"),
        ("-- +migrate Up\n-- +migrate statementbegin\n", 2, "unknown migration directive"),
        ("--  +migrate Up\nSELECT 1;\n", 1, "malformed migration marker"),
        (" -- +migrate Up\nSELECT 1;\n", 1, "malformed migration marker"),
        ("--+migrate Up\nSELECT 1;\n", 1, "malformed migration marker"),
        ("-- + migrate Up\nSELECT 1;\n", 1, "malformed migration marker"),
        ("-- +Migrate Up\nSELECT 1;\n", 1, "malformed migration marker"),
        ("-- +migrateUp\nSELECT 1;\n", 1, "malformed migration marker"),
        ("-- +migrate Up\nSELECT 1;\n-- +goose Down\n", 3, "of another format"),
        ("-- +migrate Up notx\nSELECT 1;\n", 1, "unknown option"),
        ("-- +migrate Up\n-- +migrate StatementBegin\nSELECT 1;\n", 2, "never closed"),
        (
            "-- +migrate Up\n-- +migrate StatementBegin\nSELECT 1;\n-- +migrate Down\nSELECT 2;\n",
            2,
            "never closed",
        ),
        ("-- +migrate Up\nSELECT 1;\n-- +migrate StatementEnd\n", 3, "without a StatementBegin"),
        ("-- +migrate StatementBegin\n-- +migrate Up\n", 1, "before any Up or Down"),
        ("-- +goose Up\nSELECT 1;\n-- +goose Up\nSELECT 2;\n", 3, "a second"),
        ("-- +migrate Up\nSELECT 1;\nSELECT 2\n-- +migrate Down\n", 3, "terminating semicolon"),
        ("-- +migrate Up\nSELECT 1\n", 2, "terminating semicolon"),
        ("-- +migrate Up\nSELECT 'abc;\n", 2, "string literal"),
        ("-- +migrate Up\nSELECT 1;\nSELECT $x$ body;\n", 3, "dollar quote"),
        ("-- +migrate Up\nSELECT /* open ;\n", 2, "block comment"),
    ],
)
def test_malformed_files_are_rejected_with_file_line_and_hint(
    text: str, line: int, needle: str
) -> None:
    with pytest.raises(MigrationParseError) as caught:
        parse(text)
    assert caught.value.message.startswith(f"{NAME.name}:{line}: "), caught.value.message
    assert needle in caught.value.message
    assert caught.value.hint


@pytest.mark.parametrize(
    ("text", "line", "command"),
    [
        ("-- +migrate Up\nCREATE TABLE a (id int);\n\\i other.sql\n", 3, "\\i other.sql"),
        ("-- +migrate Up\n\\set ON_ERROR_STOP on\nCREATE TABLE a (id int);\n", 2, "\\set ON_"),
        ("-- +migrate Up\nSELECT 1;\n-- +migrate Down\n  -- why\n  \\c other\n", 5, "\\c other"),
        ("-- +goose Up\n\\ir setup.sql\n", 2, "\\ir setup.sql"),
    ],
)
def test_a_psql_meta_command_is_named_as_one_not_as_a_missing_semicolon(
    text: str, line: int, command: str
) -> None:
    with pytest.raises(MigrationParseError) as caught:
        parse(text)
    message = caught.value.message
    assert message.startswith(f"{NAME.name}:{line}: psql meta-command `{command}"), message
    assert "is not SQL" in message and "semicolon" not in message
    assert "devdb sends SQL to the server, without psql" in caught.value.hint


def test_mis_cased_directive_hint_names_the_right_spelling() -> None:
    with pytest.raises(MigrationParseError) as caught:
        parse("-- +migrate up\nSELECT 1;\n")
    assert "`-- +migrate Up`" in caught.value.hint


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("1_init.sql", "1"),
        ("0003_add_index.sql", "0003"),
        ("20240105090600_Add_Quoted_Names.sql", "20240105090600"),
        ("2023-10-16.0.add-wallets.sql", "2023-10-16.0.add-wallets"),
        ("x.sql", "x"),
    ],
)
def test_every_sql_file_name_has_a_version(name: str, version: str) -> None:
    assert split_filename(Path(name))[0] == version


def test_split_reports_an_unterminated_last_statement() -> None:
    result = split("SELECT 1; SELECT 2")
    assert result.spans == [(0, 9)] and result.tail == (10, 18)


def test_the_demo_migrations_parse(tmp_path: Path) -> None:
    from tests.conftest import make_project

    settings = make_project(tmp_path / "p", with_demo=True)
    migrations = load_migrations(settings)
    assert len(migrations) >= 8
    assert any(not m.up.transactional for m in migrations)
    assert all(m.down is not None and m.down.statements for m in migrations)
    digest = files_digest(settings)
    path = new_migration(settings, "Add things")
    assert path.name.endswith("_add_things.sql")
    assert files_digest(settings) != digest
    assert load_migrations(settings)[-1].path == path


def test_duplicate_versions_are_rejected(tmp_path: Path) -> None:
    from tests.conftest import make_project

    settings = make_project(tmp_path / "p")
    settings.migrations_dir.mkdir()
    for name in ("20250101000000_a.sql", "20250101000000_b.sql"):
        (settings.migrations_dir / name).write_text("-- +migrate Up\nSELECT 1;\n")
    with pytest.raises(MigrationParseError, match="share the version"):
        load_migrations(settings)


def test_leading_comments_are_sent_as_psql_sends_them() -> None:
    """psql drops leading whitespace and ``--`` comments, and sends a leading block comment."""
    m = parse("-- +migrate Up\n-- a\nSELECT 1; /* a /* nested */ one */\n--x\nSELECT 2;\n")
    assert sqls(m) == ["SELECT 1;", "/* a /* nested */ one */\n--x\nSELECT 2;"]
    assert [s.line for s in m.up.statements] == [3, 3]


@pytest.mark.parametrize(
    ("body", "word", "line"),
    [
        ("CREATE TABLE a (id int);\nCOMMIT;\nSELECT 1/0;\n", "COMMIT", 3),
        ("BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n", "BEGIN", 2),
        ("rollback;\nCREATE TABLE a (id int);\n", "ROLLBACK", 2),
        ("CREATE TABLE a (id int);\n/* done */ end;\n", "END", 3),
        ("start  transaction;\n", "START TRANSACTION", 2),
        ("abort;\n", "ABORT", 2),
        ("PREPARE TRANSACTION 'x';\n", "PREPARE TRANSACTION", 2),
    ],
)
def test_transaction_control_in_a_transactional_section_is_refused(
    body: str, word: str, line: int
) -> None:
    """A COMMIT would leave what ran before it applied and unrecorded when a later statement
    fails (devdb said nothing was applied); a ROLLBACK would run the rest outside any
    transaction. Refused before anything runs, naming the line."""
    with pytest.raises(MigrationParseError) as err:
        parse(f"-- +migrate Up\n{body}")
    text = err.value.render()
    assert f"{NAME}:{line}: {word} in a section that runs in a transaction" in text, text
    assert "notransaction" in text


def test_savepoints_function_bodies_and_notransaction_sections_keep_their_statements() -> None:
    m = parse(
        "-- +migrate Up\nSAVEPOINT s;\nCREATE TABLE a (id int);\nROLLBACK TO SAVEPOINT s;\n"
        "RELEASE SAVEPOINT s;\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\n"
        "BEGIN\n  RETURN 1;\nEND;\n$$;\nDO $$ BEGIN COMMIT; END $$;\n"
        "-- +migrate Down notransaction\nBEGIN;\nDROP TABLE a;\nCOMMIT;\n"
    )
    assert len(m.up.statements) == 6
    assert sqls(m, "down") == ["BEGIN;", "DROP TABLE a;", "COMMIT;"]
