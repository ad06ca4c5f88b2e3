"""A query file means the same to db.explain as to the real psql (``psql -v name=value -f``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from devdb.conninfo import ConnInfo
from devdb.database import connect
from devdb.explain.queries import parse_query, render_sql

QUERY = (
    "-- param: v = 7\n"
    "SELECT :'v' AS a, $$ :v; $$ AS b, $t$ :'v' $t$ AS c, /* :v /* :v */ :v */ ' :v ' AS d,\n"
    "       E'it\\'s :v' AS e, 'x '' :v' AS f, :v + 1 AS \"g:v\";\n"
)


def test_rendered_query_returns_what_psql_returns(
    server_conninfo: ConnInfo, tmp_path: Path
) -> None:
    path = tmp_path / "vars.sql"
    path.write_text(QUERY)
    psql = shutil.which("psql")
    assert psql, "psql is not installed (apt-get install postgresql-client)"
    env = dict(os.environ, PGPASSWORD=server_conninfo.password or "")
    result = subprocess.run(
        [psql, "-X", "-At", "-F", "|", "-v", "ON_ERROR_STOP=1", "-v", "v=7", "-f", str(path),
         "-h", server_conninfo.host, "-p", str(server_conninfo.port),
         "-U", server_conninfo.user, "-d", server_conninfo.dbname],
        env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with connect(server_conninfo, autocommit=True) as conn:
        row = conn.execute(render_sql(parse_query(path), {"v": "7"})).fetchone()  # type: ignore[arg-type]
    assert row is not None
    assert result.stdout.rstrip("\n") == "|".join(str(v) for v in row)
    assert row == ("7", " :v; ", " :'v' ", " :v ", "it's :v", "x ' :v", 8)
