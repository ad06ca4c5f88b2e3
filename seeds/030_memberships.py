"""Memberships: every user belongs to one organization, some to a second one (never twice)."""

from _common import MEMBERSHIPS, NOW, ORGANIZATIONS, USERS, later

from devdb.seeds import choice, counts, derive, hash_at, salt, table

MEMBERSHIPS_PER_PROFILE = counts(test=8, dev=1_800, demo=60_000)
_ORG_SALT = salt(MEMBERSHIPS, "organization of user")


def _user(r):
    return r.i % r.count(USERS)


def _org(r):
    """The n-th membership of a user is in a different organization for each n."""
    orgs = r.count(ORGANIZATIONS)
    nth = r.i // r.count(USERS)
    return (hash_at(_ORG_SALT, r["_user"]) + nth) % orgs


def _joined(r):
    user_created = r.lookup(USERS, "created_at", r["_user"])
    org_created = r.lookup(ORGANIZATIONS, "created_at", r["_org"])
    return later(max(user_created, org_created), r.unit() ** 3)


memberships = table(
    MEMBERSHIPS,
    rows=MEMBERSHIPS_PER_PROFILE,
    columns={
        "_user": derive(_user),
        "_org": derive(_org),
        "organization_id": derive(lambda r: r.ref(ORGANIZATIONS, r["_org"])),
        "user_id": derive(lambda r: r.ref(USERS, r["_user"])),
        "role": choice({"owner": 4, "admin": 12, "member": 76, "billing": 8}),
        "created_at": derive(_joined),
        "updated_at": derive(lambda r: later(r["created_at"], r.unit(), NOW)),
    },
)
