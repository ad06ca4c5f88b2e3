"""The demo application's own tests, on devdb's fixtures (``db_conn``: rolled back after each).

Run them with capture on to see the statements they make the database run, with plans::

    pytest examples/app --devdb-capture --devdb-profile dev
"""

from __future__ import annotations

from typing import Any

import demo_app
import psycopg


def any_user(conn: psycopg.Connection[Any]) -> tuple[Any, str]:
    row = conn.execute(
        'SELECT id, email FROM "user".users WHERE deleted_at IS NULL ORDER BY email LIMIT 1'
    ).fetchone()
    assert row is not None
    return row[0], row[1]


def test_login_lookup_ignores_case(db_conn: psycopg.Connection[Any]) -> None:
    user_id, email = any_user(db_conn)
    found = demo_app.user_by_email(db_conn, email.upper())
    assert found is not None and found[0] == user_id


def test_unknown_email_finds_nobody(db_conn: psycopg.Connection[Any]) -> None:
    assert demo_app.user_by_email(db_conn, "nobody@nowhere.invalid") is None


def test_activity_feed_is_newest_first(db_conn: psycopg.Connection[Any]) -> None:
    for (actor,) in db_conn.execute(
        "SELECT actor_id FROM audit.events WHERE actor_id IS NOT NULL GROUP BY 1 LIMIT 5"
    ).fetchall():
        events = demo_app.recent_events(db_conn, actor)
        assert events and [e[0] for e in events] == sorted((e[0] for e in events), reverse=True)


def test_members_page_lists_owners_first(db_conn: psycopg.Connection[Any]) -> None:
    row = db_conn.execute(
        'SELECT o.slug FROM "user".organizations o '
        'JOIN "user".memberships m ON m.organization_id = o.id GROUP BY 1 LIMIT 1'
    ).fetchone()
    assert row is not None
    members = demo_app.organization_members(db_conn, row[0])
    roles = [role for _, role in members]
    assert roles == sorted(roles, key=lambda r: r != "owner")


def test_rename_is_seen_by_the_next_lookup(db_conn: psycopg.Connection[Any]) -> None:
    user_id, email = any_user(db_conn)
    demo_app.rename_user(db_conn, user_id, "Renamed Person")
    found = demo_app.user_by_email(db_conn, email)
    assert found is not None and found[1] == "Renamed Person"
