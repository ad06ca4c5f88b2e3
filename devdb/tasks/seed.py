"""Seed tasks: db.seed (load the stale seeds) and db.seed.status."""

from __future__ import annotations

from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from devdb.tasks._common import exits, settings_for

PROFILE_HELP = "seed profile: dev, test, demo or your own (default: DEVDB_PROFILE)"
SCALE_HELP = "row-count factor, e.g. 2 (default: DEVDB_SCALE)"


def _target() -> tuple[Any, Any]:
    """Settings and the owner connection info (connecting says when no server answers)."""
    from devdb.backends import get_backend

    settings = settings_for()
    return settings, get_backend(settings, announce=False).conninfo()


@task(
    default=True,
    help={
        "profile": PROFILE_HELP,
        "scale": SCALE_HELP,
        "only": "load only this seed (file name without the number prefix)",
        "force": "load even the seeds the ledger says are unchanged",
        "json": "print the report as one JSON document",
    },
)
@exits
def load(  # noqa: PLR0917 - a task's parameters are its CLI flags
    c: Context,
    profile: str | None = None,
    scale: str | None = None,
    only: str | None = None,
    force: bool = False,
    json: bool = False,
) -> None:
    """Load the seeds that changed (db.seed): deterministic, idempotent, COPY speed."""
    from devdb.output import info, print_json
    from devdb.seeds import seed
    from devdb.seeds.progress import for_terminal

    settings, conninfo = _target()
    scale_value = _scale(scale)
    report = seed(
        settings,
        conninfo,
        profile=profile,
        scale=scale_value,
        only=only,
        force=force,
        progress=for_terminal(),
    )
    if json:
        print_json(report.to_dict())
        return
    for s in report.seeds:
        info(_describe(s))
    loaded = len(report.loaded)
    info(
        f"seeded {loaded} of {len(report.seeds)} seed(s), profile {report.profile}, "
        f"scale {report.scale:g}, in {report.seconds:.2f} s"
    )


def _scale(scale: str | None) -> float | None:
    """Invoke passes flags without a default type as text."""
    if scale is None:
        return None
    from devdb.errors import ConfigError

    try:
        return float(scale)
    except ValueError as exc:
        raise ConfigError(f"--scale must be a number, got {scale!r}") from exc


def _describe(s: Any) -> str:
    if s.status != "loaded":
        return f"  {s.name}: unchanged"
    if not s.tables:
        return f"  {s.name}: ran ({s.reason})"
    parts = []
    for name, t in s.tables.items():
        parts.append(
            f"{name} {t['rows']:,} rows (+{t['inserted']:,} ~{t['updated']:,} -{t['deleted']:,})"
        )
    return f"  {s.name}: {'; '.join(parts)} in {s.seconds:.2f} s ({s.reason})"


@task(
    name="status",
    help={"profile": PROFILE_HELP, "scale": SCALE_HELP, "json": "print one JSON document"},
)
@exits
def status_(
    c: Context, profile: str | None = None, scale: str | None = None, json: bool = False
) -> None:
    """Show each seed: loaded or stale (and why), row counts, digest."""
    from devdb.output import print_json
    from devdb.seeds import status

    settings, conninfo = _target()
    doc = status(settings, conninfo, profile=profile, scale=_scale(scale))
    if json:
        print_json(doc)
        return
    print(f"profile {doc['profile']}, scale {doc['scale']:g}")
    for s in doc["seeds"]:
        rows = sum(s["rows"].values())
        why = f" ({s['reason']})" if s["reason"] else ""
        print(f"  {s['name']:<20} {s['state']:<7} {rows:>9,} rows  {s['digest'][:12]}{why}")


ns = Collection("seed", load, status_)
