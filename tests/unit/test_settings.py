from __future__ import annotations

from pathlib import Path

import pytest

from devdb.errors import ConfigError
from devdb.settings import VARIABLES, load_settings

REPO = Path(__file__).resolve().parents[2]


def _root(tmp_path: Path) -> Path:
    (tmp_path / "tasks.py").write_text("")
    return tmp_path


def test_defaults(tmp_path: Path) -> None:
    s = load_settings(root=_root(tmp_path), environ={})
    assert s.backend == "auto"
    assert s.user == "postgres"
    assert s.migrations_dir == tmp_path / "migrations"
    assert s.database == s.project.replace("-", "_")


def test_precedence_dotenv_env_flags(tmp_path: Path) -> None:
    root = _root(tmp_path)
    (root / ".env").write_text("DEVDB_PORT=6000\nDEVDB_USER=fromdotenv\nDEVDB_DATABASE=dotdb\n")
    s = load_settings(root=root, environ={"DEVDB_PORT": "6001", "DEVDB_DATABASE": "envdb"})
    assert (s.port, s.user, s.database) == (6001, "fromdotenv", "envdb")
    s = load_settings(root=root, environ={"DEVDB_PORT": "6001"}, port=6002)
    assert s.port == 6002


def test_dotenv_does_not_touch_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _root(tmp_path)
    (root / ".env").write_text("DEVDB_SOMETHING_NEW=1\nDEVDB_USER=x\n")
    monkeypatch.delenv("DEVDB_SOMETHING_NEW", raising=False)
    load_settings(root=root)
    import os

    assert "DEVDB_SOMETHING_NEW" not in os.environ


def test_settings_are_frozen(tmp_path: Path) -> None:
    s = load_settings(root=_root(tmp_path), environ={})
    with pytest.raises(AttributeError):
        s.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"DEVDB_BACKEND": "podman"}, "DEVDB_BACKEND"),
        ({"DEVDB_PORT": "abc"}, "DEVDB_PORT"),
        ({"DEVDB_PORT": "70000"}, "DEVDB_PORT"),
        ({"DEVDB_BACKEND": "external"}, "DATABASE_URL"),
        ({"DEVDB_DURABLE": "maybe"}, "DEVDB_DURABLE"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(root=_root(tmp_path), environ=env)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_root_is_found_from_a_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _root(tmp_path)
    sub = root / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert load_settings(environ={}).root == root.resolve()


def test_two_projects_get_different_names_and_ports(tmp_path: Path) -> None:
    roots = [tmp_path / "x" / "app", tmp_path / "y" / "app"]
    for root in roots:
        root.mkdir(parents=True)
    a, b = (load_settings(root=_root(r), environ={}) for r in roots)
    assert a.project == b.project == "app"
    assert a.compose_project != b.compose_project
    assert a.default_port != b.default_port


def test_readme_lists_every_variable() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [v.env for v in VARIABLES if f"`{v.env}`" not in readme]
    assert not missing, f"README.md does not document {missing}"


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"DEVDB_SCALE": "nan"}, "DEVDB_SCALE"),
        ({"DEVDB_SCALE": "inf"}, "DEVDB_SCALE"),
        ({"DEVDB_SCALE": "-1"}, "DEVDB_SCALE"),
        ({"DEVDB_LOCK_TIMEOUT": "5 seconds"}, "DEVDB_LOCK_TIMEOUT"),
        ({"DEVDB_LOCK_TIMEOUT": "5s; DROP TABLE x"}, "DEVDB_LOCK_TIMEOUT"),
        ({"DEVDB_STATEMENT_TIMEOUT": "-3s"}, "DEVDB_STATEMENT_TIMEOUT"),
        ({"DEVDB_READY_TIMEOUT": "nan"}, "DEVDB_READY_TIMEOUT"),
    ],
)
def test_bad_numbers_and_durations_are_one_error(
    tmp_path: Path, env: dict[str, str], needle: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(root=_root(tmp_path), environ=env)
    assert needle in err.value.message
    assert "\n" not in err.value.message


def test_durations_postgres_accepts_are_kept(tmp_path: Path) -> None:
    for value in ("5s", "500ms", "2min", "0", "1.5h"):
        s = load_settings(root=_root(tmp_path), environ={"DEVDB_LOCK_TIMEOUT": value})
        assert s.lock_timeout == value


def test_invalid_utf8_dotenv_names_file_and_line(tmp_path: Path) -> None:
    root = _root(tmp_path)
    (root / ".env").write_bytes(b"DEVDB_USER=ok\nDEVDB_DATABASE=caf\xe9\n")
    with pytest.raises(ConfigError) as err:
        load_settings(root=root, environ={})
    assert ".env" in err.value.message and "line 2" in err.value.message
    assert "UTF-8" in err.value.hint


def test_invoke_config_is_a_layer_below_dotenv_and_environment(tmp_path: Path) -> None:
    root = _root(tmp_path)
    config = {"backend": "native", "profile": "demo", "DEVDB_SCALE": 2, "durable": True}
    s = load_settings(root=root, environ={}, config=config)
    assert (s.backend, s.profile, s.scale, s.durable) == ("native", "demo", 2.0, True)
    (root / ".env").write_text("DEVDB_PROFILE=test\n")
    s = load_settings(root=root, environ={"DEVDB_SCALE": "3"}, config=config)
    assert (s.profile, s.scale) == ("test", 3.0)
    with pytest.raises(ConfigError, match="'bakend'"):
        load_settings(root=root, environ={}, config={"bakend": "native"})
