"""devdb's invoke tasks. Use them in any project with a two-line ``tasks.py``::

    from devdb.tasks import ns
    namespace = ns

This package is the only one that imports invoke; each module is one collection.
"""

from __future__ import annotations

from invoke.collection import Collection

from devdb.tasks import explain as explain_tasks
from devdb.tasks import init, server
from devdb.tasks import inspect as inspect_tasks
from devdb.tasks import migrate as migrate_tasks
from devdb.tasks import psql as psql_tasks
from devdb.tasks import reset as reset_tasks
from devdb.tasks import seed as seed_tasks
from devdb.tasks import snapshot as snapshot_tasks


def build_namespace() -> Collection:
    db = Collection("db")
    for t in (
        server.up,
        server.down,
        server.status_,
        server.url,
        server.logs,
        server.destroy,
        server.setup,
        init.init_,
        reset_tasks.reset,
        snapshot_tasks.dump,
        snapshot_tasks.load,
    ):
        db.add_task(t)
    db.add_collection(snapshot_tasks.ns)
    db.add_collection(migrate_tasks.migrate_ns)
    db.add_collection(migrate_tasks.schema_ns)
    db.add_task(psql_tasks.psql)
    db.add_task(inspect_tasks.inspect_)
    db.add_collection(explain_tasks.ns)
    db.add_collection(seed_tasks.ns)
    root = Collection()
    root.add_collection(db)
    return root


ns = build_namespace()
