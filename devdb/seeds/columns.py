"""Column generators: what a seed file puts in ``table(..., columns={...})``.

Each generator returns one value per row of ``ctx.rows``, computed from the cell hashes of
(seed, table, column, row), so any row can be built alone and in any process.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from devdb.errors import SeedError
from devdb.seeds import hashing
from devdb.seeds.api import Context, Row, lookup_table


class Spec:
    """A column generator: ``values`` returns one value per row of ``ctx.rows``."""

    null: float = 0.0

    def values(self, ctx: Context) -> list[Any]:
        raise NotImplementedError

    def generate(self, ctx: Context) -> list[Any]:
        out = self.values(ctx)
        if self.null > 0:
            limit = int(self.null * 1_000_000)
            flags = hashing.hashes(ctx.table.salt(ctx.column + "/null"), ctx.rows)
            out = [None if h % 1_000_000 < limit else v for v, h in zip(out, flags, strict=True)]
        return out


@dataclass(frozen=True)
class Fake(Spec):
    """A Faker value, drawn by hash from a pool of ``pool`` values made once per process."""

    provider: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    locale: str = "en_US"
    pool: int = 2048
    null: float = 0.0

    def values(self, ctx: Context) -> list[Any]:
        from devdb.seeds.pools import get_pool

        pool = get_pool(self)
        n = len(pool)
        return [pool[h % n] for h in hashing.hashes(ctx.salt, ctx.rows)]


def fake(
    provider: str,
    *args: Any,
    locale: str = "en_US",
    pool: int = 2048,
    null: float = 0.0,
    **kwargs: Any,
) -> Fake:
    """A Faker provider, e.g. ``fake("name")``, ``fake("city", locale="de_DE", null=0.1)``.
    Values come from a pool of ``pool`` values, so they repeat: for a UNIQUE column use
    ``fake_unique``."""
    return Fake(provider, args, tuple(sorted(kwargs.items())), locale, pool, null)


@dataclass(frozen=True)
class UniqueFake(Fake):
    """``fake`` whose text values never repeat within a table: the row number is worked in."""

    def values(self, ctx: Context) -> list[Any]:
        return [_numbered(v, i) for v, i in zip(super().values(ctx), ctx.rows, strict=True)]


def _numbered(value: Any, i: int) -> str:
    """``ann@example.org`` -> ``ann+17@example.org``; ``Ann Lee`` -> ``Ann Lee 17``."""
    if not isinstance(value, str):
        raise SeedError(
            f"fake_unique() makes text unique; the provider gave {type(value).__name__}"
        )
    local, at, domain = value.rpartition("@")
    return f"{local}+{i}@{domain}" if at and local else f"{value} {i}"


def fake_unique(
    provider: str, *args: Any, locale: str = "en_US", pool: int = 2048, **kwargs: Any
) -> UniqueFake:
    """A Faker value made unique per row, for UNIQUE columns: ``fake_unique("email")`` gives
    ``name+ROW@domain``, other text gets `` ROW`` appended (``fake`` draws from a pool of 2,048
    values, so a column of more rows than that always repeats, and fewer often do)."""
    return UniqueFake(provider, args, tuple(sorted(kwargs.items())), locale, pool, 0.0)


@dataclass(frozen=True)
class Choice(Spec):
    table_: tuple[Any, ...]
    null: float = 0.0

    def values(self, ctx: Context) -> list[Any]:
        t = self.table_
        n = len(t)
        return [t[h % n] for h in hashing.hashes(ctx.salt, ctx.rows)]


def choice(options: Sequence[Any] | Mapping[Any, int], *, null: float = 0.0) -> Choice:
    """One of ``options``; a mapping gives integer weights: ``{"free": 70, "team": 30}``."""
    if isinstance(options, Mapping):
        weights = [int(w) for w in options.values()]
        if any(w < 0 for w in weights) or sum(weights) > 100_000:
            raise SeedError(
                "choice() weights must be whole numbers >= 0 that add up to at most 100,000"
            )
        step = math.gcd(*weights) or 1  # {"a": 70, "b": 30} is a table of 10, not of 100
        expanded = tuple(v for v, w in options.items() for _ in range(w // step))
    else:
        expanded = tuple(options)
    if not expanded:
        raise SeedError("choice() needs at least one option")
    return Choice(expanded, null)


@dataclass(frozen=True)
class Between(Spec):
    start: datetime
    seconds: int
    null: float = 0.0

    def values(self, ctx: Context) -> list[Any]:
        start, span = self.start, self.seconds
        return [start + timedelta(seconds=h % span) for h in hashing.hashes(ctx.salt, ctx.rows)]


def between(start: datetime, end: datetime, *, null: float = 0.0) -> Between:
    """A timestamp in [start, end), to the second. Use aware datetimes (UTC)."""
    seconds = int((end - start).total_seconds())
    if seconds <= 0:
        raise SeedError(f"between(): end {end} is not after start {start}")
    return Between(start, seconds, null)


@dataclass(frozen=True)
class Integer(Spec):
    low: int
    high: int
    null: float = 0.0

    def values(self, ctx: Context) -> list[Any]:
        low, span = self.low, self.high - self.low + 1
        return [low + h % span for h in hashing.hashes(ctx.salt, ctx.rows)]


def integer(low: int, high: int, *, null: float = 0.0) -> Integer:
    """A whole number in [low, high]."""
    return Integer(low, high, null)


@dataclass(frozen=True)
class Ref(Spec):
    """The id of a row of another table: a hash-picked row, or ``row(r)`` when given."""

    target: str
    row: Callable[[Row], int] | None = None
    null: float = 0.0

    def values(self, ctx: Context) -> list[Any]:
        target = lookup_table(self.target)
        pick = self.row
        if pick is not None:
            return Derive(lambda r: target.id_of(pick(r))).values(ctx)
        n = target.count(ctx.profile, ctx.scale)
        if n == 0:
            where = f"{ctx.table.name}.{ctx.column}"
            raise SeedError(f"{where} refers to {self.target}, which has no rows in this profile")
        return [target.id_of(h % n) for h in hashing.hashes(ctx.salt, ctx.rows)]


def ref(target: str, row: Callable[[Row], int] | None = None, *, null: float = 0.0) -> Ref:
    """The id of a row of ``target`` (any row by hash, or the row ``row(r)`` returns)."""
    return Ref(target, row, null)


@dataclass(frozen=True)
class Derive(Spec):
    """Any per-row function of ``r`` (row number, earlier columns, hashes, other seeds' rows)."""

    fn: Callable[[Row], Any]
    null: float = 0.0

    def values(self, ctx: Context) -> list[Any]:
        r = Row(ctx)
        fn = self.fn
        out = []
        k = 0
        for k, i in enumerate(ctx.rows):
            r.i, r._k = i, k
            out.append(fn(r))
        return out


def derive(fn: Callable[[Row], Any], *, null: float = 0.0) -> Derive:
    """A value computed from the row: ``derive(lambda r: r["created_at"] + timedelta(days=30))``."""
    return Derive(fn, null)


def const(value: Any) -> Derive:
    """The same value in every row."""
    return Derive(lambda r: value)
