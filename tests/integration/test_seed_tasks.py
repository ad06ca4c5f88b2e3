"""The db.seed and db.seed.status tasks, run as a user runs them (`invoke ...` in a project)."""

from __future__ import annotations

import json
import shutil

from devdb.conninfo import parse_url
from devdb.migrations import migrate
from devdb.settings import Settings
from tests.conftest import run_invoke


def test_seed_then_status_then_skip(project_on_server: Settings) -> None:
    settings = project_on_server
    assert settings.database_url
    migrate(settings, parse_url(settings.database_url))

    stale = run_invoke(settings, "db.seed.status", "--profile", "test", "--json")
    assert stale.returncode == 0, stale.stderr
    doc = json.loads(stale.stdout)
    assert {s["state"] for s in doc["seeds"]} == {"stale"}
    assert doc["seeds"][0]["reason"] == "never loaded"

    first = run_invoke(settings, "db.seed", "--profile", "test")
    assert first.returncode == 0, first.stderr
    assert "user.users 7 rows (+6" in first.stderr  # six seeded, one from the .sql seed
    assert "seeded 7 of 7 seed(s), profile test" in first.stderr

    loaded = json.loads(
        run_invoke(settings, "db.seed.status", "--profile", "test", "--json").stdout
    )
    users = next(s for s in loaded["seeds"] if s["name"] == "users")
    assert (users["state"], users["rows"], users["current_rows"]) == (
        "loaded",
        {"user.users": 7},
        {"user.users": 7},
    )
    assert users["digest"] == users["loaded_digest"]

    again = run_invoke(settings, "db.seed", "--profile", "test", "--json")
    assert again.returncode == 0, again.stderr
    assert {s["status"] for s in json.loads(again.stdout)["seeds"]} == {"skipped"}

    other = run_invoke(settings, "db.seed.status", "--profile", "demo")
    assert other.returncode == 0, other.stderr
    assert "stale" in other.stdout  # another profile is another digest


def test_seed_errors_are_one_line_and_exit_1(project_on_server: Settings) -> None:
    bad = run_invoke(project_on_server, "db.seed", "--profile", "test", "--only", "nope")
    assert bad.returncode == 1
    assert bad.stderr.startswith("Error: no seed named 'nope'")
    assert "Hint: Seeds in this project: organizations, users" in bad.stderr
    scale = run_invoke(project_on_server, "db.seed", "--scale", "lots")
    assert scale.returncode == 1 and "--scale must be a number" in scale.stderr


def test_a_seeds_folder_named_but_missing_is_an_error_the_default_one_is_not(
    project_on_server: Settings,
) -> None:
    settings = project_on_server
    assert settings.database_url
    migrate(settings, parse_url(settings.database_url))
    typo = run_invoke(settings, "db.seed", "--profile", "test", extra={"DEVDB_SEEDS_DIR": "nope"})
    assert typo.returncode == 1, typo.stderr
    assert typo.stderr.startswith("Error: DEVDB_SEEDS_DIR: the seeds folder "), typo.stderr
    assert "nope does not exist" in typo.stderr and "Hint: Create it" in typo.stderr
    assert "Traceback" not in typo.stderr

    shutil.rmtree(settings.seeds_dir)  # a project without seeds/: nothing to load, not an error
    none = run_invoke(settings, "db.seed", "--profile", "test")
    assert none.returncode == 0, none.stderr
    assert "seeded 0 of 0 seed(s)" in none.stderr, none.stderr
