"""Byte-exact statements, PostgreSQL's own splitting, exact positions, several sections, the goose
and dbmate formats, file names and order, and unreadable files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devdb.errors import MigrationError, MigrationParseError
from devdb.migrations.files import load_migrations, migration_paths, new_migration
from devdb.migrations.parse import Migration, parse_file, parse_text

NAME = Path("20250101000000_things.sql")


def parse(text: str) -> Migration:
    return parse_text(text, NAME)


def sqls(m: Migration, direction: str = "up") -> list[str]:
    section = m.up if direction == "up" else m.down
    assert section is not None
    return [s.sql for s in section.statements]


def test_statements_are_the_exact_text_of_the_file() -> None:
    body = (
        "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $fn$\n"
        "-- a comment line inside the body   \n"
        "SELECT 'trailing spaces   '\n"
        "$fn$;"
    )
    literal = "INSERT INTO t VALUES ('line one  \n-- not a comment\nend');"
    m = parse(f"-- +migrate Up\n{body}\n{literal}\r\nSELECT 1;\n")
    assert sqls(m) == [body, literal, "SELECT 1;"]


@pytest.mark.parametrize(
    ("sql", "count"),
    [
        (
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n"
            "  SELECT CASE WHEN true THEN 2 END;\nEND;",
            1,
        ),
        ("CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); DELETE FROM b);", 1),
        ("SELECT 1 /* a ; /* nested ; */ still ; */ + 1;", 1),
        ("SELECT E'it\\'s; fine', 'x'';y';", 1),
        ("SELECT $tag$ ; $notag$ ; $tag$;", 1),
        ('SELECT 1 AS "a;b";', 1),
        ("SELECT 1; -- psql-style ; comment\nSELECT 2;", 2),
        ("SELECT 1;;; SELECT 2;", 2),
    ],
)
def test_splitting_agrees_with_postgresql(sql: str, count: int) -> None:
    m = parse(f"-- +migrate Up\n{sql}\n")
    assert len(m.up.statements) == count
    assert m.up.statements[0].sql.startswith("SELECT") or count == 1


def test_standard_conforming_strings_off_is_followed() -> None:
    m = parse(
        "-- +migrate Up\nSET standard_conforming_strings = off;\nINSERT INTO t VALUES ('a\\'; b');"
        "\nRESET standard_conforming_strings;\nSELECT 'c\\'; SELECT 2;\n"
    )
    assert sqls(m)[1] == "INSERT INTO t VALUES ('a\\'; b');"
    assert sqls(m)[3:] == ["SELECT 'c\\';", "SELECT 2;"]


def test_a_syntax_error_still_splits_like_psql() -> None:
    m = parse(
        "-- +migrate Up\nSELEC 1;\nCREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\n"
        "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); DELETE FROM b);\n"
    )
    assert [s.line for s in m.up.statements] == [2, 3, 4]


def test_positions_count_blank_lines_and_columns_before_the_statement() -> None:
    m = parse("\n\n-- header\n-- +migrate Up\n\n  SELECT 1;   SELECT\n  nope,\n  ünï FROM t;\n")
    second = m.up.statements[1]
    assert (m.up.statements[0].line, m.up.statements[0].first_col) == (6, 3)
    assert (second.line, second.first_col) == (6, 15)
    assert second.locate(second.sql.index("nope") + 1) == (7, 3)
    assert second.locate(second.sql.index("FROM") + 1) == (8, 7)


def test_several_up_and_down_sections_run_in_file_order_as_in_sql_migrate() -> None:
    m = parse(
        "-- +migrate Up\nCREATE TABLE a ();\n-- +migrate Down\nDROP TABLE a;\n"
        "-- +migrate Up notransaction\nCREATE TABLE b ();\n-- +migrate Down\nDROP TABLE b;\n"
    )
    assert sqls(m) == ["CREATE TABLE a ();", "CREATE TABLE b ();"]
    assert sqls(m, "down") == ["DROP TABLE a;", "DROP TABLE b;"]
    assert not m.up.transactional
    assert m.down is not None and m.down.transactional


def test_goose_files_are_read_by_goose_rules() -> None:
    m = parse(
        "-- +goose NO TRANSACTION\n-- +goose Up\n-- +goose StatementBegin\n"
        "CREATE FUNCTION g() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n"
        "-- +goose StatementEnd\nCREATE INDEX CONCURRENTLY i ON t (x);\n"
        "-- +goose   DOWN \nDROP INDEX CONCURRENTLY i;\nDROP FUNCTION g;\n"
    )
    assert m.format == "goose"
    assert sqls(m) == [
        "CREATE FUNCTION g() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;",
        "CREATE INDEX CONCURRENTLY i ON t (x);",
    ]
    assert sqls(m, "down") == ["DROP INDEX CONCURRENTLY i;", "DROP FUNCTION g;"]
    assert not m.up.transactional and m.down is not None and not m.down.transactional


def test_dbmate_files_are_read_by_dbmate_rules() -> None:
    m = parse(
        "-- a comment\n-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (x)\n\n"
        "-- migrate:down\nDROP INDEX i;\nDROP TABLE t\n"
    )
    assert m.format == "dbmate"
    assert sqls(m) == ["CREATE INDEX CONCURRENTLY i ON t (x)"]
    assert sqls(m, "down") == ["DROP INDEX i;", "DROP TABLE t"]
    assert not m.up.transactional and m.down is not None and m.down.transactional


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("CREATE TABLE a ();\n-- migrate:up\nSELECT 1;\n-- migrate:down\n", 1, "SQL before"),
        ("-- migrate:up\nSELECT 1;\n", 1, "no `-- migrate:down`"),
        ("-- migrate:down\nSELECT 1;\n-- migrate:up\n", 1, "before `-- migrate:up`"),
        ("-- migrate:up transaction:maybe\n-- migrate:down\n", 1, "unknown option"),
        ("-- Migrate:Up\n-- migrate:down\n", 1, "malformed dbmate directive"),
        ("-- +goose Down\nSELECT 1;\n", 1, "before the Up"),
        ("\t-- +goose Up\nSELECT 1;\n", 1, "malformed goose annotation"),
        ("-- +goose Up\n-- +goose ENVSUB ON\n", 2, "does not substitute"),
        ("-- +goose Up\n-- +goose Sideways\n", 2, "unknown goose annotation"),
        ("-- +goose Up\nALTER TABLE post\n-- +goose Down\n", 2, "terminating semicolon"),
    ],
)
def test_goose_and_dbmate_mistakes_are_errors(text: str, line: int, needle: str) -> None:
    with pytest.raises(MigrationParseError) as caught:
        parse(text)
    assert caught.value.message.startswith(f"{NAME.name}:{line}: "), caught.value.message
    assert needle in caught.value.message and caught.value.hint


def test_a_marker_with_a_leading_space_is_quoted_as_written() -> None:
    with pytest.raises(MigrationParseError) as caught:
        parse(" -- +migrate Up\nSELECT 1;\n")
    assert "' -- +migrate Up'" in caught.value.message


def _folder(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name in names:
        (folder / name).write_text("-- +migrate Up\nSELECT 1;\n")
    return folder


def test_files_are_ordered_as_sql_migrate_orders_them(tmp_path: Path) -> None:
    from tests.conftest import make_project

    names = ["10_b.sql", "2_a.sql", "2023-10-16.0.add-wallets.sql", "0003_c.sql", "zz.sql"]
    settings = make_project(tmp_path / "p")
    _folder(settings.root, names)
    assert [p.name for p in migration_paths(settings)] == [
        "2_a.sql",
        "0003_c.sql",
        "10_b.sql",
        "2023-10-16.0.add-wallets.sql",
        "zz.sql",
    ]
    assert [m.version for m in load_migrations(settings)][:3] == ["2", "0003", "10"]


def test_the_same_version_number_twice_is_an_error(tmp_path: Path) -> None:
    from tests.conftest import make_project

    settings = make_project(tmp_path / "p")
    _folder(settings.root, ["3_a.sql", "0003_b.sql"])
    with pytest.raises(MigrationParseError, match="share the version"):
        load_migrations(settings)


def test_binary_non_utf8_and_unreadable_files_are_one_error(tmp_path: Path) -> None:
    binary = tmp_path / "1_binary.sql"
    binary.write_bytes(b"-- +migrate Up\nSELECT 1;\x00\x01\n")
    latin = tmp_path / "2_latin.sql"
    latin.write_bytes(b"-- +migrate Up\nSELECT 'caf\xe9';\n")
    with pytest.raises(MigrationParseError, match="a binary file"):
        parse_file(binary)
    with pytest.raises(MigrationParseError, match=r"2_latin.sql:2: not UTF-8"):
        parse_file(latin)
    if os.geteuid() != 0:  # root reads any file
        latin.chmod(0)
        with pytest.raises(MigrationParseError, match="cannot read"):
            parse_file(latin)
    with pytest.raises(MigrationParseError, match="cannot read"):
        parse_file(tmp_path / "3_gone.sql")


def test_a_very_long_migration_name_is_refused(tmp_path: Path) -> None:
    from tests.conftest import make_project

    settings = make_project(tmp_path / "p")
    with pytest.raises(MigrationError, match="300 characters long") as caught:
        new_migration(settings, "x" * 300)
    assert caught.value.hint
    assert not settings.migrations_dir.exists() or not list(settings.migrations_dir.iterdir())


def test_remembered_splits_give_the_same_migrations(tmp_path: Path) -> None:
    from tests.conftest import make_project

    settings = make_project(tmp_path / "p")
    folder = _folder(settings.root, ["1_a.sql"])
    (folder / "2_b.sql").write_text(
        "\n-- +goose Up\nSELECT 'x;\n y';  SELECT 2;\n-- +goose StatementBegin\nSELECT 3;\n"
        "-- +goose StatementEnd\n-- +goose Down\nSELECT 4;\n"
    )
    fresh = load_migrations(settings)
    cache = settings.state_dir / "migration-splits.json"
    assert cache.is_file()
    remembered = load_migrations(settings)
    assert remembered == fresh
    assert [(s.sql, s.line, s.first_col) for s in remembered[1].up.statements] == [
        ("SELECT 'x;\n y';", 3, 1),
        ("SELECT 2;", 4, 7),
        ("SELECT 3;", 6, 1),
    ]
    cache.write_text("{not json")
    assert load_migrations(settings) == fresh
    (folder / "1_a.sql").write_text("-- +migrate Up\nSELECT 1\n")  # a changed byte: parsed again
    with pytest.raises(MigrationParseError, match="terminating semicolon"):
        load_migrations(settings)


def test_a_comment_that_mentions_migrate_is_only_a_comment() -> None:
    m = parse(
        "-- migrate: this file was moved from goose\n-- +migrate Up\n"
        "-- migrate:later is not a marker either\nSELECT 1;\n"
    )
    assert m.format == "sql-migrate" and sqls(m) == ["SELECT 1;"]
