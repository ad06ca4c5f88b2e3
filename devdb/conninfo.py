"""Connection info: what a backend hands back, parsed and printed by libpq's rules.

A ``DATABASE_URL`` may be a URL or a ``key=value`` string, with any libpq parameter (sslmode,
sslrootcert, options, host=, hostaddr, several hosts, service=...). It is parsed with psycopg's
``conninfo_to_dict`` and then *resolved* the way libpq would at connect time: a service file
entry (``service=`` or PGSERVICE) fills what the string lacks, then the PG* environment
variables, then libpq's defaults. The result names every parameter explicitly, so what the guard
checks is the address the connection uses: nothing in the environment can redirect it later.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from devdb.errors import ConfigError
from devdb.redact import MASK, mask_text

_FIELDS = frozenset({"host", "port", "user", "password", "dbname"})

# libpq parameters a PG* variable could otherwise set behind devdb's back, with the value that
# means "libpq's default" (an empty value counts as given, so the variable is not read).
PINNED = {
    "options": "",
    "sslmode": "prefer",
    "sslrootcert": "",
    "sslcert": "",
    "sslkey": "",
    "sslcrl": "",
    "channel_binding": "prefer",
    "target_session_attrs": "any",
    "load_balance_hosts": "disable",
    "application_name": "",
}


@dataclass(frozen=True)
class ConnInfo:
    """Where a server is and how to log in; ``url()`` hides the password unless asked.

    ``host`` is libpq's host string: a name, an address, a socket folder, or a comma list;
    ``port`` the first port (``params`` holds a per-host port list when there are several).
    """

    host: str
    port: int
    user: str
    password: str | None
    dbname: str
    params: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        """No secret: pytest prints the arguments of a failing frame, logs print objects."""
        params = tuple((k, "****" if "password" in k else v) for k, v in self.params)
        return (
            f"ConnInfo(host={self.host!r}, port={self.port!r}, user={self.user!r}, "
            f"password={'****' if self.password else self.password!r}, dbname={self.dbname!r}, "
            f"params={params!r})"
        )

    def url(self, *, show_password: bool = False, dbname: str | None = None) -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + (quote(self.password, safe="") if show_password else MASK)
        query = dict(self.params)
        netloc = ""
        if self.host and not self.host.startswith(("/", "@")):
            netloc = ",".join(_netloc_host(h, p) for h, p in self._endpoints())
            query.pop("port", None)
        else:
            query = {"host": self.host, "port": str(self.port), **query} if self.host else query
        text = f"postgresql://{auth}@{netloc}/{quote(dbname or self.dbname, safe='')}"
        if query:
            text += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
        return text

    def for_database(self, dbname: str) -> ConnInfo:
        return replace(self, dbname=dbname)

    def as_role(self, user: str, password: str | None) -> ConnInfo:
        return replace(self, user=user, password=password)

    def kwargs(self, **defaults: str | int) -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect``: every parameter explicit (``defaults``
        only where the connection string says nothing). What decides where and how it connects
        is pinned too (a literal IP host as ``hostaddr``, libpq's defaults or empty values for
        the rest), so no PG* variable or service entry can redirect or weaken it later."""
        kw: dict[str, Any] = dict(defaults)
        kw.update(port=self.port, user=self.user, dbname=self.dbname)
        kw["host"] = self.host
        if self.password:
            kw["password"] = self.password
        kw.update(self.params)
        if "hostaddr" not in kw:
            kw["hostaddr"] = self.host if self.host and all(map(_is_ip, self.hosts)) else ""
        for keyword, value in PINNED.items():
            kw.setdefault(keyword, value)
        return kw

    @classmethod
    def from_kwargs(cls, kw: Mapping[str, Any]) -> ConnInfo:
        """The inverse of ``kwargs()`` (for a ConnInfo sent to another process as JSON)."""
        ports = str(kw["port"])
        rest = {k: str(v) for k, v in kw.items() if k not in _FIELDS}
        if "," in ports:
            rest["port"] = ports
        return cls(
            str(kw.get("host", "")),
            int(ports.split(",", maxsplit=1)[0]),
            str(kw["user"]),
            kw.get("password"),
            str(kw["dbname"]),
            tuple(rest.items()),
        )

    def libpq_env(self) -> dict[str, str]:
        """The PG* variables that say exactly what ``kwargs()`` says, for psql and pg_dump."""
        names = _env_vars()
        return {names[k]: str(v) for k, v in self.kwargs().items() if k in names and v != ""}

    def child_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """An environment for a libpq program: the caller's without any PG* variable that could
        send it elsewhere, plus this connection's own."""
        return clean_environ(os.environ if base is None else base) | self.libpq_env()

    @property
    def hosts(self) -> list[str]:
        return self.host.split(",")

    def addresses(self) -> list[str]:
        """What the client connects to: ``hostaddr`` when given, else the host names."""
        given = dict(self.params).get("hostaddr")
        return given.split(",") if given else self.hosts

    def _endpoints(self) -> list[tuple[str, str]]:
        ports = (dict(self.params).get("port") or str(self.port)).split(",")
        hosts = self.hosts
        if len(ports) == 1:
            ports *= len(hosts)
        return list(zip(hosts, ports, strict=False))

    @property
    def is_loopback(self) -> bool:
        """Every address this connects to is on this machine (decided without DNS)."""
        return all(is_local_address(a) for a in self.addresses())

    def tcp_endpoint(self) -> tuple[str, int] | None:
        """(host, port) for a one-host TCP connection; None for sockets and host lists."""
        addresses = self.addresses()
        if len(addresses) != 1 or not addresses[0] or addresses[0].startswith(("/", "@")):
            return None
        return addresses[0], self.port


