"""Deterministic numbers and ids: every seeded value comes from a hash, never from a shared stream.

A column gets a 64-bit *salt* from (seed, table, column). The cell hash of row ``i`` is the
``i % 1024``-th 64-bit word of SHAKE-128(salt, i // 1024): one C call makes 1,024 cell hashes, and
any row can still be computed on its own. Adding a column or a table changes no other value, and
chunks made in different processes agree (which is how references and workers stay reproducible).
``hash_at`` is a cheaper single-value hash (SplitMix64) for hashes computed row by row.
"""

from __future__ import annotations

import hashlib
import sys
from array import array
from collections.abc import Iterable, Sequence

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB

# Namespace of devdb's uuid5 ids, 5eed0000-de7d-4b1e-9a3a-2f1c0c0ffee5 (fixed and arbitrary:
# changing it changes every id). Raw bytes: importing uuid costs more than a whole skipped run.
ID_NAMESPACE = bytes.fromhex("5eed0000de7d4b1e9a3a2f1c0c0ffee5")


def salt(*parts: object) -> int:
    """A 64-bit value from any parts (stable across machines and Python versions)."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def mix(z: int) -> int:
    """SplitMix64's finaliser: a well-spread 64-bit value from any 64-bit value."""
    z = ((z ^ (z >> 30)) * _M1) & MASK
    z = ((z ^ (z >> 27)) * _M2) & MASK
    return z ^ (z >> 31)


def hash_at(column_salt: int, row: int) -> int:
    """The hash of one (column, row) cell."""
    return mix((column_salt + (row + 1) * GOLDEN) & MASK)


BLOCK = 1024
_BIG_ENDIAN = sys.byteorder == "big"


def block(column_salt: int, number: int) -> list[int]:
    """The cell hashes of rows ``number * BLOCK`` to ``(number + 1) * BLOCK - 1``."""
    seed = column_salt.to_bytes(8, "big") + number.to_bytes(8, "big")
    words = array("Q")
    words.frombytes(hashlib.shake_128(seed).digest(8 * BLOCK))
    if _BIG_ENDIAN:  # the words are little-endian on every machine
        words.byteswap()
    return words.tolist()


def hashes(column_salt: int, rows: Sequence[int]) -> list[int]:
    """The cell hashes of ``rows`` in one column (the hot path of generation)."""
    if not rows:
        return []
    first, last = rows[0], rows[-1]
    if last - first + 1 == len(rows):  # contiguous: whole blocks, then one slice
        out: list[int] = []
        for b in range(first // BLOCK, last // BLOCK + 1):
            out += block(column_salt, b)
        start = first - (first // BLOCK) * BLOCK
        return out[start : start + len(rows)]
    cache: dict[int, list[int]] = {}
    result = []
    for i in rows:
        b = i // BLOCK
        words = cache.get(b)
        if words is None:
            words = cache[b] = block(column_salt, b)
        result.append(words[i - b * BLOCK])
    return result


def unit(h: int) -> float:
    """A float in [0, 1) from a hash (its top 53 bits)."""
    return (h >> 11) * (1.0 / (1 << 53))


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def uuid5_text(prefix: bytes, name: str) -> str:
    """``str(uuid.uuid5(ns, name))`` where ``prefix`` is ``ns.bytes`` (about 3x faster)."""
    x = hashlib.sha1(prefix + name.encode()).hexdigest()  # noqa: S324 - RFC 4122 version 5
    return f"{x[:8]}-{x[8:12]}-5{x[13:16]}-{_VARIANT[x[16]]}{x[17:20]}-{x[20:32]}"


def row_id(table: str, row: int) -> str:
    """The uuid5 id of row ``row`` of ``table`` (its natural key: table and row number)."""
    return uuid5_text(ID_NAMESPACE, f"{table}:{row}")


def row_ids(table: str, rows: Iterable[int]) -> list[str]:
    prefix = ID_NAMESPACE + f"{table}:".encode()
    sha1, variant = hashlib.sha1, _VARIANT
    out = []
    for i in rows:
        x = sha1(prefix + str(i).encode()).hexdigest()
        out.append(f"{x[:8]}-{x[8:12]}-5{x[13:16]}-{variant[x[16]]}{x[17:20]}-{x[20:32]}")
    return out
