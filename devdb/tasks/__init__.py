"""devdb's invoke tasks. Use them in any project with a two-line ``tasks.py``::

    from devdb.tasks import ns
    namespace = ns

This package is the only one that imports invoke; each module is one collection.
"""

from __future__ import annotations

from typing import Any

from invoke.collection import Collection
from invoke.tasks import Task

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
        server.drop_kept,
        server.upgrade,
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
    _keep_h_for_help(db)
    db.configure(_config_defaults())
    root = Collection()
    root.add_collection(db)
    root.configure(_config_defaults())
    return root


def _config_defaults() -> dict[str, Any]:
    """An empty ``devdb:`` section naming every setting, so invoke's own environment variables
    (``INVOKE_DEVDB_BACKEND=native``) fill it like ``invoke.yaml`` does."""
    from devdb.settings import VARIABLES

    return {"devdb": dict.fromkeys((v.attr for v in VARIABLES if v.attr != "root"), None)}


class _HelpSafe(Task[Any]):
    """Mixed into every devdb task: automatic short flags never take ``-h``, which stays
    invoke's help (``db.reset -h`` was ``--hard``)."""

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        return super().arg_opts(name, default, taken_names | {"h"})


def _keep_h_for_help(collection: Collection) -> None:
    for each in collection.tasks.values():
        if not isinstance(each, _HelpSafe):
            each.__class__ = type(f"HelpSafe{type(each).__name__}", (_HelpSafe, type(each)), {})
    for sub in collection.collections.values():
        _keep_h_for_help(sub)


ns = build_namespace()
