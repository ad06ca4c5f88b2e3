"""The least-privilege application role: it reads and writes data, it never changes the schema.

Migrations and seeds run as the owner role (``DEVDB_USER``). The application talks to the database
as a second role that has LOGIN, CONNECT on the project database, USAGE on the migrated schemas,
SELECT/INSERT/UPDATE/DELETE on their tables and USAGE/SELECT on their sequences, and nothing else:
it owns no object, so it cannot ALTER or DROP; it has no CREATE on any schema or on the database,
and no TEMPORARY, so it cannot create anything. ``ALTER DEFAULT PRIVILEGES FOR ROLE <owner>`` keeps
tables, sequences and schemas that later migrations add readable and writable without a new grant.
devdb's own schema (``devdb``) stays out of its reach.

Role names are per server, databases are not: two projects on one external server (a shared CI
server) would fight over a role called ``app`` (each resetting its password, each granting it on
its own database). So the role's real name is ``<database>_<DEVDB_APP_ROLE>``, e.g. ``shop_app``,
on every backend: the same name locally and in CI, and one role per project database.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo, parse_url
from devdb.errors import ConfigError, DatabaseError
from devdb.settings import Settings
from devdb.state import role_password

if TYPE_CHECKING:
    import psycopg

INTERNAL_SCHEMA = "devdb"
MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
SEQUENCE_PRIVILEGES = "USAGE, SELECT"
OWNER_ALIASES = frozenset({"owner"})
APP_ALIAS = "app"

# Schemas the app role gets: those the connected owner may grant on (it owns them, or is a
# superuser), minus PostgreSQL's own and devdb's.
_SCHEMAS_SQL = """
SELECT nspname FROM pg_namespace
WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' AND nspname <> %s
  AND pg_has_role(current_user, nspowner, 'USAGE')
ORDER BY nspname
"""


@dataclass(frozen=True)
class AppRole:
    """The application role as created: its real name and the schemas it may use."""

    name: str
    database: str
    schemas: tuple[str, ...]
    created: bool


def project_database(settings: Settings) -> str:
    """The project database: DATABASE_URL's for the external backend, else DEVDB_DATABASE."""
    if settings.backend == "external" and settings.database_url:
        return parse_url(settings.database_url).dbname
    return settings.database


def app_role_name(settings: Settings, database: str | None = None) -> str:
    """The real role name: ``<project database>_<app_role>``, shortened with a digest past 63
    bytes. It names the project's database, not the one connected to: a template or test
    database cloned from the project carries grants to the same role."""
    name = f"{database or project_database(settings)}_{settings.app_role}"
    if len(name.encode()) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]  # noqa: S324 - a label, not security
    return name.encode()[: MAX_IDENTIFIER - 9].decode(errors="ignore") + "_" + digest


def app_conninfo(settings: Settings, owner: ConnInfo) -> ConnInfo:
    """Connection info for the app role on the owner's server and database."""
    name = app_role_name(settings)
    return owner.as_role(name, role_password(settings, name))


def conninfo_for_role(settings: Settings, owner: ConnInfo, role: str | None) -> ConnInfo:
    """``--role``: None/owner/the owner's name give ``owner``; ``app`` (what the docs say,
    whatever DEVDB_APP_ROLE is), the app role's setting or its real name give the app role;
    anything else is an error."""
    if role is None or role in OWNER_ALIASES or role == owner.user:
        return owner
    if role in {APP_ALIAS, settings.app_role, app_role_name(settings)}:
        return app_conninfo(settings, owner)
    raise ConfigError(
        f"unknown role {role!r}",
        f"Use --role app (the application role, {app_role_name(settings)}) or --role owner.",
    )


def ensure_app_role(settings: Settings, owner: ConnInfo) -> AppRole:
    """Create (or refresh) the app role and its privileges on the owner's database.

    Idempotent; run it after the server starts and after every migration run. Raises
    ``DatabaseError`` when the owner may not create roles or grant (hint says what to do).
    """
    import psycopg

    from devdb.database import connect

    name = app_role_name(settings)
    password = role_password(settings, name)
    with connect(owner) as conn:
        try:
            created = _upsert_role(conn, name, password)
            _database_privileges(conn, name, owner.dbname)
            _hide_internal_schema(conn, name)
            schemas = _schema_privileges(conn, name)
            _default_privileges(conn, name)
            conn.commit()
        except psycopg.Error as exc:
            raise _map_error(exc, name) from exc
    return AppRole(name, owner.dbname, schemas, created)


