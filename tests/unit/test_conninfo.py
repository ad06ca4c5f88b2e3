from __future__ import annotations

from pathlib import Path

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


def test_every_libpq_parameter_is_kept_and_round_trips() -> None:
    url = (
        "postgresql://u:pw@db.example.com:6543/app?sslmode=verify-full"
        "&sslrootcert=%2Fetc%2Fca.pem&options=-c%20search_path%3Dshop&application_name=x"
        "&target_session_attrs=read-write"
    )
    info = parse_url(url, environ={})
    params = dict(info.params)
    assert params == {
        "sslmode": "verify-full",
        "sslrootcert": "/etc/ca.pem",
        "options": "-c search_path=shop",
        "application_name": "x",
        "target_session_attrs": "read-write",
    }
    assert parse_url(info.url(show_password=True), environ={}) == info
    assert info.kwargs()["sslmode"] == "verify-full"


def test_key_value_strings_multi_host_and_host_parameter() -> None:
    multi = parse_url("postgresql://u:pw@h1:5432,h2:5433/app", environ={})
    assert multi.host == "h1,h2"
    assert multi.kwargs()["port"] == "5432,5433"
    assert parse_url(multi.url(show_password=True), environ={}) == multi
    sock = parse_url("postgresql://u@/app?host=/var/run/postgresql", environ={})
    assert sock.host == "/var/run/postgresql"
    assert sock.is_loopback
    assert parse_url(sock.url(), environ={}) == sock
    kv = parse_url("host=127.0.0.1 port=5433 user=u dbname=app sslmode=require", environ={})
    assert (kv.host, kv.port, kv.dbname, dict(kv.params)) == (
        "127.0.0.1",
        5433,
        "app",
        {"sslmode": "require"},
    )


def test_libpq_environment_and_defaults_fill_what_the_url_lacks() -> None:
    env = {"PGHOST": "10.1.2.3", "PGPORT": "6000", "PGSSLMODE": "require", "PGUSER": "ci"}
    info = parse_url("postgresql:///app", environ=env)
    assert (info.host, info.port, info.user, info.dbname) == ("10.1.2.3", 6000, "ci", "app")
    assert dict(info.params) == {"sslmode": "require"}
    # what the string says wins over the environment, as in libpq
    assert parse_url("postgresql://127.0.0.1/app", environ=env).host == "127.0.0.1"
    # no dbname: libpq's default is the user name
    assert parse_url("postgresql://u@h", environ={}).dbname == "u"


def test_service_file_entries_are_read_like_libpq(tmp_path: Path) -> None:
    services = tmp_path / "services.conf"
    services.write_text(
        "# team servers\n[other]\nhost=elsewhere\n\n[ci]\nhost=127.0.0.1\nport=6543\n"
        "dbname=app\nsslmode=disable\n"
    )
    env = {"PGSERVICEFILE": str(services)}
    info = parse_url("service=ci user=u", environ=env)
    assert (info.host, info.port, info.user, info.dbname) == ("127.0.0.1", 6543, "u", "app")
    assert dict(info.params) == {"sslmode": "disable"}
    assert parse_url("postgresql://u@/x", environ=env | {"PGSERVICE": "ci"}).dbname == "x"
    with pytest.raises(ConfigError, match="'nope'"):
        parse_url("service=nope", environ=env)


@pytest.mark.parametrize(
    "url",
    [
        "jdbc:postgresql://u:Zq8xW3Kjvy@h:5432/db",
        "postgresql:/u:Zq8xW3Kjvy@h/db",
        "postgresql://u:Zq8x@W3Kjvy@h:notaport/db",
        "postgresql://u:Zq8xW3Kjvy@h:99999999999/db",
        "mysql://u:Zq8xW3Kjvy@h/db",
        "postgresql://u:Zq8xW3Kjvy@h/db?sslmode=",
        "host=h password=Zq8xW3Kjvy port=x y",
        "postgresql://u:Zq8x%zzW3Kjvy@h/db",  # libpq quotes the bad token in its message
        "postgresql://u@h/db?password=Zq8x%zzW3Kjvy",
        "postgresql://u:Zq8x%W3Kjvy@[::1/db",
    ],
)
def test_malformed_urls_never_show_a_character_of_the_password(url: str) -> None:
    with pytest.raises(ConfigError) as err:
        info = parse_url(url, environ={})
        raise ConfigError(f"parsed to {info.url()}")  # a URL that parses is printed masked
    text = err.value.render()
    for i in range(len("Zq8xW3Kjvy") - 1):
        assert "Zq8xW3Kjvy"[i : i + 2] not in text, text
    assert "Hint:" in text and "@ : /" not in text, text  # the hint survives the masking


def test_kwargs_round_trip_for_another_process() -> None:
    info = parse_url("postgresql://u:pw@h1:5432,h2:5433/app?sslmode=require", environ={})
    again = ConnInfo.from_kwargs(info.kwargs())
    assert again.kwargs() == info.kwargs()
    assert (again.host, again.port, again.dbname) == ("h1,h2", 5432, "app")


def test_repr_shows_no_password() -> None:
    """pytest prints a failing frame's arguments: a ConnInfo among them must carry no secret."""
    info = parse_url("postgresql://u:pw-one@localhost:5432/db?sslpassword=pw-two&sslmode=require")
    text = repr(info)
    assert "pw-one" not in text and "pw-two" not in text
    assert "password='****'" in text and "('sslmode', 'require')" in text
    assert "password=None" in repr(parse_url("postgresql://u@localhost/db"))
