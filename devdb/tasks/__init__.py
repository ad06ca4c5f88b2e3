"""devdb's invoke tasks. Use them in any project with a two-line ``tasks.py``::

    from devdb.tasks import ns
    namespace = ns

This package is the only one that imports invoke; each module is one collection.
"""

from __future__ import annotations

from invoke.collection import Collection

from devdb.tasks import server


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
    ):
        db.add_task(t)
    root = Collection()
    root.add_collection(db)
    return root


ns = build_namespace()
