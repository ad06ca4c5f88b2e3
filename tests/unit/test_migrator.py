"""The migrator seam without a server: choosing one, digests, settings errors, masking, and
`devdb init` detecting an Alembic or Django project."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from devdb.errors import ConfigError, MigratorUnsupported
from devdb.migrator import digest, get_migrator
from devdb.migrator.base import _hide
from devdb.scaffold import init_project
from devdb.settings import Settings, load_settings
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures"


def _settings(root: Path, **env: str) -> Settings:
    (root / "tasks.py").write_text("from devdb.tasks import ns\nnamespace = ns\n")
    return load_settings(root=root, environ=env)


def _copy(fixture: str, dest: Path) -> Path:
    shutil.copytree(FIXTURES / fixture, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def test_sql_is_the_default_and_digests_the_migration_files(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert get_migrator(settings).name == "sql"
    (tmp_path / "migrations").mkdir()
    empty = digest(settings)
    (tmp_path / "migrations" / "20250101000000_a.sql").write_text("-- +migrate Up\n")
    assert digest(settings) != empty
    (tmp_path / "migrations" / "notes.txt").write_text("not a migration")
    assert digest(_settings(tmp_path)) == digest(settings)


def test_an_unknown_migrator_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DEVDB_MIGRATOR is 'flyway'"):
        _settings(tmp_path, DEVDB_MIGRATOR="flyway")


def test_the_command_migrator_needs_its_command_and_inputs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs DEVDB_MIGRATE_COMMAND"):
        get_migrator(_settings(tmp_path, DEVDB_MIGRATOR="command"))
    with pytest.raises(ConfigError, match="needs DEVDB_MIGRATOR_INPUTS"):
        get_migrator(_settings(tmp_path, DEVDB_MIGRATOR="command", DEVDB_MIGRATE_COMMAND="x"))
    settings = _settings(
        tmp_path,
        DEVDB_MIGRATOR="command",
        DEVDB_MIGRATE_COMMAND="dbmate up",
        DEVDB_MIGRATOR_INPUTS="db/**/*.sql",
    )
    with pytest.raises(ConfigError, match=re.escape("'db/**/*.sql' matches no file")):
        digest(settings)
    (tmp_path / "db" / "migrations").mkdir(parents=True)
    (tmp_path / "db" / "migrations" / "1_a.sql").write_text("a")
    first = digest(settings)
    other = _settings(
        tmp_path,
        DEVDB_MIGRATOR="command",
        DEVDB_MIGRATE_COMMAND="dbmate --strict up",
        DEVDB_MIGRATOR_INPUTS="db/**/*.sql",
    )
    assert digest(other) != first  # the command line is part of the digest


def test_alembic_digest_covers_ini_env_and_versions(tmp_path: Path) -> None:
    root = _copy("alembic_project", tmp_path / "proj")
    settings = _settings(root, DEVDB_MIGRATOR="alembic")
    first = digest(settings)
    env_py = root / "alembic" / "env.py"
    env_py.write_text(env_py.read_text() + "\n# an edit\n")
    second = digest(settings)
    assert second != first
    (root / "seeds" / "010_shop.py").write_text("# seeds are not the migrator's input\n")
    assert digest(settings) == second


def test_alembic_url_keeps_the_ini_driver(tmp_path: Path) -> None:
    from devdb.conninfo import ConnInfo
    from devdb.migrator.alembic import AlembicMigrator

    root = _copy("alembic_project", tmp_path / "proj")
    migrator = AlembicMigrator(_settings(root, DEVDB_MIGRATOR="alembic"))
    url = migrator.url(ConnInfo("127.0.0.1", 5432, "me", "pw", "db"))
    assert url == "postgresql+psycopg://me:pw@127.0.0.1:5432/db"


def test_missing_tool_files_say_which_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"alembic\.ini does not exist"):
        digest(_settings(tmp_path, DEVDB_MIGRATOR="alembic"))
    with pytest.raises(ConfigError, match=r"manage\.py does not exist"):
        digest(_settings(tmp_path, DEVDB_MIGRATOR="django"))


def test_what_a_migrator_lacks_is_one_line(tmp_path: Path) -> None:
    root = _copy("django_project", tmp_path / "proj")
    migrator = get_migrator(_settings(root, DEVDB_MIGRATOR="django"))
    with pytest.raises(MigratorUnsupported, match="the django migrator cannot redo"):
        migrator.check("redo")
    migrator.check("verify")


def test_tool_output_never_shows_the_password() -> None:
    assert "s3cr/t!" not in _hide("login s3cr/t! and url x:s3cr%2Ft%21@h", "s3cr/t!")
    assert "s3cr%2Ft%21" not in _hide("url x:s3cr%2Ft%21@h", "s3cr/t!")


@pytest.mark.parametrize(
    ("fixture", "migrator"), [("alembic_project", "alembic"), ("django_project", "django")]
)
def test_init_detects_the_project_and_writes_its_settings(
    tmp_path: Path, fixture: str, migrator: str
) -> None:
    root = _copy(fixture, tmp_path / "proj")
    result = init_project(root)
    assert not (root / "migrations").exists()
    assert not any(
        rel.startswith(("migrations/", "seeds/010_products", "queries/")) for rel in result.written
    )
    assert "tasks.py" in result.written
    assert f"DEVDB_MIGRATOR={migrator}\n" in (root / ".env").read_text()
    assert f"DEVDB_MIGRATOR={migrator}\n" in (root / ".env.example").read_text()
    assert any(migrator in note for note in result.notes)
    assert load_settings(root=root, environ={}).migrator == migrator
    init_project(root)  # again: nothing is added twice
    assert (root / ".env").read_text().count("DEVDB_MIGRATOR") == 1


def test_init_without_another_tool_writes_the_example(tmp_path: Path) -> None:
    result = init_project(tmp_path)
    assert any(rel.startswith("migrations/") for rel in result.written)
    assert not (tmp_path / ".env").exists()


def test_every_migrator_has_a_docs_page_the_readme_links() -> None:
    from devdb.settings import MIGRATORS

    readme = (REPO / "README.md").read_text()
    for name in MIGRATORS:
        page = REPO / "docs" / f"migrator-{name}.md"
        assert page.is_file(), page
        assert "## Worked example" in page.read_text()
        assert f"(docs/migrator-{name}.md)" in readme


def test_an_unreadable_script_location_must_be_named(tmp_path: Path) -> None:
    root = _copy("alembic_project", tmp_path / "proj")
    ini = root / "alembic.ini"
    ini.write_text(ini.read_text().replace("%(here)s/alembic", "shop.db:migrations"))
    with pytest.raises(ConfigError, match="is not a folder devdb can read") as err:
        digest(_settings(root, DEVDB_MIGRATOR="alembic"))
    assert "DEVDB_MIGRATOR_INPUTS" in err.value.hint
    named = _settings(root, DEVDB_MIGRATOR="alembic", DEVDB_MIGRATOR_INPUTS="alembic/versions/*.py")
    assert digest(named)


def test_django_digest_covers_migrations_not_other_code(tmp_path: Path) -> None:
    root = _copy("django_project", tmp_path / "proj")
    settings = _settings(root, DEVDB_MIGRATOR="django")
    first = digest(settings)
    (root / "catalog" / "models.py").write_text("# models change; migrations did not\n")
    assert digest(settings) == first
    (root / "orders" / "migrations" / "0003_more.py").write_text("# a new migration\n")
    assert digest(settings) != first