def _upsert_role(conn: psycopg.Connection[Any], name: str, password: str) -> bool:
    from psycopg import sql

    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
    verb = "ALTER ROLE {} WITH" if exists else "CREATE ROLE {} WITH"
    conn.execute(
        sql.SQL(
            verb + " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
            "NOINHERIT PASSWORD {}"
        ).format(sql.Identifier(name), sql.Literal(scram_verifier(conn, name, password)))
    )
    return exists is None


def scram_verifier(conn: psycopg.Connection[Any], role: str, password: str) -> str:
    """The password as a SCRAM-SHA-256 verifier computed here, by libpq (PQencryptPasswordConn):
    the server, its log and pg_stat_statements never see the password itself."""
    verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
    return verifier.decode()


def _database_privileges(conn: psycopg.Connection[Any], name: str, dbname: str) -> None:
    """CONNECT for the app role only; no TEMPORARY for anyone but the owner; no CREATE in
    ``public`` (PostgreSQL < 15 grants it to PUBLIC)."""
    from psycopg import sql

    db, role = sql.Identifier(dbname), sql.Identifier(name)
    for stmt in (
        "REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC",
        "GRANT CONNECT ON DATABASE {db} TO {role}",
        "REVOKE CREATE, TEMPORARY ON DATABASE {db} FROM {role}",
    ):
        conn.execute(sql.SQL(stmt).format(db=db, role=role))
    public = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'public'").fetchone()
    if public:
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")


def _hide_internal_schema(conn: psycopg.Connection[Any], name: str) -> None:
    """devdb's schema exists before any default privilege could hand it to the app role."""
    from psycopg import sql

    schema, role = sql.Identifier(INTERNAL_SCHEMA), sql.Identifier(name)
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
    for stmt in (
        "REVOKE ALL ON SCHEMA {schema} FROM {role}",
        "REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
        "REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}",
    ):
        conn.execute(sql.SQL(stmt).format(schema=schema, role=role))


def _schema_privileges(conn: psycopg.Connection[Any], name: str) -> tuple[str, ...]:
    from psycopg import sql

    rows = conn.execute(_SCHEMAS_SQL, (INTERNAL_SCHEMA,)).fetchall()
    schemas = tuple(str(r[0]) for r in rows)
    role = sql.Identifier(name)
    for schema_name in schemas:
        schema = sql.Identifier(schema_name)
        for stmt in (
            "GRANT USAGE ON SCHEMA {schema} TO {role}",
            "REVOKE CREATE ON SCHEMA {schema} FROM {role}",
            "GRANT " + TABLE_PRIVILEGES + " ON ALL TABLES IN SCHEMA {schema} TO {role}",
            "GRANT " + SEQUENCE_PRIVILEGES + " ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        ):
            conn.execute(sql.SQL(stmt).format(schema=schema, role=role))
    return schemas


def _default_privileges(conn: psycopg.Connection[Any], name: str) -> None:
    """What the owner creates later (tables, sequences, schemas) is granted as it is created."""
    from psycopg import sql

    role = sql.Identifier(name)
    for what, privileges in (
        ("TABLES", TABLE_PRIVILEGES),
        ("SEQUENCES", SEQUENCE_PRIVILEGES),
        ("SCHEMAS", "USAGE"),
    ):
        conn.execute(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER GRANT "
                + privileges
                + " ON "
                + what
                + " TO {}"
            ).format(role)
        )


def _map_error(exc: psycopg.Error, name: str) -> DatabaseError:
    diag = exc.diag
    hint = diag.message_hint
    if diag.sqlstate == "42501":  # insufficient_privilege
        hint = (
            "The owner role (DEVDB_USER, or DATABASE_URL's user) must own the database and have "
            "CREATEROLE: ALTER ROLE <owner> CREATEROLE, as a superuser."
        )
    return DatabaseError(
        f"could not set up the app role {name!r}: {diag.message_primary or exc}",
        hint,
        sqlstate=diag.sqlstate,
        detail=diag.message_detail,
    )


def refresh_app_role(settings: Settings, owner: ConnInfo) -> AppRole | None:
    """``ensure_app_role`` for commands whose main job is something else (up, migrate): a
    failure becomes a warning instead of failing the command."""
    from devdb.output import warn

    try:
        return ensure_app_role(settings, owner)
    except DatabaseError as exc:
        warn(f"{exc.message}\n{exc.hint}" if exc.hint else exc.message)
        return None