def is_local_address(host: str) -> bool:
    """Loopback (127.0.0.0/8, ::1), ``localhost`` or a Unix socket; a name is never looked up,
    so ``127.prod.example.com`` is not local."""
    host = host.strip().strip("[]")
    if host == "" or host.startswith(("/", "@")) or host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _netloc_host(host: str, port: str) -> str:
    shown = f"[{host}]" if ":" in host else quote(host, safe="")
    return f"{shown}:{port}" if port else shown


def mask(password: str) -> str:
    """A password as printed: never a single character of it."""
    return MASK if password else ""


def redact(text: str) -> str:
    """Any text with every URL or ``password=`` secret in it masked (well-formed or not)."""
    return mask_text(text)


def parse_url(url: str, environ: Mapping[str, str] | None = None) -> ConnInfo:
    """Parse a URL or ``key=value`` string and resolve it as libpq would (service file, PG*
    environment, defaults); the error never shows the password."""
    params = _to_dict(url)
    env = os.environ if environ is None else environ
    resolved = resolve(params, env)
    port_text = resolved.pop("port", "") or "5432"
    try:
        port = int(port_text.split(",")[0] or 5432)
    except ValueError as exc:
        raise ConfigError(f"DATABASE_URL has a bad port {port_text!r}: {redact(url)}") from exc
    if "," in port_text:
        resolved["port"] = port_text
    user = resolved.pop("user", "") or _os_user()
    return ConnInfo(
        host=resolved.pop("host", ""),
        port=port,
        user=user,
        password=resolved.pop("password", None) or None,
        dbname=resolved.pop("dbname", "") or user,
        params=tuple(resolved.items()),
    )


def _to_dict(url: str) -> dict[str, str]:
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    text = url.strip()
    if text.lower().startswith("jdbc:"):
        raise ConfigError(
            f"DATABASE_URL is a JDBC URL, which libpq does not read: {redact(text)}",
            "Drop the leading `jdbc:` and put user and password in the URL "
            "(postgresql://user:password@host:5432/dbname).",
        )
    if "://" in text and not text.lower().startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f"DATABASE_URL must start with postgresql://, got {redact(text)!r}",
            "Use the form postgresql://user:password@host:5432/dbname.",
        )
    try:
        return {k: str(v) for k, v in conninfo_to_dict(text).items() if v is not None}
    except ProgrammingError as exc:
        reason = _libpq_reason(str(exc), text)
        raise ConfigError(
            f"DATABASE_URL is not a valid connection string ({reason}): {redact(text)}",
            "Use postgresql://user:password@host:5432/dbname, with a password's at sign, colon "
            "and slash percent-encoded (%40, %3A, %2F).",
        ) from exc


