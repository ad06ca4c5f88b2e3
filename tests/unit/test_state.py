"""Which owner passwords devdb generated (devdb.state): only those get cheap logins."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from devdb.state import PASSWORD_FILE, owner_password, owner_password_generated
from tests.conftest import make_project


def test_a_generated_password_is_known_as_generated(tmp_path: Path) -> None:
    settings = make_project(tmp_path / "proj")
    password = owner_password(settings)
    assert len(password) >= 24
    assert owner_password_generated(settings)
    assert owner_password(settings) == password  # read back, not made again
    assert owner_password_generated(settings)


def test_a_password_written_by_hand_or_set_in_the_environment_is_not(tmp_path: Path) -> None:
    settings = make_project(tmp_path / "proj")
    owner_password(settings)
    assert not owner_password_generated(dataclasses.replace(settings, password="chosen"))
    (settings.state_dir / PASSWORD_FILE).write_text("hunter2\n")
    assert not owner_password_generated(settings)


def test_a_password_file_from_before_the_record_is_not(tmp_path: Path) -> None:
    settings = make_project(tmp_path / "proj")
    settings.state_dir.mkdir(parents=True)
    (settings.state_dir / PASSWORD_FILE).write_text("written-by-an-older-devdb\n")
    assert owner_password(settings) == "written-by-an-older-devdb"
    assert not owner_password_generated(settings)
