"""The native backend: real PostgreSQL binaries, no Docker.

The cluster lives in the project's git-ignored state folder and survives ``down``/``up``.
PostgreSQL refuses to run as root, so when devdb runs as root the server runs as an unprivileged
OS user (DEVDB_NATIVE_USER, else ``postgres`` when it exists, else ``nobody``), with a private copy
of the binaries when that user cannot reach the installed ones.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from devdb.backends.base import ServerStatus
from devdb.backends.majors import check_cluster, cluster_major
from devdb.backends.pgbin import PgBin, find_binaries
from devdb.conninfo import ConnInfo
from devdb.database import wait_ready
from devdb.errors import BackendError, ReadinessTimeout, ServerStartError
from devdb.output import info
from devdb.ports import choose_port, recorded_port
from devdb.settings import Settings
from devdb.state import owner_password, state_dir

SPEED_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
# PostgreSQL 18's I/O workers (io_method = worker, its default) keep an entry for every relation
# file they have ever read, in every database, and never free it; each DROP DATABASE makes every
# process walk its entries. A development server creates and drops test databases by the
# thousand, so its drops got slower for as long as it ran (bench/bench_io_method.py: measured on
# fresh_db runs). ``sync`` is PostgreSQL 17's I/O path, without workers. Given on the command
# line (a cluster made before this is covered too) unless the cluster's configuration sets it.
IO_METHOD = ("io_method", "sync", 18)
# What a new postmaster logs when processes of a crashed one (kill -9, the OOM killer) are still
# attached to the cluster's shared memory; they exit within moments, so ``start`` waits for them.
SHARED_MEMORY_IN_USE = "pre-existing shared memory block"
FIRST_PAUSE = 0.1  # seconds before the second try; doubled up to 1 s
MIN_TRY = 2.0  # seconds a new try at starting needs left before the deadline


class NativeBackend:
    name = "native"
    owned = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.state_dir / "native"
        self.data = self.home / "data"
        self.logfile = self.home / "postgres.log"
        self._bin: PgBin | None = None

    # -- interface -------------------------------------------------------------------------

    def conninfo(self) -> ConnInfo:
        return self._conninfo_on(self._running_port() or recorded_port(self.settings))

    def start(self) -> ConnInfo:
        if self._running_port() is not None:
            conninfo = self.conninfo()
            wait_ready(conninfo, self.settings.ready_timeout, log_tail=self.logs)
            return conninfo
        self._clear_stale_pid()
        if not (self.data / "PG_VERSION").is_file():
            self._initdb()
        check_cluster(self.data, self.bin.version(), f"{self.bin.source}: {self.bin.bindir}")
        deadline = time.monotonic() + self.settings.ready_timeout
        pause = FIRST_PAUSE
        while True:
            conninfo = self._conninfo_on(choose_port(self.settings))  # free again each try
            if self._started(conninfo, deadline):
                return conninfo
            if pause == FIRST_PAUSE:
                info("the crashed server's processes are still exiting; waiting for them")
            if time.monotonic() + pause + MIN_TRY >= deadline:
                raise ServerStartError(
                    f"processes of a crashed server still hold the shared memory of {self.data}",
                    "They exit once they notice their postmaster is gone; if they do not, find "
                    "them (`ps -eo pid,stat,args | grep postgres:`) and stop them, or raise "
                    f"DEVDB_READY_TIMEOUT (now {self.settings.ready_timeout:g} s); then "
                    "`invoke db.up`.",
                    log=self.logs(),
                )
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def _conninfo_on(self, port: int) -> ConnInfo:
        s = self.settings
        return ConnInfo("127.0.0.1", port, s.user, owner_password(s), s.database)

    def _started(self, conninfo: ConnInfo, deadline: float) -> bool:
        """Start the server and wait until it answers: True; False when it stopped because the
        processes of a crashed server still hold the cluster's shared memory (they exit once
        they notice their postmaster is gone: try again). Any other failure raises."""
        mark = self._log_size()
        proc = self._spawn(conninfo.port)
        _reap_when_done(proc)
        try:
            wait_ready(
                conninfo,
                max(deadline - time.monotonic(), 0.0),
                log_tail=self.logs,
                alive=lambda: proc.poll() is None,
            )
        except ReadinessTimeout:
            if proc.poll() is None or SHARED_MEMORY_IN_USE not in self._log_since(mark):
                raise
            return False
        return True

    def _log_size(self) -> int:
        try:
            return self.logfile.stat().st_size
        except OSError:
            return 0

    def _log_since(self, offset: int) -> str:
        try:
            with self.logfile.open("rb") as fh:
                fh.seek(offset)
                return fh.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self._running_port() is None:
            return
        self._reach()
        result = self._run([self.bin("pg_ctl"), "-D", str(self.data), "stop", "-m", "fast", "-w"])
        if result.returncode != 0:
            raise BackendError(
                f"pg_ctl stop failed: {result.stderr.strip() or result.stdout.strip()}"
            )

    def status(self) -> ServerStatus:
        port = self._running_port()
        detail = {"data_dir": str(self.data)}
        if not (self.data / "PG_VERSION").is_file():
            detail["state"] = "not created"
        if self._bin is not None or (self.data / "PG_VERSION").is_file():
            with contextlib.suppress(BackendError):
                detail["binaries"] = f"{self.bin.source}: {self.bin.bindir}"
        return ServerStatus(self.name, port is not None, self.conninfo() if port else None, detail)

    def logs(self, lines: int = 50) -> str:
        if not self.logfile.is_file():
            return ""
        return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])

    def remove(self) -> None:
        self.stop()
        if self.home.exists():
            shutil.rmtree(self.home)

    # -- binaries and users ----------------------------------------------------------------

    @property
    def bin(self) -> PgBin:
        if self._bin is None:
            found = find_binaries(self.settings.pg_bin)
            self._bin = self._reachable(found) if os.geteuid() == 0 else found
        return self._bin

    def _server_user(self) -> pwd.struct_passwd | None:
        """The OS user the server runs as: None (ourselves) unless we are root."""
        if os.geteuid() != 0:
            return None
        names = [self.settings.native_user] if self.settings.native_user else ["postgres", "nobody"]
        for name in names:
            with contextlib.suppress(KeyError):
                return pwd.getpwnam(name)
        raise BackendError(
            f"running as root and no unprivileged user {names[0]!r} exists to run PostgreSQL",
            "Create one (`useradd --system postgres`) or set DEVDB_NATIVE_USER to a user.",
        )

    def _reachable(self, found: PgBin) -> PgBin:
        """As root: binaries the server user can execute, copying them into the state folder
        when they live somewhere it cannot reach (a root-only home, say)."""
        user = self._server_user()
        assert user is not None
        probe = (
            subprocess.run(
                [found("postgres"), "--version"], capture_output=True, check=False, **self._as(user)
            )
            if _may_execute(found.bindir, user)
            else None
        )
        if probe is not None and probe.returncode == 0:
            return found
        dest = state_dir(self.settings) / "pgbin"
        copy = dest / found.prefix.parent.name / found.prefix.name
        if not (copy / "bin" / "postgres").is_file():
            info(f"copying PostgreSQL binaries to {dest} so user {user.pw_name!r} can run them")
            _copy_installation(found.prefix, dest)
        for folder in (copy, *copy.parents):
            if folder == self.settings.root.parent:
                break
            folder.chmod(folder.stat().st_mode | 0o055)
        return PgBin(copy / "bin", found.source)

    def _as(self, user: pwd.struct_passwd | None) -> dict[str, Any]:
        if user is None:
            return {}
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def _run(self, args: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, capture_output=True, text=True, check=False, **self._as(self._server_user()), **kw
        )

    # -- cluster ---------------------------------------------------------------------------

    def _initdb(self) -> None:
        user = self._server_user()
        self.home.mkdir(parents=True, exist_ok=True)
        self._reach()
        if self.data.exists():
            shutil.rmtree(self.data)  # a half-made cluster from an interrupted initdb
        pwfile = self.home / ".initdb-pw"
        pwfile.write_text(owner_password(self.settings) + "\n")
        try:
            if user is not None:
                os.chown(self.home, user.pw_uid, user.pw_gid)
                os.chown(pwfile, user.pw_uid, user.pw_gid)
            pwfile.chmod(0o600)
            result = self._run(
                [
                    self.bin("initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    self.settings.user,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                    "--no-instructions",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            shutil.rmtree(self.data, ignore_errors=True)
            raise ServerStartError(
                "initdb failed to create the native cluster",
                "Read initdb's output above; `invoke db.destroy` clears a broken cluster.",
                log=(result.stderr or result.stdout)[-2000:],
            )
        self._write_config()

    def _write_config(self) -> None:
        lines = [
            "# written by devdb; edit postgresql.conf above this line for your own settings",
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = ''",
            "max_connections = 200",
        ]
        if (self.bin.prefix / "lib" / "pg_stat_statements.so").is_file() or _pkglib_has(self.bin):
            lines.append("shared_preload_libraries = 'pg_stat_statements'")
        if not self.settings.durable:
            lines += [f"{k} = {v}" for k, v in SPEED_SETTINGS.items()]
        with (self.data / "postgresql.conf").open("a") as fh:
            fh.write("\n" + "\n".join(lines) + "\n")

    def _reach(self) -> None:
        """As root, before the server user touches the cluster: make sure it can reach it."""
        user = self._server_user()
        if user is not None:
            _let_traverse(self.home.parent, user)

    def _spawn(self, port: int) -> subprocess.Popen[bytes]:
        self._reach()
        user = self._server_user()
        log = self.logfile.open("ab")
        if user is not None:
            os.chown(self.logfile, user.pw_uid, user.pw_gid)
        try:
            return subprocess.Popen(
                [self.bin("postgres"), "-D", str(self.data), "-p", str(port), *self._options()],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **self._as(user),
            )
        except OSError as exc:
            raise ServerStartError(f"could not run {self.bin('postgres')}: {exc}") from exc
        finally:
            log.close()

    def _options(self) -> list[str]:
        """Command-line settings: ``IO_METHOD`` on PostgreSQL 18+, unless the cluster's own
        configuration files set it (the user's choice stands)."""
        name, value, since = IO_METHOD
        if (cluster_major(self.data) or 0) < since or _configured(self.data, name):
            return []
        return ["-c", f"{name}={value}"]

    def _pid_info(self) -> tuple[int, int | None] | None:
        """(pid, port) from postmaster.pid, or None when there is none."""
        pidfile = self.data / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
        except OSError:
            return None
        if not lines or not lines[0].strip().isdigit():
            return None
        port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
        return int(lines[0]), port

    def _running_port(self) -> int | None:
        found = self._pid_info()
        if found is None or not _alive(found[0]):
            return None
        return found[1] or recorded_port(self.settings)

    def _clear_stale_pid(self) -> None:
        found = self._pid_info()
        if found is not None and not _alive(found[0]):
            info(f"removing a stale postmaster.pid (pid {found[0]} is gone; the server crashed?)")
            (self.data / "postmaster.pid").unlink(missing_ok=True)


def _copy_installation(prefix: Path, dest: Path) -> None:
    """Copy ``prefix`` to ``dest/<parent name>/<name>``, with the ``<parent>.libs`` folder a
    wheel's binaries find their shared libraries in (their RPATH is ``$ORIGIN/../../../X.libs``)."""
    pkg = prefix.parent
    parts = [(prefix, dest / pkg.name / prefix.name)]
    libs = pkg.parent / f"{pkg.name}.libs"
    if libs.is_dir():
        parts.append((libs, dest / libs.name))
    for source, target in parts:
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, tmp, symlinks=True)
        shutil.rmtree(target, ignore_errors=True)
        tmp.replace(target)
    for folder in dest.rglob("*"):
        if folder.is_dir():
            folder.chmod(folder.stat().st_mode | 0o055)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie or a recycled pid that is not a postgres process does not count.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return b"postgres" in cmdline or b"postmaster" in cmdline


