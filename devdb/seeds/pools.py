"""Faker value pools: a few thousand values per (provider, arguments, locale), made once.

Faker costs 30-100 microseconds a call; a pool turns that into one list lookup per row. A pool
is made from a Faker instance seeded with a hash of its own definition, so it is the same on
every machine for one Faker version (the README says what an upgrade can change). Weighting is
off (``use_weighting=False``): faster, and independent of Faker's frequency tables.

Pools of plain values (text, numbers) are also kept as JSON files in the project's state folder,
named by a digest of their definition and the Faker version, so a later run that needs them
does not even import Faker.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devdb.errors import SeedError

if TYPE_CHECKING:
    from devdb.seeds.columns import Fake

_POOLS: dict[tuple[Any, ...], list[Any]] = {}
_FAKERS: dict[str, Any] = {}
_PLAIN = (str, int, float, bool, type(None))
CACHE_DIR: Path | None = None  # set by the seed run: <state folder>/seed-pools


def use_cache(folder: Path | None) -> None:
    global CACHE_DIR  # noqa: PLW0603 - one process-wide setting, like the pools themselves
    CACHE_DIR = folder


def faker_for(locale: str) -> Any:
    """One unweighted Faker per locale (reseeded before each pool)."""
    f = _FAKERS.get(locale)
    if f is None:
        from faker import Faker

        try:
            f = Faker(locale, use_weighting=False)
        except AttributeError as exc:
            raise SeedError(f"Faker has no locale {locale!r}") from exc
        _FAKERS[locale] = f
    return f


def pool_key(spec: Fake) -> tuple[Any, ...]:
    return (spec.provider, spec.args, spec.kwargs, spec.locale, spec.pool)


def get_pool(spec: Fake) -> list[Any]:
    """The pool of ``spec`` (made on first use in this process)."""
    key = pool_key(spec)
    pool = _POOLS.get(key)
    if pool is None:
        cached = _cache_file(spec)
        pool = _read(cached, spec.pool) if cached else None
        if pool is None:
            pool = make_pool(spec)
            if cached:
                _write(cached, pool)
        _POOLS[key] = pool
    return pool


def _cache_file(spec: Fake) -> Path | None:
    if CACHE_DIR is None:
        return None
    text = repr((pool_key(spec), faker_version())).encode()
    return CACHE_DIR / f"{hashlib.sha256(text).hexdigest()[:32]}.json"


def _read(path: Path, size: int) -> list[Any] | None:
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return values if isinstance(values, list) and len(values) == size else None


def _write(path: Path, pool: list[Any]) -> None:
    """Keep a pool of plain values (others, such as dates, are made again each time)."""
    if not all(isinstance(v, _PLAIN) for v in pool):
        return
    text = json.dumps(pool, ensure_ascii=False)
    if json.loads(text) != pool:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # atomic: a concurrent reader sees the old file or the new one
    except OSError:
        pass  # a cache: failing to write it only costs time


def make_pool(spec: Fake) -> list[Any]:
    f = faker_for(spec.locale)
    try:
        method = getattr(f, spec.provider)
    except AttributeError as exc:
        raise SeedError(
            f"Faker has no provider {spec.provider!r} (locale {spec.locale})",
            "See https://faker.readthedocs.io/en/master/providers.html for provider names.",
        ) from exc
    from devdb.seeds import hashing

    f.seed_instance(hashing.salt("pool", *pool_key(spec)))
    kwargs = dict(spec.kwargs)
    return [method(*spec.args, **kwargs) for _ in range(spec.pool)]


def faker_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("faker")
    except PackageNotFoundError:
        return "none"
