"""Settings: one frozen object, built once per command and passed down.

Precedence, lowest first: defaults < the ``devdb:`` section of invoke's configuration
(``invoke.yaml`` and friends, passed in as ``config``) < ``.env`` in the project root (read with
``dotenv_values``; the process environment is never mutated) < process environment < task flags
(``overrides``). Nothing is read at import time.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from devdb.errors import ConfigError

BACKENDS = ("auto", "docker", "native", "external")
DEFAULT_IMAGE = "postgres:18"


@dataclass(frozen=True)
class Var:
    """One environment variable: the setting it fills, and its README description."""

    env: str
    attr: str
    help: str
    default: str = ""


# Every variable devdb reads. README.md has a table of them; a test keeps the two in step.
VARIABLES: tuple[Var, ...] = (
    Var(
        "DEVDB_BACKEND",
        "backend",
        "Where the server runs: auto, docker, native or external.",
        "auto",
    ),
    Var(
        "DATABASE_URL",
        "database_url",
        "The external backend's server: a URL or key=value string, any libpq parameter.",
    ),
    Var(
        "DEVDB_POSTGRES_IMAGE",
        "postgres_image",
        "Docker image for the docker backend.",
        DEFAULT_IMAGE,
    ),
    Var(
        "DEVDB_PORT", "port", "Host port (127.0.0.1 only). Default: derived from the project path."
    ),
    Var("DEVDB_DATABASE", "database", "Database name. Default: the project name."),
    Var("DEVDB_USER", "user", "Owner role that runs migrations and seeds.", "postgres"),
    Var("DEVDB_PASSWORD", "password", "Owner password. Default: generated into .devdb/password."),
    Var("DEVDB_PROJECT", "project", "Project name (compose project, volume, database default)."),
    Var(
        "DEVDB_ROOT",
        "root",
        "Project root. Default: the folder invoke loaded tasks.py from.",
    ),
    Var("DEVDB_STATE_DIR", "state_dir", "Git-ignored state folder.", ".devdb"),
    Var("DEVDB_COMPOSE_FILE", "compose_file", "Compose file for docker.", "compose/compose.yaml"),
    Var("DEVDB_MIGRATIONS_DIR", "migrations_dir", "Migration files.", "migrations"),
    Var("DEVDB_SEEDS_DIR", "seeds_dir", "Seed definitions.", "seeds"),
    Var("DEVDB_QUERIES_DIR", "queries_dir", "Named queries for EXPLAIN reports.", "queries"),
    Var(
        "DEVDB_SCHEMA_FILE", "schema_file", "Schema dump checked by db.schema.check.", "schema.sql"
    ),
    Var("DEVDB_REPORTS_DIR", "reports_dir", "Where EXPLAIN reports are written.", "reports"),
    Var("DEVDB_PG_BIN", "pg_bin", "Native backend: folder with initdb/pg_ctl/postgres."),
    Var("DEVDB_NATIVE_USER", "native_user", "Native backend, when run as root: server OS user."),
    Var("DEVDB_READY_TIMEOUT", "ready_timeout", "Seconds to wait for the server to accept.", "60"),
    Var("DEVDB_DURABLE", "durable", "1 keeps fsync on (off by default: a dev database).", "0"),
    Var("DEVDB_PROFILE", "profile", "Seed profile: dev, test, demo or your own.", "dev"),
    Var("DEVDB_SCALE", "scale", "Seed scale factor.", "1"),
    Var(
        "DEVDB_APP_ROLE",
        "app_role",
        "Least-privilege application role; its real name is `<database>_<this>`.",
        "app",
    ),
    Var(
        "DEVDB_ALLOWED_HOSTS",
        "allowed_hosts",
        "Comma list of non-local hosts destructive tasks may touch.",
    ),
    Var("DEVDB_LOCK_TIMEOUT", "lock_timeout", "lock_timeout for migrations.", "5s"),
    Var("DEVDB_MIGRATE_WAIT", "migrate_wait", "Seconds a migration run waits for another.", "60"),
    Var("DEVDB_STATEMENT_TIMEOUT", "statement_timeout", "statement_timeout for EXPLAIN.", "60s"),
    # the migrator seam (devdb/migrator/): what brings a database to the latest schema
    Var(
        "DEVDB_MIGRATOR",
        "migrator",
        "What migrates: sql (devdb's), alembic, django, command.",
        "sql",
    ),
    Var(
        "DEVDB_MIGRATOR_INPUTS",
        "migrator_inputs",
        "Comma list of extra files/globs whose content keys the template (command: required).",
    ),
    Var("DEVDB_MIGRATE_COMMAND", "migrate_command", "command migrator: the command line to run."),
    Var(
        "DEVDB_MIGRATE_URL_VAR",
        "migrate_url_var",
        "Environment variable that hands the tool the database URL.",
        "DATABASE_URL",
    ),
    Var("DEVDB_ALEMBIC_CONFIG", "alembic_config", "alembic migrator: the ini file.", "alembic.ini"),
    Var(
        "DEVDB_DJANGO_MANAGE",
        "django_manage",
        "django migrator: the manage.py script.",
        "manage.py",
    ),
)
_BY_ATTR = {v.attr: v for v in VARIABLES}


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know, resolved once."""

    root: Path
    project: str
    backend: str = "auto"
    database_url: str | None = None
    postgres_image: str = DEFAULT_IMAGE
    port: int | None = None
    database: str = "app"
    user: str = "postgres"
    password: str | None = None
    state_dir: Path = Path(".devdb")
    compose_file: Path = Path("compose/compose.yaml")
    migrations_dir: Path = Path("migrations")
    seeds_dir: Path = Path("seeds")
    queries_dir: Path = Path("queries")
    schema_file: Path = Path("schema.sql")
    reports_dir: Path = Path("reports")
    pg_bin: Path | None = None
    native_user: str | None = None
    ready_timeout: float = 60.0
    durable: bool = False
    profile: str = "dev"
    scale: float = 1.0
    app_role: str = "app"
    allowed_hosts: tuple[str, ...] = ()
    lock_timeout: str = "5s"
    migrate_wait: float = 60.0
    statement_timeout: str = "60s"
    migrator: str = "sql"
    migrator_inputs: tuple[str, ...] = ()
    migrate_command: str = ""
    migrate_url_var: str = "DATABASE_URL"
    alembic_config: Path = Path("alembic.ini")
    django_manage: Path = Path("manage.py")
    host: str = field(default="127.0.0.1")

    @property
    def compose_project(self) -> str:
        """Compose project name: unique per checkout, so two projects never share a volume."""
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:6]  # noqa: S324 - a label
        return f"devdb-{self.project}-{digest}"

    @property
    def default_port(self) -> int:
        """A port derived from the project path, stable across runs, in 54320..55319."""
        digest = hashlib.sha1(str(self.root).encode()).digest()  # noqa: S324 - not security
        return 54320 + int.from_bytes(digest[:2], "big") % 1000

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with task flags applied; ``None`` means "flag not given"."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **{k: _convert(k, v, self.root) for k, v in given.items()})


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding ``tasks.py``; else ``start`` itself."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "tasks.py").is_file():
            return folder
    return here