def _reap_when_done(proc: subprocess.Popen[bytes]) -> None:
    """Wait for the server in a daemon thread: when it stops (or crashes) while this process
    still runs, it is reaped rather than left a zombie, and Popen never warns that it is still
    running when the object goes away."""
    threading.Thread(target=proc.wait, name=f"reap-postgres-{proc.pid}", daemon=True).start()


def _let_traverse(folder: Path, user: pwd.struct_passwd) -> None:
    """As root: let the server user reach ``folder`` by adding the search bit (o+x, never read)
    to each folder above it that keeps others out (a 0700 temporary or home folder, say)."""
    for each in (folder, *folder.parents):
        st = each.stat()
        if st.st_uid != user.pw_uid and not st.st_mode & 0o001:
            info(f"adding o+x to {each} so user {user.pw_name!r} can reach the cluster")
            each.chmod(st.st_mode | 0o001)


def _may_execute(bindir: Path, user: pwd.struct_passwd) -> bool:
    """Cheap check: every folder above ``bindir`` is traversable by others (or owned by user)."""
    for folder in (bindir, *bindir.parents):
        st = folder.stat()
        if st.st_uid != user.pw_uid and not st.st_mode & 0o001:
            return False
    return True


def _pkglib_has(pgbin: PgBin) -> bool:
    if not pgbin.has("pg_config"):
        return False
    out = subprocess.run(
        [pgbin("pg_config"), "--pkglibdir"], capture_output=True, text=True, check=False
    )
    return (Path(out.stdout.strip()) / "pg_stat_statements.so").is_file()


def _configured(data: Path, name: str) -> bool:
    """Whether postgresql.conf or postgresql.auto.conf sets ``name`` (a line that is not a
    comment)."""
    for conf in ("postgresql.conf", "postgresql.auto.conf"):
        try:
            lines = (data / conf).read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            words = line.split("#", 1)[0].replace("=", " ").split()
            if words and words[0].lower() == name:
                return True
    return False
