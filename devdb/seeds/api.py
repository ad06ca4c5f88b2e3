"""The seed definition API: a table, how many rows per profile, and how to build each column
(the column generators are in ``columns``).

A seed file in ``seeds/`` declares tables at module level::

    from devdb.seeds import between, choice, counts, derive, fake, ref, table

    USERS = counts(test=5, dev=1_500, demo=50_000)

    users = table(
        "user.users",
        rows=USERS,
        columns={
            "full_name": fake("name"),
            "email": derive(lambda r: f"user{r.i}@example.com"),
            "status": choice({"active": 90, "invited": 7, "disabled": 3}),
            "created_at": between(START, END),
        },
    )

Row ``i`` of a table has the natural key (table, i); its ``id`` is ``uuid5`` of that key (or
``i + 1`` for identity columns), so another seed refers to it with ``ref("user.users")`` or
``row_id("user.users", i)`` without asking the database. Every value is derived from a hash of
(seed, table, row, column): see ``hashing``. Columns whose name starts with ``_`` are helpers
other columns can read; they are not loaded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from devdb.errors import SeedError
from devdb.seeds import hashing

if TYPE_CHECKING:
    from devdb.seeds.columns import Spec

# table name ("schema.table") -> Table, filled while seed files are imported.
REGISTRY: dict[str, Table] = {}


# --- row counts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """Rows per profile; ``resolve`` applies the scale factor (rounded up)."""

    per_profile: Mapping[str, int]
    default: int | None = None

    def resolve(self, profile: str, scale: float, table: str = "") -> int:
        n = self.per_profile.get(profile, self.default)
        if n is None:
            known = ", ".join(sorted(self.per_profile))
            raise SeedError(
                f"table {table or '?'} has no row count for profile {profile!r} (has: {known})",
                "Add the profile to the table's counts(...), or give counts(..., default=N).",
            )
        return max(0, math.ceil(n * scale - 1e-9))

    def __mul__(self, factor: int) -> Counts:
        default = None if self.default is None else self.default * factor
        return Counts({k: v * factor for k, v in self.per_profile.items()}, default)


def counts(*, default: int | None = None, **per_profile: int) -> Counts:
    """Row counts per profile, e.g. ``counts(test=3, dev=200, demo=1_000)``."""
    return Counts(dict(per_profile), default)


# --- the context a column is generated in -----------------------------------------------------


@dataclass
class Context:
    """What a column generator sees: the table, the rows being built, the profile, the scale,
    and the columns already built for these rows (for ``derive``)."""

    table: Table
    column: str
    rows: Sequence[int]
    profile: str
    scale: float
    built: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def salt(self) -> int:
        return self.table.salt(self.column)

    def count(self, table: str) -> int:
        """How many rows (row numbers) ``table`` has in this profile and scale."""
        return lookup_table(table).count(self.profile, self.scale)

    def column_of(self, table: str, column: str) -> Sequence[Any]:
        """Every value of ``column`` of ``table`` (computed once per process, then cached;
        timestamps and numbers in 8 bytes each)."""
        target = lookup_table(table)
        key = (column, self.profile, self.scale)
        if key not in target.column_cache:
            target.column_cache[key] = _column(target, column, self.profile, self.scale)
        return target.column_cache[key]


def _column(target: Table, column: str, profile: str, scale: float) -> Sequence[Any]:
    from devdb.seeds.compact import compact, join

    count = target.count(profile, scale)
    parts = []
    for lo in range(0, count, 50_000):  # in slices, so the full list of objects never exists
        rows = range(lo, min(lo + 50_000, count))
        parts.append(compact(target.build_columns(rows, profile, scale, upto=column)[column]))
    return join(parts)


class Row:
    """What a ``derive`` function gets for each row: ``r.i``, ``r["earlier column"]``, hashes."""

    __slots__ = ("_ctx", "_k", "i")

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._k = 0
        self.i = 0

    def __getitem__(self, column: str) -> Any:
        try:
            return self._ctx.built[column][self._k]
        except KeyError:
            raise KeyError(f"{column!r} is not a column declared before this one") from None

    def hash(self, name: str = "") -> int:
        """A 64-bit hash of (seed, table, row, this column, ``name``)."""
        return hashing.hash_at(self._ctx.table.salt(f"{self._ctx.column}/{name}"), self.i)

    def unit(self, name: str = "") -> float:
        """A float in [0, 1) for this row and ``name``."""
        return hashing.unit(self.hash(name))

    def pick(self, options: Sequence[Any], name: str = "") -> Any:
        return options[self.hash(name) % len(options)]

    def count(self, table: str) -> int:
        return self._ctx.count(table)

    def ref(self, table: str, row: int) -> Any:
        """The id of row ``row`` of ``table`` (no database round trip)."""
        return lookup_table(table).id_of(row)

    def lookup(self, table: str, column: str, row: int) -> Any:
        """The value of ``column`` in row ``row`` of ``table`` (another seed's row)."""
        return self._ctx.column_of(table, column)[row]


# --- tables --------------------------------------------------------------------------------


@dataclass(eq=False)
class Table:
    """One seeded table. ``id``: "uuid" (uuid5 of table and row number), "identity" (row + 1,
    sequence moved past it) or None (no id column: ``key`` names the conflict columns)."""

    name: str
    rows: Counts | int
    columns: dict[str, Spec]
    id: str | None = "uuid"
    key: tuple[str, ...] = ("id",)
    only_if: Callable[[Row], bool] | None = None
    prune: bool = True
    seed: str = ""
    column_cache: dict[tuple[str, str, float], Sequence[Any]] = field(default_factory=dict)
    _salts: dict[str, int] = field(default_factory=dict)

    @property
    def schema(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def relname(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def load_columns(self) -> list[str]:
        """Columns written to the database, in COPY order."""
        cols = [c for c in self.columns if not c.startswith("_")]
        return (["id"] if self.id else []) + cols

    def salt(self, column: str) -> int:
        s = self._salts.get(column)
        if s is None:
            s = self._salts[column] = hashing.salt(self.seed, self.name, column)
        return s

    def count(self, profile: str, scale: float) -> int:
        """Row numbers 0..count-1 exist (before ``only_if``)."""
        if isinstance(self.rows, int):
            return self.rows
        return self.rows.resolve(profile, scale, self.name)

    def id_of(self, row: int) -> Any:
        if self.id == "identity":
            return row + 1
        if self.id == "uuid":
            return hashing.row_id(self.name, row)
        raise SeedError(f"{self.name} has no id column to refer to")

    def kept_rows(self, rows: Sequence[int], profile: str, scale: float) -> Sequence[int]:
        if self.only_if is None:
            return rows
        from devdb.seeds.columns import Derive

        ctx = Context(self, "_only_if", rows, profile, scale)
        keep = Derive(self.only_if).values(ctx)
        return [i for i, k in zip(rows, keep, strict=True) if k]

    def build_columns(
        self, rows: Sequence[int], profile: str, scale: float, *, upto: str | None = None
    ) -> dict[str, list[Any]]:
        """Every column (helpers included) for ``rows``, in declaration order."""
        built: dict[str, list[Any]] = {}
        if self.id == "uuid":
            built["id"] = hashing.row_ids(self.name, rows)
        elif self.id == "identity":
            built["id"] = [i + 1 for i in rows]
        if upto == "id":
            return built
        for column, spec in self.columns.items():
            ctx = Context(self, column, rows, profile, scale, built)
            built[column] = spec.generate(ctx)
            if column == upto:
                break
        return built


def table(
    name: str,
    *,
    rows: Counts | int,
    columns: Mapping[str, Spec],
    id: str | None = "uuid",
    key: Sequence[str] | None = None,
    only_if: Callable[[Row], bool] | None = None,
    prune: bool = True,
) -> Table:
    """Declare a seeded table (see the module docstring). ``prune=False`` keeps rows that are no
    longer in the output; ``only_if(r)`` drops row numbers (for a variable number of children)."""
    if id not in {"uuid", "identity", None}:
        raise SeedError(f"table {name}: id must be 'uuid', 'identity' or None, not {id!r}")
    if key is None and id is None:
        raise SeedError(f"table {name}: without an id column, key=(...) must name unique columns")
    return Table(
        normalize_name(name),
        rows,
        dict(columns),
        id,
        tuple(key or ("id",)),
        only_if,
        prune,
    )


@lru_cache(maxsize=1024)
def normalize_name(name: str) -> str:
    """``'"user".users'`` or ``user.users`` -> ``user.users`` (``public.`` when unqualified)."""
    parts = [p.strip().strip('"') for p in name.split(".")]
    if len(parts) == 1:
        parts.insert(0, "public")
    if len(parts) != 2 or not all(parts):
        raise SeedError(f"table name {name!r} is not schema.table")
    return f"{parts[0]}.{parts[1]}"


def lookup_table(name: str) -> Table:
    try:
        return REGISTRY[normalize_name(name)]
    except KeyError:
        raise SeedError(
            f"no seed declares table {name}",
            "Declare it with table(...) in a seed file that sorts before the one referring to it.",
        ) from None


def row_id(table_name: str, row: int) -> Any:
    """The id of row ``row`` of a seeded table, e.g. for a fixed owner in a .sql-free helper."""
    return lookup_table(table_name).id_of(row)
