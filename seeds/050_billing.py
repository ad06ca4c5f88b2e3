"""Invoices and their lines: every invoice's total_cents is the sum of its lines' amounts.

Invoice ``n`` has 1-5 lines; line slot ``p`` of invoice ``n`` is row ``5 n + p`` of the lines
table (rows past the invoice's line count are left out with ``only_if``). Both tables compute the
lines with ``line(n, p)``, so the totals agree without reading the database.
"""

from datetime import timedelta

from _common import DAY, INVOICES, NOW, ORGANIZATIONS, later

from devdb.seeds import choice, counts, derive, hash_at, salt, table

INVOICE_COUNTS = counts(test=4, dev=1_000, demo=20_000)
SLOTS = 5
ITEMS = (  # description, lowest and highest unit price in cents
    ("Team plan seat (monthly)", 900, 2_900),
    ("Enterprise plan seat (monthly)", 4_900, 9_900),
    ("Additional storage, 100 GB", 500, 1_500),
    ("Priority support", 19_900, 49_900),
    ("API requests, per 10,000", 100, 400),
    ("Onboarding session", 25_000, 75_000),
    ("SSO add-on", 2_000, 5_000),
    ("Audit log retention, 1 year", 1_000, 3_000),
)
_COUNT_SALT = salt(INVOICES, "line count")
_LINE_SALT = salt(INVOICES, "line")


def line_count(invoice: int) -> int:
    return 1 + hash_at(_COUNT_SALT, invoice) % SLOTS


def line(invoice: int, position: int) -> tuple[str, int, int]:
    """(description, quantity, unit price in cents) of one line."""
    h = hash_at(_LINE_SALT, invoice * SLOTS + position)
    description, low, high = ITEMS[h % len(ITEMS)]
    quantity = 1 + (h >> 8) % 25
    unit_price = low + ((h >> 16) % (high - low + 1)) // 100 * 100
    return description, quantity, unit_price


def total(invoice: int) -> int:
    return sum(q * p for _, q, p in (line(invoice, k) for k in range(line_count(invoice))))


def _issued(r):
    """After the organization was created, before today."""
    return later(r.lookup(ORGANIZATIONS, "created_at", r["_org"]), r.unit(), NOW - DAY)


def _status(r):
    if r["due_at"] > NOW:
        return r.pick(("open", "open", "open", "draft"))
    return r.pick(("paid",) * 16 + ("open", "open", "void", "uncollectible"))


invoices = table(
    INVOICES,
    rows=INVOICE_COUNTS,
    columns={
        "_org": derive(lambda r: r.hash() % r.count(ORGANIZATIONS)),
        "organization_id": derive(lambda r: r.ref(ORGANIZATIONS, r["_org"])),
        "number": derive(lambda r: f"INV-{r.i + 1:06d}"),
        "issued_at": derive(_issued),
        "due_at": derive(lambda r: r["issued_at"] + timedelta(days=30)),
        "status": derive(_status),
        "currency": choice({"USD": 80, "EUR": 15, "GBP": 5}),
        "paid_at": derive(
            lambda r: (
                later(r["issued_at"], r.unit() * 0.8, r["due_at"])
                if r["status"] == "paid"
                else None
            )
        ),
        "total_cents": derive(lambda r: total(r.i)),
        "created_at": derive(lambda r: r["issued_at"]),
        "updated_at": derive(lambda r: r["paid_at"] or r["issued_at"]),
    },
)

invoice_lines = table(
    "billing.invoice_lines",
    rows=INVOICE_COUNTS * SLOTS,
    only_if=lambda r: r.i % SLOTS < line_count(r.i // SLOTS),
    columns={
        "_line": derive(lambda r: line(r.i // SLOTS, r.i % SLOTS)),
        "invoice_id": derive(lambda r: r.ref(INVOICES, r.i // SLOTS)),
        "position": derive(lambda r: r.i % SLOTS + 1),
        "description": derive(lambda r: r["_line"][0]),
        "quantity": derive(lambda r: r["_line"][1]),
        "unit_price_cents": derive(lambda r: r["_line"][2]),
        "amount_cents": derive(lambda r: r["_line"][1] * r["_line"][2]),
        "created_at": derive(lambda r: r.lookup(INVOICES, "issued_at", r.i // SLOTS)),
        "updated_at": derive(lambda r: r["created_at"]),
    },
)
