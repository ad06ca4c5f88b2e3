"""Shared by the demo seeds: the fixed clock they are anchored to, and small helpers.

Seeded data must not depend on when it is loaded, so "now" is a fixed instant: sessions, invoices
and events are spread over the three years before it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

NOW = datetime(2026, 1, 1, tzinfo=UTC)
START = datetime(2023, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)

ORGANIZATIONS = "user.organizations"
USERS = "user.users"
MEMBERSHIPS = "user.memberships"
INVOICES = "billing.invoices"


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "org"


def email_local(*parts: str) -> str:
    return ".".join(re.sub(r"[^a-z0-9]+", "", p.lower()) for p in parts)


def later(start: datetime, fraction: float, end: datetime = NOW) -> datetime:
    """A moment between ``start`` and ``end`` (to the second), ``fraction`` of the way."""
    span = max(0, int((end - start).total_seconds()))
    return start + timedelta(seconds=int(span * fraction))
