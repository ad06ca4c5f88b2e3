"""``db.url --role app`` is the application role's URL whatever DEVDB_APP_ROLE names it (the
README, ``.env.example`` and the task's help all say ``--role app``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_project

from devdb.conninfo import parse_url
from devdb.errors import ConfigError
from devdb.roles import conninfo_for_role

OWNER = parse_url("postgresql://postgres:pw@127.0.0.1:5432/shop", environ={})


@pytest.mark.parametrize("flag", ["app", "web", "shop_web"])
def test_role_app_is_the_application_role_whatever_its_setting(tmp_path: Path, flag: str) -> None:
    settings = make_project(tmp_path / "shop", database="shop", app_role="web")
    info = conninfo_for_role(settings, OWNER, flag)
    assert (info.user, info.dbname) == ("shop_web", "shop")
    assert info.password and info.password != "pw"


def test_role_owner_and_unknown_roles(tmp_path: Path) -> None:
    settings = make_project(tmp_path / "shop", database="shop", app_role="web")
    assert conninfo_for_role(settings, OWNER, "owner") == OWNER
    assert conninfo_for_role(settings, OWNER, None) == OWNER
    with pytest.raises(ConfigError) as err:
        conninfo_for_role(settings, OWNER, "admin")
    assert "--role app (the application role, shop_web)" in err.value.render()
