"""Organizations: the tenants. A few are soft-deleted."""

from _common import DAY, NOW, START, later, slugify

from devdb.seeds import between, choice, counts, derive, fake, table

ORGANIZATIONS = counts(test=3, dev=200, demo=1_000)

organizations = table(
    "user.organizations",
    rows=ORGANIZATIONS,
    columns={
        "name": fake("company"),
        "slug": derive(lambda r: f"{slugify(r['name'])}-{r.i + 1}"),
        "plan": choice({"free": 60, "team": 32, "enterprise": 8}),
        "created_at": between(START, NOW - 60 * DAY),
        "updated_at": derive(lambda r: later(r["created_at"], r.unit())),
        "deleted_at": derive(
            lambda r: later(r["updated_at"], r.unit()) if r.unit("deleted") < 0.02 else None
        ),
    },
)
