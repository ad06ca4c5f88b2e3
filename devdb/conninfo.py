"""Connection info: what a backend hands back, and how URLs are printed safely."""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import quote, unquote, urlsplit

from devdb.errors import ConfigError

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]", ""})


@dataclass(frozen=True)
class ConnInfo:
    """Where a server is and how to log in; ``url()`` hides the password unless asked."""

    host: str
    port: int
    user: str
    password: str | None
    dbname: str

    def url(self, *, show_password: bool = False, dbname: str | None = None) -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + (quote(self.password, safe="") if show_password else mask(self.password))
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"postgresql://{auth}@{host}:{self.port}/{quote(dbname or self.dbname, safe='')}"

    def for_database(self, dbname: str) -> ConnInfo:
        return replace(self, dbname=dbname)

    def as_role(self, user: str, password: str | None) -> ConnInfo:
        return replace(self, user=user, password=password)

    def kwargs(self) -> dict[str, str | int]:
        """Keyword arguments for ``psycopg.connect``."""
        kw: dict[str, str | int] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": self.dbname,
        }
        if self.password:
            kw["password"] = self.password
        return kw

    @property
    def is_loopback(self) -> bool:
        return self.host.lower() in LOCAL_HOSTS or self.host.startswith("127.")


def mask(password: str) -> str:
    """Never print a password in full: keep at most its first two characters."""
    return password[:2] + "****" if len(password) > 6 else "****"


def parse_url(url: str) -> ConnInfo:
    """Parse ``postgresql://user:pw@host:port/db`` into ``ConnInfo``."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ConfigError(
            f"DATABASE_URL must start with postgresql://, got {redact(url)!r}",
            "Use the form postgresql://user:password@host:5432/dbname.",
        )
    try:
        port = parts.port or 5432
    except ValueError as exc:
        raise ConfigError(f"DATABASE_URL has a bad port: {redact(url)}") from exc
    return ConnInfo(
        host=parts.hostname or "localhost",
        port=port,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password) if parts.password else None,
        dbname=unquote(parts.path.lstrip("/")) or "postgres",
    )


def redact(url: str) -> str:
    """The URL with any password masked (also for URLs devdb did not build)."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(
        ":" + parts.password + "@", ":" + mask(unquote(parts.password)) + "@"
    )
    return parts._replace(netloc=netloc).geturl()