def load_settings(
    root: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    config: Mapping[str, Any] | None = None,
    default_root: Path | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings from defaults, invoke's ``devdb:`` ``config``, ``.env``, the
    environment and ``overrides``. The root: ``root``, else DEVDB_ROOT, else ``default_root``
    (the folder invoke loaded the tasks from), else the nearest folder holding tasks.py."""
    env = os.environ if environ is None else environ
    if root is None:
        root = Path(env["DEVDB_ROOT"]) if env.get("DEVDB_ROOT") else default_root or find_root()
    root = root.resolve()
    raw: dict[str, str] = {}
    for layer in (_config_layer(config or {}), _read_dotenv(root / ".env"), env):
        for var in VARIABLES:
            value = layer.get(var.env)
            if value is not None and value != "":
                raw[var.attr] = value
    raw.pop("root", None)
    project = _slug(raw.pop("project", "") or root.name)
    values: dict[str, Any] = {k: _convert(k, v, root) for k, v in raw.items()}
    values.setdefault("database", project.replace("-", "_"))
    for attr in _PATHS - {"pg_bin", "root"}:
        values.setdefault(attr, _path(_BY_ATTR[attr].default, root))
    settings = Settings(root=root, project=project, **values)
    settings = settings.with_overrides(**overrides)
    _validate(settings)
    return settings


def _config_layer(config: Mapping[str, Any]) -> dict[str, str]:
    """invoke's ``devdb:`` section as variables: keys are the settings' names (``backend``,
    ``postgres_image``) or the variables' own (``DEVDB_BACKEND``)."""
    layer: dict[str, str] = {}
    for key, value in config.items():
        var = _BY_ATTR.get(str(key)) or next((v for v in VARIABLES if v.env == key), None)
        if var is None:
            raise ConfigError(
                f"invoke configuration: unknown devdb setting {key!r}",
                "The devdb: section takes the names in README's settings table, lower-case "
                "without DEVDB_ (backend, postgres_image, profile, ...).",
            )
        if value is not None:
            layer[var.env] = _config_value(value)
    return layer


def _config_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # lazy: only when a .env exists

    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {exc.start + 1}, line {line})",
            "Save .env as UTF-8 (most editors: File > Save with Encoding > UTF-8).",
        ) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return {k: v for k, v in dotenv_values(stream=io.StringIO(text)).items() if v is not None}


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "project"


