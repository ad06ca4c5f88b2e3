"""`devdb init`: what it writes, what it never overwrites, and that its templates stay true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devdb import __version__, cli, scaffold
from devdb.migrator.detect import is_example

MIGRATION_NAME = re.compile(r"^\d{14}_[a-z0-9_]+\.sql$")  # YYYYMMDDHHMMSS_verb_description.sql
REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "devdb" / "templates" / "project"


def test_compose_template_is_the_repository_compose_file() -> None:
    # One source of truth for the container: the template is a copy, kept identical.
    template = TEMPLATES / "compose" / "compose.yaml"
    assert template.read_bytes() == (REPO / "compose" / "compose.yaml").read_bytes()


def test_init_writes_the_layout(tmp_path: Path) -> None:
    result = scaffold.init_project(tmp_path / "proj", cwd=tmp_path)
    root = tmp_path / "proj"
    assert (root / "tasks.py").read_text() == "from devdb.tasks import ns\nnamespace = ns\n"
    assert (root / "compose" / "compose.yaml").is_file()
    assert (root / ".env.example").is_file()
    migrations = sorted((root / "migrations").glob("*.sql"))
    assert len(migrations) == 1
    assert MIGRATION_NAME.match(migrations[0].name)
    text = migrations[0].read_text()
    assert "-- +migrate Up" in text
    assert "-- +migrate Down" in text
    assert "update_updated_at_column()" in text
    assert "CREATE SCHEMA" in text
    assert "CREATE TABLE" in text
    assert list((root / "queries").glob("*.sql"))
    assert result.skipped == ()
    assert set(result.written) == set(scaffold.template_files())
    assert result.next_commands == ("cd proj && invoke db.setup", "invoke db.url --role app")


def test_template_migration_and_query_parse() -> None:
    from devdb.explain.queries import parse_query
    from devdb.migrations.parse import parse_file

    (migration,) = (TEMPLATES / "migrations").glob("*.sql")
    parsed = parse_file(migration)
    assert len(parsed.up.statements) == 4
    assert parsed.down is not None
    assert len(parsed.down.statements) == 3
    (query,) = (TEMPLATES / "queries").glob("*.sql")
    assert parse_query(query).params


def test_init_never_overwrites_and_lists_what_it_skipped(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text("# mine\n")
    result = scaffold.init_project(tmp_path, cwd=tmp_path)
    assert result.skipped == ("tasks.py",)
    assert "tasks.py" not in result.written
    assert (tmp_path / "tasks.py").read_text() == "# mine\n"
    assert "from devdb.tasks import ns" in result.notes[0]
    again = scaffold.init_project(tmp_path, cwd=tmp_path)
    assert again.written == ()
    assert set(again.skipped) == set(scaffold.template_files())
    assert again.next_commands[0] == "invoke db.setup"
    (tmp_path / "tasks.py").write_text("from devdb.tasks import ns\nnamespace = ns\n")
    assert scaffold.init_project(tmp_path).notes == ()


def test_init_beside_migrations_of_your_own_writes_no_example(tmp_path: Path) -> None:
    """The example migration would create catalog.products in your schema (and its seed and
    query need it): a migrations/ folder with SQL files of yours gets none of the three."""
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "1_init.sql").write_text("-- +migrate Up\nSELECT 1;\n")
    result = scaffold.init_project(tmp_path, cwd=tmp_path)
    assert not [rel for rel in result.written if is_example(rel)], result.written
    assert "tasks.py" in result.written and ".env.example" in result.written
    assert sorted(p.name for p in (tmp_path / "migrations").iterdir()) == ["1_init.sql"]
    assert not (tmp_path / "seeds").exists() and not (tmp_path / "queries").exists()
    assert any("1 migration(s) of yours" in note for note in result.notes), result.notes


def test_force_overwrites(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text("# mine\n")
    result = scaffold.init_project(tmp_path, force=True)
    assert "tasks.py" in result.written
    assert result.skipped == ()
    assert (tmp_path / "tasks.py").read_text().startswith("from devdb.tasks import ns")


def test_gitignore_gets_only_missing_entries_once(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules\n/.devdb\n.env")  # no final newline
    first = scaffold.init_project(tmp_path)
    assert ".devdb/" not in first.gitignore_added
    assert ".env" not in first.gitignore_added
    assert "reports/" in first.gitignore_added
    text = (tmp_path / ".gitignore").read_text()
    assert text.startswith("node_modules\n/.devdb\n.env\n")
    assert text.count("reports/") == 1
    second = scaffold.init_project(tmp_path, force=True)
    assert second.gitignore_added == ()
    assert (tmp_path / ".gitignore").read_text() == text


def test_gitignore_created_when_missing(tmp_path: Path) -> None:
    scaffold.init_project(tmp_path)
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    for entry in scaffold.gitignore_entries():
        assert entry in lines
    assert ".devdb/" in lines
    assert ".env" in lines


def test_gitignore_template_matches_repository_gitignore() -> None:
    # What devdb asks a project to ignore is what this repository ignores.
    ours = {line.strip() for line in (REPO / ".gitignore").read_text().splitlines()}
    assert set(scaffold.gitignore_entries()) <= ours


def test_init_refuses_a_file_as_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert cli.main(["init", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ")
    assert "Hint: " in err


def test_cli_init_prints_files_and_next_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["init", "app"]) == 0
    out = capsys.readouterr().out
    assert "created  tasks.py" in out
    assert out.rstrip().endswith("cd app && invoke db.setup\n  invoke db.url --role app")
    assert cli.main(["init", "app"]) == 0
    assert "skipped  tasks.py (exists; --force overwrites)" in capsys.readouterr().out


def test_cli_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"devdb {__version__}"


def test_version_lives_only_in_the_package() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert __version__ in (REPO / "CHANGELOG.md").read_text()


def test_readme_lists_every_file_init_writes() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Adopt devdb in your project", 1)[1].split("\n## ", 1)[0]
    missing = [rel for rel in scaffold.template_files() if f"`{rel}`" not in section]
    assert not missing, f"README's adopt section does not list {missing}"
    assert "`.gitignore`" in section


def test_invoke_task_db_init(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "tasks.py").write_text("from devdb.tasks import ns\nnamespace = ns\n")
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "db.init", "--path", "svc"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "created  tasks.py" in result.stdout
    assert (tmp_path / "svc" / "migrations").is_dir()
    again = subprocess.run(
        [sys.executable, "-m", "invoke", "db.init", "--path", "svc/tasks.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 1
    assert again.stderr.startswith("Error: ")
