"""What every migrator shares: the protocol, the digest of input files, running a tool.

A migrator is what brings a database to the latest schema. Templates, resets, test databases,
seeds and schema checks need two things from it (pgtestdb's ``Migrator`` is the model): a digest of
its inputs, which keys the template, and ``migrate(conninfo)``, which brings the database it is
handed to the latest. Status, down, new, redo, accept and verify are optional: a migrator that
cannot do one says so in one line (``MigratorUnsupported``).
"""

from __future__ import annotations

import glob
import hashlib
import os
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from devdb.conninfo import ConnInfo, clean_environ, mask
from devdb.errors import ConfigError, MigrationError, MigrationToolFailed, MigratorUnsupported
from devdb.settings import Settings

if TYPE_CHECKING:
    from devdb.migrations.baseline import Baseline
    from devdb.migrations.verify import Verdict

Progress = Callable[[str], None]
SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv", ".venv"})
TOOL_OUTPUT_LINES = 15  # of a failed tool's output, kept in the error


def quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class Step:
    """One migration of a tool with downgrades, in the order it applies.

    ``up`` is the target that applies it (and everything before it); ``down`` the target that
    undoes just it. Both are the tool's own words (a revision id, ``app name``).
    """

    id: str
    name: str
    up: str
    down: str


class Migrator(Protocol):
    """What the rest of devdb may ask of a migrator; nothing else knows which one is in use."""

    name: str

    def check(self, operation: str) -> None:
        """Raise MigratorUnsupported unless it has ``operation`` (status, down, new, ...)."""
        ...

    def digest(self) -> str:
        """Keys the template: equal digests mean equal migrated schemas."""
        ...

    def migrate(
        self,
        conninfo: ConnInfo,
        *,
        to: str | None = None,
        dry_run: bool = False,
        allow_out_of_order: bool = False,
        progress: Progress = quiet,
    ) -> list[str] | None: ...

    def status(self, conninfo: ConnInfo) -> list[dict[str, Any]]: ...

    def down(
        self,
        conninfo: ConnInfo,
        *,
        steps: int = 1,
        to: str | None = None,
        progress: Progress = quiet,
    ) -> list[str]: ...

    def plan_down(self, conninfo: ConnInfo, *, steps: int = 1, to: str | None = None) -> list[str]:
        """What ``down`` would roll back, newest first ([] when nothing), checked first (the
        target exists, ...); changes nothing. Callers keep the undo snapshot only after it."""
        ...

    def new(self, name: str) -> Path: ...

    def redo(self, conninfo: ConnInfo, *, progress: Progress = quiet) -> str: ...

    def accept(
        self, conninfo: ConnInfo, *, version: str | None = None
    ) -> list[tuple[str, str]]: ...

    def verify(self, conninfo: ConnInfo, *, progress: Progress | None = None) -> list[Verdict]: ...

    def baseline(
        self, conninfo: ConnInfo, *, source: str, to: str | None, dry_run: bool
    ) -> Baseline: ...


UNSUPPORTED = {
    "status": ("list migrations (db.migrate.status)", ""),
    "down": ("roll back (db.migrate.down)", ""),
    "new": ("write a new migration (db.migrate.new)", ""),
    "redo": ("redo a migration (db.migrate.redo)", ""),
    "accept": ("accept edited files (db.migrate.accept)", "It keeps no checksums of files."),
    "verify": ("verify downgrades (db.migrate.verify)", "It runs no downgrades."),
    "baseline": (
        "import another tool's history (db.migrate.baseline)",
        "db.migrate.baseline is for SQL migration folders (DEVDB_MIGRATOR=sql); your tool keeps "
        "its own history.",
    ),
}


