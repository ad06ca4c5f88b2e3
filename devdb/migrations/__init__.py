"""SQL migrations in the sql-migrate format: parse, apply, roll back, verify, dump the schema.

Other modules call ``migrate(settings, conninfo)`` (apply all pending, returns the versions
applied) and ``files_digest(settings)`` (a digest of the files' normalized contents).
"""

from __future__ import annotations

from devdb.migrations.files import files_digest, load_migrations, new_migration
from devdb.migrations.rollback import down, plan_down, redo
from devdb.migrations.runner import accept, migrate, status

__all__ = [
    "accept",
    "down",
    "files_digest",
    "load_migrations",
    "migrate",
    "new_migration",
    "plan_down",
    "redo",
    "status",
]
