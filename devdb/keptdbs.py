"""The test databases ``pytest --devdb-keep-failed`` kept: list them, drop them.

The plugin marks each kept database (``kind: kept`` in its comment) and never drops it; this is
the way to let them go once the failure is understood.
"""

from __future__ import annotations

from devdb.conninfo import ConnInfo
from devdb.database import ADMIN_DB, connect


def kept_databases(conninfo: ConnInfo) -> list[tuple[str, str]]:
    """(database, test) for every database the plugin kept on this server."""
    from devdb.copies.dbops import get_meta

    try:
        from devdb.pytest_plugin import PREFIX
    except ImportError:  # no pytest here: nothing can have been kept
        return []
    with connect(conninfo.for_database(ADMIN_DB), autocommit=True) as admin:
        rows = admin.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY 1", (PREFIX,)
        ).fetchall()
        kept = [(str(name), get_meta(admin, str(name))) for (name,) in rows]
    return [(name, str(meta.get("test", "?"))) for name, meta in kept if meta.get("kind") == "kept"]


def drop_kept(conninfo: ConnInfo, names: list[str]) -> None:
    from devdb.copies.dbops import drop

    with connect(conninfo.for_database(ADMIN_DB), autocommit=True) as admin:
        for name in names:
            drop(admin, name)
