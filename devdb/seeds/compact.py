"""What a seed run keeps per row, kept small so memory does not grow with the data: the columns
cached for ``r.lookup`` (another table's values by row number: timestamps of one time zone, whole
numbers and floats take 8 bytes a row instead of ~60; anything else stays a list), and the row
number of each COPY line (``RowMap``: the chunks' ranges)."""

from __future__ import annotations

from array import array
from bisect import bisect_right
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


class RowMap:
    """The row number of each COPY line, kept as the chunks' ranges (a few bytes per chunk; a
    table with ``only_if`` keeps its row numbers as 8-byte integers)."""

    def __init__(self) -> None:
        self._starts: list[int] = []  # first COPY line of each chunk
        self._rows: list[Sequence[int]] = []
        self._len = 0

    def add(self, rows: Sequence[int]) -> None:
        if not rows:
            return
        self._starts.append(self._len)
        self._rows.append(rows if isinstance(rows, range) else array("q", rows))
        self._len += len(rows)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, line: int) -> int:
        """The row number of COPY line ``line`` (0-based)."""
        if not 0 <= line < self._len:
            raise IndexError(line)
        k = bisect_right(self._starts, line) - 1
        return self._rows[k][line - self._starts[k]]
