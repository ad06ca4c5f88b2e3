"""Schema dumps: ``pg_dump --schema-only``, normalized so the same schema gives the same text.

Normalizing drops what changes between runs or machines but is not schema: the version comments,
``SET`` lines, ``\\restrict`` lines of newer pg_dump, owners, privileges, tablespaces, and devdb's
own schema. The dump of a scratch database built from the migrations is what ``schema.sql`` holds
and what ``db.schema.check`` compares it with.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devdb.conninfo import ConnInfo, clean_environ
from devdb.errors import MigrationError
from devdb.settings import Settings

HEADER = re.compile(r"^-- Name: (?P<name>.*); Type: (?P<type>[^;]*); Schema: (?P<schema>[^;]*)")
DROPPED = (
    "-- Dumped from database version",
    "-- Dumped by pg_dump version",
    "-- PostgreSQL database dump",
    "SET ",
    "SELECT pg_catalog.set_config(",
    "\\restrict",
    "\\unrestrict",
)
HEADER_COMMENT = (
    "-- Written by `invoke db.schema.dump` from the migrations; do not edit by hand.\n"
    "-- `invoke db.schema.check` fails when it differs from what the migrations produce.\n\n"
)
DUMP_ARGS = (
    "--schema-only",
    "--no-owner",
    "--no-privileges",
    "--no-tablespaces",
    "--exclude-schema=devdb",
)


@dataclass(frozen=True)
class PgDump:
    """How to run pg_dump for a server: a local binary, or ``docker exec`` into its container."""

    command: tuple[str, ...]
    in_container: bool = False


def _major(text: str) -> int:
    match = re.search(r"(\d+)(?:\.\d+)?", text)
    return int(match.group(1)) if match else 0


def _candidates(settings: Settings) -> list[Path]:
    from devdb.backends.pgbin import embedded_bindir, system_bindir

    found: list[Path] = []
    for folder in (settings.pg_bin, embedded_bindir(), system_bindir()):
        if folder is not None:
            found.append(folder / "pg_dump")
    on_path = shutil.which("pg_dump")
    if on_path:
        found.append(Path(on_path))
    found.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"), reverse=True))
    return [p for p in dict.fromkeys(found) if p.is_file()]


def find_pg_dump(settings: Settings, server_major: int) -> PgDump:
    """A pg_dump whose major version matches the server's (or is newer): pg_dump refuses older
    servers' newer features. Falls back to the docker backend's container."""
    best: tuple[int, Path] | None = None
    for path in _candidates(settings):
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=False)
        major = _major(out.stdout)
        if major == server_major:
            return PgDump((str(path),))
        if major > server_major and (best is None or major < best[0]):
            best = (major, path)
    if best is not None:
        return PgDump((str(best[1]),))
    container = _container_name(settings)
    if container:
        return PgDump(("docker", "exec", "-e", "PGPASSWORD", container, "pg_dump"), True)
    raise MigrationError(
        f"no pg_dump of PostgreSQL {server_major} or newer found",
        "Install the PostgreSQL client tools of the server's version, or point DEVDB_PG_BIN at "
        "their bin folder.",
    )


def _container_name(settings: Settings) -> str | None:
    from devdb.backends import resolve_backend_name

    if resolve_backend_name(settings, announce=False) != "docker":
        return None
    from devdb.backends.docker import DockerBackend

    container = DockerBackend(settings).container()
    return str(container.name) if container is not None else None


def server_major(conninfo: ConnInfo) -> int:
    from devdb.database import server_version

    return _major(server_version(conninfo))


def dump(settings: Settings, conninfo: ConnInfo, pg_dump: PgDump | None = None) -> str:
    """The normalized schema-only dump of ``conninfo``'s database."""
    tool = pg_dump or find_pg_dump(settings, server_major(conninfo))
    host, port = ("127.0.0.1", 5432) if tool.in_container else (conninfo.host, conninfo.port)
    args = [
        *tool.command,
        *DUMP_ARGS,
        f"--host={host}",
        f"--port={port}",
        f"--username={conninfo.user}",
        f"--dbname={conninfo.dbname}",
    ]
    env = {**clean_environ(os.environ), "PGPASSWORD": conninfo.password or ""}
    env["PGCONNECT_TIMEOUT"] = "10"
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        last = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "no output"
        raise MigrationError(
            f"pg_dump of {conninfo.dbname!r} failed: {last}",
            "Check that the server runs and that pg_dump's version is the server's or newer.",
        )
    return normalize(out.stdout)


