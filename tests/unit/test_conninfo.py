from __future__ import annotations

import pytest

from devdb.conninfo import ConnInfo, parse_url, redact
from devdb.errors import ConfigError


def test_url_hides_password_unless_asked() -> None:
    info = ConnInfo("127.0.0.1", 5432, "devdb", "s3cretpassword", "app")
    assert "s3cretpassword" not in info.url()
    assert info.url(show_password=True) == "postgresql://devdb:s3cretpassword@127.0.0.1:5432/app"


def test_parse_url_round_trip_with_special_characters() -> None:
    info = parse_url("postgresql://u%40x:p%2Fw@db.example.com:6543/my_db")
    assert (info.user, info.password, info.host, info.port, info.dbname) == (
        "u@x",
        "p/w",
        "db.example.com",
        6543,
        "my_db",
    )
    assert parse_url(info.url(show_password=True)) == info
    assert not info.is_loopback


def test_parse_url_rejects_other_schemes() -> None:
    with pytest.raises(ConfigError, match="postgresql://"):
        parse_url("mysql://root:toor@localhost/db")


def test_redact_masks_foreign_urls() -> None:
    assert "hunter2hunter2" not in redact("postgresql://u:hunter2hunter2@h/db")
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"
