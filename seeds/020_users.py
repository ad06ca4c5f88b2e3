"""Users: a realistic name, a unique email derived from it, an optional city."""

from _common import DAY, NOW, START, email_local, later

from devdb.seeds import between, choice, counts, derive, fake, table

USERS = counts(test=6, dev=1_500, demo=50_000)

users = table(
    "user.users",
    rows=USERS,
    columns={
        "_first": fake("first_name"),
        "_last": fake("last_name"),
        "_domain": fake("free_email_domain", pool=64),
        "email": derive(
            lambda r: f"{email_local(r['_first'], r['_last'])}{r.i + 1}@{r['_domain']}"
        ),
        "full_name": derive(lambda r: f"{r['_first']} {r['_last']}"),
        "city": fake("city", null=0.08),
        "status": choice({"active": 90, "invited": 7, "disabled": 3}),
        "created_at": between(START, NOW - DAY),
        "updated_at": derive(lambda r: later(r["created_at"], r.unit() ** 2)),
        "deleted_at": derive(
            lambda r: later(r["updated_at"], r.unit()) if r.unit("deleted") < 0.01 else None
        ),
    },
)
