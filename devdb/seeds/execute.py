"""One seed run as one transaction (see ``load`` for the phases); errors become SeedError."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from devdb.errors import SeedError
from devdb.seeds import checks, ledger, load
from devdb.seeds.api import Table
from devdb.seeds.diagnose import NOTHING_LOADED, database_error
from devdb.seeds.generate import Generator, RowFailed, prepare_pools, workers_for
from devdb.seeds.load import Step, TableLoad
from devdb.seeds.progress import Progress

if TYPE_CHECKING:
    import psycopg

    from devdb.seeds.project import SeedFile

LOCK = "SELECT pg_advisory_xact_lock(hashtext('devdb.seed'))"


def abandon(conn: psycopg.Connection[Any]) -> None:
    """Roll the transaction back; when the connection is still busy (interrupted in the middle of
    a COPY, it cannot take a ROLLBACK), close it: the server rolls back what it had."""
    import psycopg

    try:
        conn.rollback()
    except psycopg.Error:
        conn.close()


class Execution:
    def __init__(
        self,
        conn: psycopg.Connection[Any],
        profile: str,
        scale: float,
        progress: Progress | None = None,
    ) -> None:
        self.conn, self.profile, self.scale = conn, profile, scale
        self.progress = progress or Progress()
        self.step = Step()
        self.seconds: dict[str, float] = {}
        self.skip_triggers = False

    def run(self, files: list[SeedFile]) -> dict[str, list[TableLoad]]:
        """Load ``files`` (stale seeds, in order) in the open connection's transaction.

        The caller writes the ledger and commits; on any error everything is rolled back.
        """
        import psycopg

        loads = {f.name: [TableLoad(t) for t in f.tables] for f in files if f.kind == "python"}
        tables = [ld.table for group in loads.values() for ld in group]
        workers = max((workers_for(t.count(self.profile, self.scale)) for t in tables), default=1)
        if workers > 1:
            prepare_pools(tables)  # before forking: workers inherit the pools
        try:
            with Generator(self.profile, self.scale, workers) as gen:
                self._transaction(files, loads, gen)
        except RowFailed as exc:
            self.conn.rollback()
            raise SeedError(
                f"seed {self.step.seed}: table {exc.table}, row {exc.row}, column {exc.column}: "
                f"{exc.error}",
                f"Fix the seed's column function. {NOTHING_LOADED}",
            ) from exc
        except SeedError:
            self.conn.rollback()
            raise
        except psycopg.Error as exc:
            self.conn.rollback()
            raise database_error(exc, self.step, self.profile, self.scale) from exc
        except BaseException:  # Ctrl-C, say: possibly in the middle of a COPY
            abandon(self.conn)
            raise
        finally:
            self.progress.close()
        return loads

    def _transaction(
        self, files: list[SeedFile], loads: dict[str, list[TableLoad]], gen: Generator
    ) -> None:
        order = [(seed, ld) for seed, group in loads.items() for ld in group]
        tables = [ld.table for _, ld in order]
        keys = self._prepare(tables)
        for seed, ld in order:  # 1. empty tables load directly, others stage
            with self._timed(seed, ld.table, "staging"):
                ld.direct = load.is_empty(self.conn, ld.table)
        staged = [ld.table for _, ld in order if not ld.direct]
        gen.plan(staged + [ld.table for _, ld in order if ld.direct])  # the order of generation
        for n, (seed, ld) in enumerate(order):
            if not ld.direct:
                with self._timed(seed, ld.table, "staging"):
                    load.stage(self.conn, ld, n, gen=gen, step=self.step, progress=self.progress)
        for seed, ld in reversed(order):  # 2. children first: rows no longer in the output
            if not ld.direct and ld.table.prune:
                with self._timed(seed, ld.table, "deleting"):
                    load.prune(self.conn, ld)
        for seed, ld in order:  # 3. parents first: COPY or merge
            with self._timed(seed, ld.table, "loading"):
                self._fill(ld, gen)
        for f in files:  # 4. .sql seeds, foreign keys still deferred, triggers still off
            if f.kind == "sql":
                with self._timed(f.name, None, f"sql:{f.path.name}"):
                    self._run_sql(f)
        self._finish(order, keys)

    def _prepare(self, tables: list[Table]) -> list[tuple[str, str]]:
        conn = self.conn
        conn.execute(LOCK)
        ledger.ensure(conn)
        load.require_tables(conn, tables)
        self.skip_triggers = checks.can_skip_triggers(conn)
        load.set_triggers(conn, tables, enabled=False)
        return load.defer_foreign_keys(conn, tables)

    def _finish(self, order: list[tuple[str, TableLoad]], keys: list[tuple[str, str]]) -> None:
        """Check the deferred foreign keys, then the non-transactional part (sequences) last."""
        conn = self.conn
        self.step.at(self.step.seed, None, "checking foreign keys")
        load.check_foreign_keys(conn, keys)
        load.set_triggers(conn, [ld.table for _, ld in order], enabled=True)
        for seed, ld in order:
            with self._timed(seed, ld.table, "finishing"):
                load.fix_sequences(conn, ld.table)
                if ld.inserted or ld.updated or ld.deleted:
                    load.analyze(conn, ld.table)
                ld.rows = load.count_rows(conn, ld.table)

    def _fill(self, ld: TableLoad, gen: Generator) -> None:
        conn, step = self.conn, self.step
        if not ld.direct:
            load.merge_or_release(conn, ld)
            return
        if self.skip_triggers:
            checks.replica(conn, on=True)
        load.copy_rows(
            conn,
            load.ident(ld.table),
            ld,
            gen=gen,
            step=step,
            progress=self.progress,
        )
        ld.inserted = len(ld.generated)
        if self.skip_triggers:
            checks.replica(conn, on=False)
            rel = load.ident_text(ld.table)
            checks.check_foreign_keys(conn, ld.table, rel, self.profile, self.scale)

    @contextmanager
    def _timed(self, seed: str, table: Table | None, what: str) -> Iterator[None]:
        """Mark where the load is (for errors) and add the time to the seed's."""
        self.step.at(seed, table, what)
        started = time.perf_counter()
        yield
        self.seconds[seed] = self.seconds.get(seed, 0.0) + time.perf_counter() - started

    def _run_sql(self, f: SeedFile) -> None:
        text = f.path.read_text(encoding="utf-8")
        self.step.sql_text = text
        self.conn.execute(text.encode())

    def recount(self, tables: list[Table]) -> dict[str, int]:
        return {t.name: load.count_rows(self.conn, t) for t in tables}
