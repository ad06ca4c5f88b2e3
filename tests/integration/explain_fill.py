"""Small, fixed demo data for the EXPLAIN, psql and inspect tests (independent of seed code).

The demo schema comes from the real migrations; the rows from generate_series, a few hundred per
table, except audit.events, which gets 12,000 rows so that a scan of it counts as a large table.
"""

from __future__ import annotations

from devdb.conninfo import ConnInfo
from devdb.database import connect
from devdb.settings import Settings

FILL = """
INSERT INTO "user".organizations (id, name, slug, plan)
SELECT md5('org' || g)::uuid, 'Org ' || g, 'org-' || g,
       (ARRAY['free','team','enterprise'])[1 + g % 3]
FROM generate_series(1, 40) g;
INSERT INTO "user".users (id, email, full_name, city, status)
SELECT md5('user' || g)::uuid, 'user' || g || '@example.com', 'User ' || g, 'Oslo',
       (ARRAY['active','invited','disabled'])[1 + g % 3]
FROM generate_series(1, 400) g;
INSERT INTO "user".memberships (id, organization_id, user_id, role)
SELECT md5('m' || g)::uuid, md5('org' || (1 + g % 40))::uuid, md5('user' || g)::uuid,
       (ARRAY['owner','admin','member','billing'])[1 + g % 4]
FROM generate_series(1, 400) g;
INSERT INTO auth.sessions (id, user_id, expires_at, revoked_at)
SELECT md5('s' || g)::uuid, md5('user' || (1 + g % 400))::uuid, now() + g * interval '1 hour',
       CASE WHEN g % 4 = 0 THEN now() END
FROM generate_series(1, 600) g;
INSERT INTO billing.invoices (id, organization_id, number, status, issued_at, due_at, paid_at,
                              total_cents)
SELECT md5('i' || g)::uuid, md5('org' || (1 + g % 40))::uuid, 'INV-' || g,
       (ARRAY['draft','open','paid','void'])[1 + g % 4], now() - g * interval '1 day',
       now() - g * interval '1 day' + interval '30 days',
       CASE WHEN g % 4 = 2 THEN now() - g * interval '1 day' END, 2000
FROM generate_series(1, 300) g;
INSERT INTO billing.invoice_lines (id, invoice_id, position, description, quantity,
                                   unit_price_cents, amount_cents)
SELECT md5('l' || g || '-' || p)::uuid, md5('i' || g)::uuid, p, 'Line ' || p, 1, 1000, 1000
FROM generate_series(1, 300) g, generate_series(1, 2) p;
INSERT INTO audit.events (organization_id, actor_id, action, target_type, occurred_at)
SELECT md5('org' || (1 + g % 40))::uuid, md5('user' || (1 + g % 400))::uuid,
       (ARRAY['user.login','invoice.paid','member.added'])[1 + g % 3], 'invoice',
       now() - g * interval '1 minute'
FROM generate_series(1, 12000) g;
"""


def demo_database(settings: Settings) -> ConnInfo:
    """Migrate the project's scratch database and fill it; returns its owner ConnInfo."""
    from devdb.conninfo import parse_url
    from devdb.migrations import migrate

    assert settings.database_url
    conninfo = parse_url(settings.database_url)
    migrate(settings, conninfo)
    with connect(conninfo, autocommit=True) as conn:
        conn.execute(FILL)
    return conninfo
