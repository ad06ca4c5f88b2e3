"""Generation: a table's rows as COPY text, column by column, in chunks, on several cores.

Each chunk depends only on (table, profile, scale, first row, last row), so chunks can be made in
any process and in any order; they are written to COPY in row order, which keeps the result
byte-identical whatever the number of workers.

Worker processes run ahead of the COPY by a fixed number of chunks (``AHEAD`` per worker), across
table boundaries when the run's table order is known (``Generator.plan``): the server loads one
table while the workers make the next, and memory stays the same whatever the scale.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from devdb.errors import SeedError
from devdb.seeds.api import REGISTRY, Table

CHUNK = 10_000
AHEAD = 3  # chunks in flight per worker process
PARALLEL_FROM = 30_000  # rows; below this, forking workers costs more than it saves
WORKERS: int | None = None  # processes for big tables; None: one per core (at most 8)
NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass(frozen=True)
class Chunk:
    rows: Sequence[int]  # the row numbers in this chunk, in COPY line order (often a range)
    text: bytes  # COPY text format, one line per row


class RowFailed(Exception):
    """A column function raised; carries what SeedError needs (picklable across processes)."""

    def __init__(self, table: str, column: str, row: int, error: str) -> None:
        super().__init__(table, column, row, error)
        self.table, self.column, self.row, self.error = table, column, row, error


def chunk_ranges(count: int, size: int | None = None) -> list[tuple[int, int]]:
    size = size or CHUNK
    return [(lo, min(lo + size, count)) for lo in range(0, count, size)]


def make_chunk(table: Table, lo: int, hi: int, profile: str, scale: float) -> Chunk:
    """Rows ``lo..hi-1`` of ``table`` as COPY text."""
    rows = table.kept_rows(range(lo, hi), profile, scale)
    built = build(table, rows, profile, scale)
    cols = [format_column(built[c]) for c in table.load_columns]
    if not rows:
        return Chunk([], b"")
    text = "\n".join(map("\t".join, zip(*cols, strict=True))) + "\n"
    return Chunk(rows if isinstance(rows, range) else list(rows), text.encode())


def build(table: Table, rows: Sequence[int], profile: str, scale: float) -> dict[str, list[Any]]:
    try:
        return table.build_columns(rows, profile, scale)
    except SeedError:
        raise
    except Exception as exc:
        raise locate_failure(table, rows, profile, scale, exc) from exc


def locate_failure(
    table: Table, rows: Sequence[int], profile: str, scale: float, exc: Exception
) -> RowFailed:
    """Find the first row whose columns raise (one row at a time: only after a failure)."""
    for i in rows:
        try:
            table.build_columns([i], profile, scale)
        except Exception as row_exc:
            column = _failing_column(table, i, profile, scale)
            return RowFailed(table.name, column, i, _say(row_exc))
    return RowFailed(table.name, "?", rows[0] if rows else -1, _say(exc))


def _failing_column(table: Table, row: int, profile: str, scale: float) -> str:
    for column in table.columns:
        try:
            table.build_columns([row], profile, scale, upto=column)
        except Exception:
            return column
    return "?"


def _say(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# --- COPY text formatting, one column at a time --------------------------------------------


def _text(v: Any) -> str:
    return NULL if v is None else str(v).translate(_ESCAPES)


def _plain(v: Any) -> str:
    return NULL if v is None else str(v)


def _iso(v: Any) -> str:
    return NULL if v is None else v.isoformat()


def _bool(v: Any) -> str:
    return NULL if v is None else ("t" if v else "f")


def _json(v: Any) -> str:
    if v is None:
        return NULL
    return json.dumps(v, sort_keys=True, separators=(",", ":")).translate(_ESCAPES)


def _any(v: Any) -> str:
    return _formatter_for(v)(v)


def _formatter_for(v: Any) -> Callable[[Any], str]:
    if isinstance(v, bool):
        return _bool
    if isinstance(v, int | float):
        return _plain
    if isinstance(v, datetime | date):
        return _iso
    if isinstance(v, dict | list):
        return _json
    return _text


def format_column(values: list[Any]) -> list[str]:
    """COPY text for one column: the formatter is picked once from the first non-null value;
    common cases (text needing no escapes, no NULLs) stay in C."""
    first = next((v for v in values if v is not None), None)
    if first is None:
        return [NULL] * len(values)
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if len(kinds) > 1:
        return [_any(v) for v in values]
    kind = kinds.pop()
    nulls = None in values
    if kind is str and not _needs_escape(values, nulls):
        return [NULL if v is None else v for v in values] if nulls else values
    fast = _IN_C.get(kind)
    if fast is not None and not nulls:
        return list(map(fast, values))
    fmt = _formatter_for(first)
    return [fmt(v) for v in values]


# Formatters C can run over a whole column without NULLs.
_IN_C: dict[type, Callable[[Any], str]] = {datetime: datetime.isoformat, int: str}


def _needs_escape(values: list[Any], nulls: bool) -> bool:
    joined = "\x00".join(v for v in values if v is not None) if nulls else "\x00".join(values)
    return "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined


# --- many chunks, possibly in worker processes ---------------------------------------------


def _worker_chunk(args: tuple[str, int, int, str, float]) -> Chunk:
    name, lo, hi, profile, scale = args
    return make_chunk(REGISTRY[name], lo, hi, profile, scale)


def workers_for(count: int) -> int:
    """How many processes to use for ``count`` rows (1: none)."""
    if count < PARALLEL_FROM or not hasattr(os, "fork"):
        return 1
    if WORKERS is not None:
        return max(1, WORKERS)
    return max(1, min(os.cpu_count() or 1, 8))


class Generator:
    """Makes chunks for tables; owns a process pool (fork) once a big table needs one."""

    def __init__(self, profile: str, scale: float, workers: int = 1) -> None:
        self.profile, self.scale, self.workers = profile, scale, workers
        self._pool: Any = None
        self._todo: Iterator[tuple[str, int, int]] = iter(())
        self._pending: deque[tuple[str, Any]] = deque()  # (table, AsyncResult), in COPY order

    def __enter__(self) -> Generator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pending.clear()
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def plan(self, tables: Sequence[Table]) -> None:
        """The order ``chunks`` will be asked for: workers start on a table before its turn."""
        if self.workers > 1:
            self._todo = (
                (t.name, lo, hi)
                for t in tables
                for lo, hi in chunk_ranges(t.count(self.profile, self.scale))
            )
            self._top_up()

    def chunks(self, table: Table) -> Iterator[Chunk]:
        count = table.count(self.profile, self.scale)
        if self.workers > 1 and not self._pending and count >= PARALLEL_FROM:
            self._todo = ((table.name, lo, hi) for lo, hi in chunk_ranges(count))  # unplanned
            self._top_up()
        if self._pending and self._pending[0][0] == table.name:
            yield from self._planned(table.name)
            return
        for lo, hi in chunk_ranges(count):  # small, or not where the plan said: made here
            yield make_chunk(table, lo, hi, self.profile, self.scale)

    def _planned(self, name: str) -> Iterator[Chunk]:
        """The chunks of ``name`` already handed to workers (and those still to hand out)."""
        while self._pending and self._pending[0][0] == name:
            _, result = self._pending.popleft()
            self._top_up()
            yield result.get()

    def _top_up(self) -> None:
        pool = self._get_pool()
        while len(self._pending) < self.workers * AHEAD:
            task = next(self._todo, None)
            if task is None:
                return
            args = (task[0], task[1], task[2], self.profile, self.scale)
            self._pending.append((task[0], pool.apply_async(_worker_chunk, (args,))))

    def _get_pool(self) -> Any:
        if self._pool is None:
            import multiprocessing
            import signal
            import warnings

            with warnings.catch_warnings():
                # Python 3.12+ warns about fork() in a process with threads (pytest-xdist, say);
                # the workers only compute and never touch locks the threads hold.
                warnings.filterwarnings("ignore", "This process .* is multi-threaded")
                # Ctrl-C waits until the pool exists (and is then stopped by close()); workers
                # are born with it blocked, so none can be interrupted before it ignores it.
                interrupts = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
                try:
                    self._pool = multiprocessing.get_context("fork").Pool(
                        self.workers, initializer=_quiet_worker
                    )
                finally:
                    signal.pthread_sigmask(signal.SIG_SETMASK, interrupts)
        return self._pool


def _quiet_worker() -> None:
    """Ctrl-C reaches the whole process group: the parent handles it (exit 130, one line), the
    workers ignore it; SIGTERM, which the parent sends them when it stops the pool, ends them
    silently (the parent's handler, inherited by fork, would print a traceback)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def prepare_pools(tables: Sequence[Table]) -> None:
    """Make every Faker pool these tables use, before worker processes fork (they inherit them)."""
    from devdb.seeds.columns import Fake
    from devdb.seeds.pools import get_pool

    for t in tables:
        for spec in t.columns.values():
            if isinstance(spec, Fake):
                get_pool(spec)