def _path(value: str | Path, root: Path) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else root / p


def _to_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"expected a boolean (1/0, true/false), got {value!r}")


def _to_int(value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"expected a whole number, got {value!r}") from exc


def _to_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError as exc:
        raise ConfigError(f"expected a number, got {value!r}") from exc
    if not math.isfinite(number):
        raise ConfigError(f"expected a finite number, got {value!r}")
    return number


_DURATION = re.compile(r"\d+(\.\d+)?\s*(us|ms|s|min|h|d)?")


def _to_duration(value: str) -> str:
    """A PostgreSQL duration as lock_timeout/statement_timeout take it: ``5s``, ``500ms``, ``0``."""
    text = value.strip()
    if not _DURATION.fullmatch(text):
        raise ConfigError(
            f"expected a duration such as 5s, 500ms, 2min or 0 (no limit), got {value!r}"
        )
    return text


def _to_hosts(value: str) -> tuple[str, ...]:
    return tuple(h.strip() for h in value.split(",") if h.strip())


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "port": _to_int,
    "ready_timeout": _to_float,
    "migrate_wait": _to_float,
    "scale": _to_float,
    "durable": _to_bool,
    "allowed_hosts": _to_hosts,
    "migrator_inputs": _to_hosts,  # the same comma list
    "lock_timeout": _to_duration,
    "statement_timeout": _to_duration,
}
_PATHS = {
    "state_dir",
    "compose_file",
    "migrations_dir",
    "seeds_dir",
    "queries_dir",
    "schema_file",
    "reports_dir",
    "pg_bin",
    "root",
    "alembic_config",
    "django_manage",
}


def _convert(attr: str, value: Any, root: Path) -> Any:
    """Turn a string from .env/environment (or a flag value) into the field's type."""
    if attr in _PATHS:
        return _path(value, root)
    if isinstance(value, str) and attr in _CONVERTERS:
        var = _BY_ATTR.get(attr)
        try:
            return _CONVERTERS[attr](value)
        except ConfigError as exc:
            name = var.env if var else attr
            raise ConfigError(f"{name}: {exc.message}", exc.hint) from exc
    return value


MIGRATORS = ("sql", "alembic", "django", "command")


def _validate(settings: Settings) -> None:
    if settings.migrator not in MIGRATORS:
        raise ConfigError(
            f"DEVDB_MIGRATOR is {settings.migrator!r}, not one of {', '.join(MIGRATORS)}",
            "Set DEVDB_MIGRATOR to sql (devdb's own runner), alembic, django or command.",
        )
    if settings.backend not in BACKENDS:
        raise ConfigError(
            f"DEVDB_BACKEND is {settings.backend!r}, not one of {', '.join(BACKENDS)}",
            "Set DEVDB_BACKEND (or --backend) to auto, docker, native or external.",
        )
    if settings.backend == "external" and not settings.database_url:
        raise ConfigError(
            "the external backend needs DATABASE_URL",
            "Set DATABASE_URL=postgresql://user:password@host:5432/dbname in .env or environment.",
        )
    if settings.port is not None and not 1 <= settings.port <= 65535:
        raise ConfigError(f"DEVDB_PORT {settings.port} is not a TCP port (1-65535)")
    if not settings.scale > 0:  # also catches a NaN given as a flag
        raise ConfigError(
            f"DEVDB_SCALE (or --scale) must be a positive number, got {settings.scale}",
            "Use a scale such as 1, 0.5 or 10.",
        )
    for name, seconds in (
        ("DEVDB_READY_TIMEOUT", settings.ready_timeout),
        ("DEVDB_MIGRATE_WAIT", settings.migrate_wait),
    ):
        if not seconds >= 0:
            raise ConfigError(f"{name} must be a number of seconds >= 0, got {seconds}")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$-]*", settings.database):
        raise ConfigError(
            f"database name {settings.database!r} is not a plain identifier",
            "Set DEVDB_DATABASE to letters, digits and underscores.",
        )
