"""A tiny slice of the demo application: the data access a web app of this schema would do.

Used by ``test_demo_app.py`` to show ``pytest --devdb-capture`` at work: the statements below
are what the capture report lists, with their plans, slowest first.
"""

from __future__ import annotations

from typing import Any

import psycopg


def user_by_email(conn: psycopg.Connection[Any], email: str) -> tuple[Any, ...] | None:
    """The login form's lookup (unique index on lower(email))."""
    return conn.execute(
        'SELECT id, full_name, status FROM "user".users '
        "WHERE lower(email) = lower(%s) AND deleted_at IS NULL",
        (email,),
    ).fetchone()


def recent_events(conn: psycopg.Connection[Any], actor_id: Any, limit: int = 20) -> list[Any]:
    """An actor's activity feed, newest first (index on audit.events.actor_id)."""
    return conn.execute(
        "SELECT occurred_at, action, target_type FROM audit.events "
        "WHERE actor_id = %s ORDER BY occurred_at DESC LIMIT %s",
        (actor_id, limit),
    ).fetchall()


def organization_members(conn: psycopg.Connection[Any], slug: str) -> list[Any]:
    """The members page of an organization, owners first."""
    return conn.execute(
        'SELECT u.full_name, m.role FROM "user".organizations o '
        'JOIN "user".memberships m ON m.organization_id = o.id '
        'JOIN "user".users u ON u.id = m.user_id '
        "WHERE o.slug = %s ORDER BY m.role = 'owner' DESC, u.full_name",
        (slug,),
    ).fetchall()


def rename_user(conn: psycopg.Connection[Any], user_id: Any, name: str) -> None:
    conn.execute('UPDATE "user".users SET full_name = %s WHERE id = %s', (name, user_id))
    conn.commit()