def normalize(text: str) -> str:
    """One block per object, each ``-- Name: ...`` header followed by its SQL."""
    return "".join(f"{header}\n{body}\n\n" for header, body in split_objects(text)).rstrip() + "\n"


def split_objects(text: str) -> list[tuple[str, str]]:
    """``(header, sql)`` for every object of a pg_dump, with volatile lines dropped."""
    blocks: list[tuple[str, str]] = []
    header: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        if line.startswith(DROPPED):
            continue
        match = HEADER.match(line)
        if match:
            if header is not None:
                blocks.append((header, _body(body)))
            header = "-- " + "; ".join(
                f"{k.capitalize()}: {match.group(k)}" for k in ("name", "type", "schema")
            )
            body = []
        elif header is not None:
            body.append(line)
    if header is not None:
        blocks.append((header, _body(body)))
    return blocks


def _body(lines: list[str]) -> str:
    """The object's SQL without the blank and ``--`` lines pg_dump puts around it."""
    start, end = 0, len(lines)
    while start < end and lines[start].strip() in ("", "--"):
        start += 1
    while end > start and lines[end - 1].strip() in ("", "--"):
        end -= 1
    return "\n".join(lines[start:end])


def objects(text: str) -> dict[str, str]:
    """``{"TYPE schema.name": sql}`` of a normalized dump (for comparing two dumps)."""
    out: dict[str, str] = {}
    for header, body in split_objects(text):
        match = HEADER.match(header)
        if match:
            schema = "" if match.group("schema") == "-" else match.group("schema") + "."
            key = f"{match.group('type')} {schema}{match.group('name')}"
            out[key] = body
    return out


@contextmanager
def scratch_database(conninfo: ConnInfo, purpose: str = "scratch") -> Iterator[ConnInfo]:
    """A fresh empty database on the same server, dropped afterwards (see devdb.copies)."""
    from devdb.copies.scratch import scratch_database as scratch

    with scratch(conninfo, purpose) as info:
        yield info


def schema_from_migrations(settings: Settings, conninfo: ConnInfo) -> str:
    """The normalized dump of a scratch database with every migration applied."""
    from devdb.migrator import get_migrator

    with scratch_database(conninfo, "schema") as scratch:
        get_migrator(settings).migrate(scratch)  # empty: nothing can be out of order
        return dump(settings, scratch)


def write_schema(settings: Settings, conninfo: ConnInfo) -> Path:
    """Write ``schema.sql`` (DEVDB_SCHEMA_FILE) from the migrations; returns its path."""
    text = HEADER_COMMENT + schema_from_migrations(settings, conninfo)
    settings.schema_file.parent.mkdir(parents=True, exist_ok=True)
    settings.schema_file.write_text(text)
    return settings.schema_file


def schema_diff(settings: Settings, conninfo: ConnInfo) -> list[str]:
    """Unified diff from ``schema.sql`` to what the migrations produce (empty: in step)."""
    path = settings.schema_file
    if not path.is_file():
        raise MigrationError(
            f"{path.name} does not exist",
            "Write it with `invoke db.schema.dump` and commit it.",
        )
    expected = HEADER_COMMENT + schema_from_migrations(settings, conninfo)
    return list(
        difflib.unified_diff(
            path.read_text().splitlines(),
            expected.splitlines(),
            fromfile=f"{path.name} (committed)",
            tofile=f"{path.name} (from migrations)",
            lineterm="",
        )
    )
