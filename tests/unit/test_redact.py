"""Every printed URL-like string is masked, malformed ones included, with no character of the
password left."""

from __future__ import annotations

import pytest

from devdb.errors import ConfigError, ServerStartError
from devdb.redact import mask_text

PASSWORD = "Zq8x@W3/Kj:Vy"


def _leaks(text: str) -> list[str]:
    return [PASSWORD[i : i + 3] for i in range(len(PASSWORD) - 2) if PASSWORD[i : i + 3] in text]


@pytest.mark.parametrize(
    "text",
    [
        f"postgresql://app:{PASSWORD}@db.example.com:5432/shop",
        f"could not parse jdbc:postgresql://app:{PASSWORD}@db:5432/shop, sorry",
        f"postgresql:/app:{PASSWORD}@db/shop",
        f"postgresql:app:{PASSWORD}@db/shop",
        f"postgres://app:{PASSWORD}@h1:5432,h2:5433/shop?sslmode=require",
        f"host=db user=app password={PASSWORD} dbname=shop",
        f"host=db password='{PASSWORD} with space' dbname=shop",
        f"PGPASSWORD={PASSWORD} psql",
    ],
)
def test_no_character_of_the_password_is_printed(text: str) -> None:
    masked = mask_text(text)
    assert "****" in masked
    assert not _leaks(masked), masked


def test_what_is_not_a_password_stays_readable() -> None:
    for text in (
        "postgresql://app@db:5432/shop",
        "Error: cannot connect to 127.0.0.1:5432: Connection refused",
        "ready: postgresql://postgres:****@127.0.0.1:54321/shop [native]",
    ):
        assert mask_text(text) == text
    assert (
        mask_text("postgresql://app:pw@db/x\nnext line") == "postgresql://app:****@db/x\nnext line"
    )


def test_errors_mask_what_they_render() -> None:
    err = ConfigError(f"bad URL postgresql:/u:{PASSWORD}@h/db", f"try postgresql://u:{PASSWORD}@h")
    assert not _leaks(err.render())
    log = ServerStartError("failed", log=f"FATAL: postgresql://u:{PASSWORD}@h/db")
    assert not _leaks(log.render())
