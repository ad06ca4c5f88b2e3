"""Audit events: who did what to which row, over three years (identity ids, set explicitly)."""

from _common import INVOICES, MEMBERSHIPS, NOW, ORGANIZATIONS, START, USERS

from devdb.seeds import between, choice, counts, derive, fake, ref, table

EVENTS = counts(test=10, dev=2_000, demo=100_000)
ACTIONS = {  # action: weight
    "user.login": 40,
    "user.logout": 15,
    "invoice.created": 10,
    "invoice.paid": 8,
    "membership.created": 8,
    "membership.role_changed": 4,
    "organization.updated": 5,
    "user.password_changed": 6,
    "session.revoked": 4,
}
TARGETS = {"user": USERS, "invoice": INVOICES, "membership": MEMBERSHIPS}


def _target_type(r):
    kind = r["action"].split(".", 1)[0]
    return "organization" if kind == "organization" else kind if kind in TARGETS else "user"


def _target_id(r):
    kind = r["_target"]
    if kind == "organization":
        return r["organization_id"]
    table_name = TARGETS[kind]
    return r.ref(table_name, r.hash() % r.count(table_name))


events = table(
    "audit.events",
    rows=EVENTS,
    id="identity",
    columns={
        "organization_id": ref(ORGANIZATIONS, null=0.05),
        "actor_id": ref(USERS, null=0.1),
        "action": choice(ACTIONS),
        "_target": derive(_target_type),
        "target_type": derive(lambda r: r["_target"]),
        "target_id": derive(_target_id),
        "occurred_at": between(START, NOW),
        "_ip": fake("ipv4_public"),
        "payload": derive(
            lambda r: {"ip": r["_ip"], "via": r.pick(("web", "api", "cli", "mobile"))}
        ),
    },
)
