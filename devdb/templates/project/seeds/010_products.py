"""Example seed (from `devdb init`) for the first migration's table, catalog.products.

`counts` gives the rows per profile: `test` (a few fixed rows, for tests), `dev` (everyday work),
`demo` (enough data for EXPLAIN to mean something); DEVDB_PROFILE picks one, DEVDB_SCALE
multiplies. Every value is derived from the row number, so each load gives the same data and a
second load changes nothing. Replace it with seeds for your own tables.
"""

from devdb.seeds import counts, derive, fake, integer, table

products = table(
    "catalog.products",
    rows=counts(test=5, dev=200, demo=5_000),
    columns={
        "sku": derive(lambda r: f"SKU-{r.i + 1:06d}"),
        "name": fake("catch_phrase"),
        "price_cents": integer(100, 50_000),
    },
)