def _libpq_reason(message: str, text: str) -> str:
    """libpq's first line, masked; a token it quotes (``invalid percent-encoded token:
    "..."``) that is, or is part of, a password in ``text`` is masked too."""
    import re

    reason = message.strip().splitlines()[0] if message.strip() else ""
    secrets = [s for s in _raw_passwords(text) if s]

    def quoted(match: re.Match[str]) -> str:
        token = match.group(1)
        if any(token in secret or secret in token for secret in secrets):
            return f'"{MASK}"'
        return match.group(0)

    return redact(re.sub(r'"([^"]*)"', quoted, reason))


def _raw_passwords(text: str) -> list[str]:
    """What could be a password in an unparsable URL, as written: the user part after its
    first ``:`` up to the last ``@``, and every ``password=`` value."""
    import re

    found = re.findall(r"password\s*=\s*([^&\s]*)", text, flags=re.IGNORECASE)
    head, sep, _ = text.rpartition("@")
    if sep and "://" in head:
        _, colon, password = head.split("://", 1)[1].partition(":")
        if colon:
            found.append(password)
    return found


def resolve(params: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    """libpq's order: explicit parameters, then a service entry, then PG* variables."""
    result = {k: v for k, v in params.items() if v != ""}
    service = result.pop("service", None) or env.get("PGSERVICE")
    if service:
        for key, value in read_service(service, env).items():
            result.setdefault(key, value)
    for keyword, envvar in _env_vars().items():
        if keyword not in result and env.get(envvar):
            result[keyword] = env[envvar]
    return result


def clean_environ(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` without the libpq variables (PGHOST, PGHOSTADDR, PGSERVICE, PGSSLMODE, ...)."""
    drop = {*_env_vars().values(), "PGSERVICE", "PGSERVICEFILE", "PGSYSCONFDIR"}
    return {k: v for k, v in base.items() if k not in drop}


@functools.cache
def _env_vars() -> dict[str, str]:
    """libpq's keyword -> environment variable table (as the loaded libpq knows it)."""
    from psycopg import pq

    table = {}
    for option in pq.Conninfo.get_defaults():
        if option.envvar and option.keyword.decode() not in {"service", "passfile"}:
            table[option.keyword.decode()] = option.envvar.decode()
    return table


def read_service(name: str, env: Mapping[str, str]) -> dict[str, str]:
    """The ``[name]`` entry of the user's service file (PGSERVICEFILE or ~/.pg_service.conf),
    else of PGSYSCONFDIR/pg_service.conf, as libpq reads them; an unknown name is an error."""
    home = Path(env.get("HOME") or Path.home())
    files = [Path(env["PGSERVICEFILE"]) if env.get("PGSERVICEFILE") else home / ".pg_service.conf"]
    if env.get("PGSYSCONFDIR"):
        files.append(Path(env["PGSYSCONFDIR"]) / "pg_service.conf")
    for path in files:
        entry = _service_entry(path, name)
        if entry is not None:
            return entry
    raise ConfigError(
        f"the connection service {name!r} is not defined",
        f"Define [{name}] in {files[0]} (or PGSERVICEFILE), or remove service= / PGSERVICE.",
    )


def _service_entry(path: Path, name: str) -> dict[str, str] | None:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    entry: dict[str, str] | None = None
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            if entry is not None:
                return entry
            entry = {} if line.strip("[]") == name else None
        elif entry is not None and "=" in line:
            key, _, value = line.partition("=")
            entry[key.strip()] = value.strip()
    return entry


def _os_user() -> str:
    """libpq's default user: the operating-system user name."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return "postgres"


__all__ = ["ConnInfo", "is_local_address", "mask", "parse_url", "redact", "resolve"]
