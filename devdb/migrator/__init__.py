"""The migrator seam: one object that knows what migrates the project's schema.

``get_migrator(settings)`` returns the migrator DEVDB_MIGRATOR names: ``sql`` (devdb's own runner,
the default), ``alembic``, ``django`` or ``command``. Templates, resets, test databases, seeds,
schema dumps and verify ask it for ``digest()`` and ``migrate(conninfo)`` (and, where the tool
has them, ``status``, ``down``, ``new``, ``verify``); nothing outside this package knows which one
is in use. See ``base.py`` for the protocol.
"""

from __future__ import annotations

from devdb.migrator.base import Migrator, Progress, Step
from devdb.settings import Settings

__all__ = ["Migrator", "Progress", "Step", "applied_summary", "digest", "get_migrator"]


def get_migrator(settings: Settings) -> Migrator:
    """The migrator of DEVDB_MIGRATOR (validated by the settings)."""
    if settings.migrator == "alembic":
        from devdb.migrator.alembic import AlembicMigrator

        return AlembicMigrator(settings)
    if settings.migrator == "django":
        from devdb.migrator.django import DjangoMigrator

        return DjangoMigrator(settings)
    if settings.migrator == "command":
        from devdb.migrator.command import CommandMigrator

        return CommandMigrator(settings)
    from devdb.migrator.sql import SqlMigrator

    return SqlMigrator(settings)


def digest(settings: Settings) -> str:
    """The digest of the migrator's inputs (cheap: reads files, never runs the tool)."""
    return get_migrator(settings).digest()


def applied_summary(applied: list[str] | None, *, dry_run: bool = False) -> str:
    """``applied 3 migration(s)``; a command migrator does not say what it applied."""
    if applied is None:
        return "ran the migrate command"
    return f"{'would apply' if dry_run else 'applied'} {len(applied)} migration(s)"
