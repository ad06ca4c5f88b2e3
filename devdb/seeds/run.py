"""``seed()`` and ``status()``: decide which seeds are stale, load them, and report.

Deciding needs no seed code: digests come from file contents, and the ledger knows each seed's
tables, so an unchanged project is checked with two small queries and one counting scan per table.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from devdb.conninfo import ConnInfo
from devdb.database import connect
from devdb.errors import SeedError
from devdb.seeds import ledger
from devdb.seeds.project import SeedFile, discover, import_seeds, schema_version, with_digests
from devdb.settings import Settings

if TYPE_CHECKING:
    import psycopg

    from devdb.seeds.load import TableLoad
    from devdb.seeds.progress import Progress


@dataclass
class SeedResult:
    name: str
    kind: str
    status: str  # "loaded" or "skipped"
    reason: str  # why it ran, or "unchanged"
    digest: str
    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class SeedReport:
    profile: str
    scale: float
    seeds: list[SeedResult]
    seconds: float = 0.0

    @property
    def loaded(self) -> list[SeedResult]:
        return [s for s in self.seeds if s.status == "loaded"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    files: list[SeedFile]
    reasons: dict[str, str]  # seed -> why it must run ("" = fresh)
    entries: dict[str, ledger.Entry]


def make_plan(
    conn: psycopg.Connection[Any],
    files: list[SeedFile],
    *,
    force: bool,
) -> Plan:
    """Which of ``files`` must run, and why."""
    entries = ledger.read(conn)
    reasons: dict[str, str] = {}
    for f in files:
        entry = entries.get(f.name)
        if force:
            reasons[f.name] = "forced"
        elif entry is None:
            reasons[f.name] = "never loaded"
        elif entry.digest != f.digest:
            reasons[f.name] = "seed code, profile, scale or schema changed"
        else:
            reasons[f.name] = ""
    fresh = [entries[f.name] for f in files if f.kind == "python" and not reasons[f.name]]
    for name, why in ledger.verify(conn, fresh).items():
        reasons[name] = why
    ran = False
    for f in files:  # a .sql seed runs again after any seed before it ran
        if f.kind == "sql" and ran and not reasons[f.name]:
            reasons[f.name] = "a seed before it ran"
        ran = ran or bool(reasons[f.name])
    conn.rollback()
    return Plan(files, reasons, entries)


def select(files: list[SeedFile], only: str | None) -> list[SeedFile]:
    if not only:
        return files
    chosen = [f for f in files if only in {f.name, f.path.stem}]
    if not chosen:
        names = ", ".join(f.name for f in files) or "none"
        raise SeedError(f"no seed named {only!r}", f"Seeds in this project: {names}.")
    return chosen


def seed(
    settings: Settings,
    conninfo: ConnInfo,
    *,
    profile: str | None = None,
    scale: float | None = None,
    only: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> SeedReport:
    """Load the stale seeds (all of them with ``force``); returns what was loaded or skipped."""
    started = time.perf_counter()
    profile = profile or settings.profile
    scale = float(scale if scale is not None else settings.scale)
    if scale <= 0:
        raise SeedError(f"scale must be positive, got {scale:g}")
    all_files = with_digests(settings, discover(settings), profile, scale)
    files = select(all_files, only)
    with connect(conninfo) as conn:
        plan = make_plan(conn, files, force=force)
        results = {
            f.name: SeedResult(f.name, f.kind, "skipped", "unchanged", f.digest) for f in files
        }
        to_run = [f for f in files if plan.reasons[f.name]]
        if to_run:
            from devdb.seeds.pools import use_cache

            use_cache(settings.state_dir / "seed-pools")
            import_seeds(settings, all_files)
            _execute(
                conn,
                settings,
                plan,
                to_run=to_run,
                profile=profile,
                scale=scale,
                results=results,
                progress=progress,
            )
    report = SeedReport(profile, scale, [results[f.name] for f in files])
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _execute(
    conn: psycopg.Connection[Any],
    settings: Settings,
    plan: Plan,
    *,
    to_run: list[SeedFile],
    profile: str,
    scale: float,
    results: dict[str, SeedResult],
    progress: Progress | None,
) -> None:
    from devdb.seeds.execute import Execution

    execution = Execution(conn, profile, scale, progress)
    loads = execution.run(to_run)
    fresh_python = [f for f in plan.files if f.kind == "python" and not plan.reasons[f.name]]
    ran_sql = any(f.kind == "sql" for f in to_run)
    recorded = to_run + (fresh_python if ran_sql else [])
    faker = _faker_version()
    schema = schema_version(settings)
    for f in recorded:
        tables = {ld.table.name: ld.rows for ld in loads.get(f.name, [])}
        if f not in to_run:  # fresh, but a .sql seed may have changed its tables
            tables = execution.recount(f.tables)
        ledger.record(
            conn,
            seed=f.name,
            kind=f.kind,
            digest=f.digest,
            profile=profile,
            scale=scale,
            faker_version=faker,
            schema_version=schema,
            tables=tables,
            seconds=execution.seconds.get(f.name, 0.0),
        )
    conn.commit()
    for f in to_run:
        results[f.name] = SeedResult(
            f.name,
            f.kind,
            "loaded",
            plan.reasons[f.name],
            f.digest,
            {ld.table.name: _table_result(ld) for ld in loads.get(f.name, [])},
            round(execution.seconds.get(f.name, 0.0), 3),
        )


def _table_result(load: TableLoad) -> dict[str, int]:
    return {
        "rows": load.rows,
        "inserted": load.inserted,
        "updated": load.updated,
        "deleted": load.deleted,
    }


def _faker_version() -> str:
    from devdb.seeds.pools import faker_version

    return faker_version()


def status(
    settings: Settings,
    conninfo: ConnInfo,
    *,
    profile: str | None = None,
    scale: float | None = None,
) -> dict[str, Any]:
    """Per seed: loaded or stale (and why), row counts, digests. Changes nothing."""
    profile = profile or settings.profile
    scale = float(scale if scale is not None else settings.scale)
    files = with_digests(settings, discover(settings), profile, scale)
    with connect(conninfo) as conn:
        plan = make_plan(conn, files, force=False)
    seeds = []
    for f in files:
        entry = plan.entries.get(f.name)
        seeds.append(
            {
                "name": f.name,
                "file": f.path.name,
                "kind": f.kind,
                "state": "stale" if plan.reasons[f.name] else "loaded",
                "reason": plan.reasons[f.name],
                "digest": f.digest,
                "loaded_digest": entry.digest if entry else None,
                "loaded_profile": entry.profile if entry else None,
                "loaded_scale": entry.scale if entry else None,
                "loaded_at": entry.loaded_at.isoformat() if entry and entry.loaded_at else None,
                "rows": dict(entry.tables) if entry else {},
                "current_rows": dict(entry.current) if entry else {},
            }
        )
    return {"profile": profile, "scale": scale, "seeds": seeds}
