"""Columns kept in memory for ``r.lookup`` (another table's values by row number), compactly:
timestamps of one time zone, whole numbers and floats take 8 bytes a row instead of ~60, so the
cache of a million-row table stays small. Anything else stays a list."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, overload

_MICROSECOND = timedelta(microseconds=1)


class Timestamps(Sequence[datetime]):
    """Datetimes with one ``tzinfo``, as microseconds after a base (same tzinfo: exact)."""

    def __init__(self, base: datetime, micros: array[int]) -> None:
        self.base, self.micros = base, micros

    def __len__(self) -> int:
        return len(self.micros)

    @overload
    def __getitem__(self, i: int) -> datetime: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[datetime]: ...
    def __getitem__(self, i: int | slice) -> datetime | Sequence[datetime]:
        if isinstance(i, slice):
            return Timestamps(self.base, self.micros[i])
        return self.base + timedelta(microseconds=self.micros[i])


def compact(values: list[Any]) -> Sequence[Any]:
    """``values`` in 8 bytes each when they are all of one such kind, else as they are."""
    if not values:
        return values
    kinds = set(map(type, values))
    if kinds == {datetime}:
        return _timestamps(values) or values
    if kinds == {int} and min(values) >= -(2**63) and max(values) < 2**63:
        return array("q", values)
    if kinds == {float}:
        return array("d", values)
    return values


def _timestamps(values: list[datetime]) -> Timestamps | None:
    base = values[0]
    zone = base.tzinfo
    if any(v.tzinfo is not zone or v.fold for v in values):
        return None
    return Timestamps(base, array("q", [(v - base) // _MICROSECOND for v in values]))


def join(parts: list[Sequence[Any]]) -> Sequence[Any]:
    """One sequence from the compacted slices of a column."""
    if len(parts) == 1:
        return parts[0]
    stamps = [p for p in parts if isinstance(p, Timestamps)]
    if len(stamps) == len(parts):
        base = stamps[0].base
        micros = array("q")
        for p in stamps:
            shift = (p.base - base) // _MICROSECOND
            micros.extend(m + shift for m in p.micros)
        return Timestamps(base, micros)
    arrays = [p for p in parts if isinstance(p, array)]
    if len(arrays) == len(parts) and len({a.typecode for a in arrays}) == 1:
        out = array(arrays[0].typecode)
        for a in arrays:
            out.extend(a)
        return out
    return [v for p in parts for v in p]