class BaseMigrator:
    """Defaults for the optional operations: one line saying this migrator cannot do it."""

    name = "base"
    operations: frozenset[str] = frozenset()  # the optional operations it has

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def inputs(self) -> list[Path]:
        """The files whose content makes the migrated schema (DEVDB_MIGRATOR_INPUTS adds more)."""
        return []

    def fields(self) -> list[str]:
        """Settings that change what the tool does, beside its files."""
        return [self.name]

    def digest(self) -> str:
        """A digest of the input files (names relative to the root, and bytes) and ``fields``."""
        files = [*self.inputs(), *extra_inputs(self.settings)]
        return digest_files(self.settings.root, files, self.fields())

    def check(self, operation: str) -> None:
        """Raise the one-line "cannot" error when ``operation`` is not one this migrator has."""
        if operation not in self.operations:
            raise self.cannot(*UNSUPPORTED[operation])

    def cannot(self, what: str, hint: str = "") -> MigratorUnsupported:
        return MigratorUnsupported(
            f"the {self.name} migrator cannot {what}",
            hint or f"Use {self.name}'s own command for that.",
        )

    def _no_sql_flags(self, dry_run: bool, allow_out_of_order: bool) -> None:
        if dry_run:
            raise self.cannot("do a dry run (--dry-run)")
        if allow_out_of_order:
            raise self.cannot("apply out of order (--allow-out-of-order)")

    def status(self, conninfo: ConnInfo) -> list[dict[str, Any]]:
        raise self.cannot(*UNSUPPORTED["status"])

    def down(
        self,
        conninfo: ConnInfo,
        *,
        steps: int = 1,
        to: str | None = None,
        progress: Progress = quiet,
    ) -> list[str]:
        raise self.cannot(*UNSUPPORTED["down"])

    def plan_down(self, conninfo: ConnInfo, *, steps: int = 1, to: str | None = None) -> list[str]:
        """From ``status``: the applied migrations, newest first (the newest ``steps`` of them,
        or, with ``to``, every one newer than ``to`` when it is one of them); a ``to`` the tool
        words otherwise (``known_target``) is left to the tool."""
        self.check("down")
        if to is None and steps < 0:
            raise MigrationError(f"--steps must be 0 or more, got {steps}")
        rows = self.status(conninfo)
        applied = [str(r["version"]) for r in rows if r["state"] == "applied"][::-1]
        if to is None:
            return applied[:steps]
        if not self.known_target(to, [str(r["version"]) for r in rows]):
            shown = ", ".join(str(r["version"]) for r in rows[-10:]) or "none"
            raise MigrationError(
                f"--to {to}: the {self.name} migrator knows no such migration",
                f"Migrations here (the newest 10 at most): {shown}.",
            )
        return applied[: applied.index(to)] if to in applied else applied

    def known_target(self, to: str, versions: list[str]) -> bool:
        """Whether ``--to`` names something the tool can roll back to."""
        return to in versions

    def new(self, name: str) -> Path:
        raise self.cannot(*UNSUPPORTED["new"])

    def redo(self, conninfo: ConnInfo, *, progress: Progress = quiet) -> str:
        raise self.cannot(*UNSUPPORTED["redo"])

    def accept(self, conninfo: ConnInfo, *, version: str | None = None) -> list[tuple[str, str]]:
        raise self.cannot(*UNSUPPORTED["accept"])

    def verify(self, conninfo: ConnInfo, *, progress: Progress | None = None) -> list[Verdict]:
        raise self.cannot(*UNSUPPORTED["verify"])

    def baseline(
        self, conninfo: ConnInfo, *, source: str, to: str | None, dry_run: bool
    ) -> Baseline:
        raise self.cannot(*UNSUPPORTED["baseline"])


def extra_inputs(settings: Settings) -> list[Path]:
    """The files DEVDB_MIGRATOR_INPUTS names (globs relative to the root, ``**`` recursive)."""
    found: list[Path] = []
    for pattern in settings.migrator_inputs:
        full = settings.root / pattern  # an absolute pattern stays absolute
        matches = [Path(p) for p in glob.glob(str(full), recursive=True)]  # noqa: PTH207 - ** and absolute
        if not matches:
            raise ConfigError(
                f"DEVDB_MIGRATOR_INPUTS: {pattern!r} matches no file",
                "List the files (or globs) your migrations are made of, relative to the root.",
            )
        found += [p for p in matches if p.is_file()]
    return found


def files_under(folder: Path, suffixes: tuple[str, ...] = (".py",)) -> list[Path]:
    """Every file with one of ``suffixes`` below ``folder``, caches and environments skipped."""
    found: list[Path] = []
    for here, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")]
        found += [Path(here) / n for n in names if n.endswith(suffixes)]
    return found


def digest_files(root: Path, files: Iterable[Path], fields: Sequence[str] = ()) -> str:
    """sha256 over the fields, then each file's path (relative to ``root``) and bytes."""
    h = hashlib.sha256("\0".join(fields).encode() + b"\n")
    for path in sorted({p.resolve() for p in files}):
        try:
            rel = str(path.relative_to(root))
        except ValueError:
            rel = str(path)
        h.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def run_tool(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    what: str,
    secret: str | None,
    progress: Progress = quiet,
) -> str:
    """Run a migration tool; its stdout on success (its stderr lines, the tool's log, go to
    ``progress``), else ``MigrationToolFailed`` with its last output lines. Any password is
    masked in both."""
    try:
        out = subprocess.run(
            list(args), cwd=cwd, env=dict(env), capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise MigrationToolFailed(
            f"{what}: cannot run {args[0]!r}: {exc.strerror}",
            "Install the tool, or fix the command line (DEVDB_MIGRATE_COMMAND).",
        ) from exc
    if out.returncode != 0:
        lines = _hide(out.stdout + out.stderr, secret).strip().splitlines()[-TOOL_OUTPUT_LINES:]
        raise MigrationToolFailed(
            f"{what} failed (exit code {out.returncode})",
            "Its output is above; fix the migration and run again.",
            tuple(lines),
        )
    for line in _hide(out.stderr, secret).splitlines():
        progress(line)
    return _hide(out.stdout, secret)


def _hide(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` (as is, and as it appears in a URL) masked."""
    if not secret:
        return text
    for form in {secret, quote(secret, safe="")}:
        text = text.replace(form, mask(secret))
    return text


def tool_env(settings: Settings, url: str) -> dict[str, str]:
    """The process environment without the libpq variables (a PGHOST, PGSERVICE or PGOPTIONS of
    the caller must not point the tool at another server), plus the database URL in
    DEVDB_MIGRATE_URL_VAR."""
    return {**clean_environ(os.environ), settings.migrate_url_var: url}


def refresh_grants(settings: Settings, conninfo: ConnInfo) -> None:
    """The app role's grants follow the schema (the SQL runner does this itself)."""
    from devdb.roles import refresh_app_role

    refresh_app_role(settings, conninfo)
