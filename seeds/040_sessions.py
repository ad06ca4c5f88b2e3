"""Sessions: log-ins after the user signed up, 30 days long, a few revoked."""

from datetime import timedelta

from _common import NOW, USERS, later

from devdb.seeds import counts, derive, fake, table

SESSIONS = counts(test=8, dev=2_000, demo=100_000)
LIFETIME = timedelta(days=30)


def _created(r):
    signed_up = r.lookup(USERS, "created_at", r["_user"])
    return later(signed_up, r.unit() ** 0.5)  # skewed towards recent


def _last_seen(r):
    end = min(r["created_at"] + LIFETIME, NOW)
    return later(r["created_at"], r.unit() ** 2, end)


sessions = table(
    "auth.sessions",
    rows=SESSIONS,
    columns={
        "_user": derive(lambda r: r.hash() % r.count(USERS)),
        "user_id": derive(lambda r: r.ref(USERS, r["_user"])),
        "created_at": derive(_created),
        "expires_at": derive(lambda r: r["created_at"] + LIFETIME),
        "last_seen_at": derive(_last_seen),
        "updated_at": derive(lambda r: r["last_seen_at"]),
        "ip": fake("ipv4_public"),
        "user_agent": fake("user_agent", pool=512),
        "revoked_at": derive(
            lambda r: (
                later(r["created_at"], r.unit(), r["last_seen_at"])
                if r.unit("revoked") < 0.05
                else None
            )
        ),
    },
)
