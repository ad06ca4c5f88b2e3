"""What every task module shares: settings from flags and invoke's configuration, ``--dry``,
and DevdbError -> invoke Exit."""

from __future__ import annotations

import functools
import inspect
import signal
import sys
import threading
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from invoke.context import Context
from invoke.exceptions import Exit

from devdb.errors import DevdbError, ServerGone
from devdb.output import for_program

F = TypeVar("F", bound=Callable[..., Any])
_CONTEXT: ContextVar[Context | None] = ContextVar("devdb_invoke_context", default=None)


def exits(func: F) -> F:
    """Turn an expected ``DevdbError`` into one ``Error: ...`` line and exit code 1; Ctrl-C and
    SIGTERM into "Interrupted." and exit code 130 (devdb's own cleanup runs first: databases are
    replaced by a swap that either committed or did not, see devdb.copies); under invoke's
    ``--dry`` print what would run and run nothing."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        context = args[0] if args and isinstance(args[0], Context) else None
        token = _CONTEXT.set(context)
        previous = _term_interrupts()
        try:
            if context is not None and _is_dry(context):
                return _dry_run(func, args[1:], kwargs)
            return func(*args, **kwargs)
        except DevdbError as exc:
            print(for_program(exc.render()), file=sys.stderr, flush=True)
            raise Exit(code=1) from None
        except KeyboardInterrupt:
            raise Exit("Interrupted.", code=130) from None
        except Exception as exc:
            if _during_interrupt(exc):  # a cleanup after Ctrl-C failed: still Ctrl-C
                raise Exit("Interrupted.", code=130) from None
            lost = _connection_lost(exc)
            if lost is None:
                raise
            print(for_program(lost.render()), file=sys.stderr, flush=True)
            raise Exit(code=1) from None
        finally:
            _CONTEXT.reset(token)
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper  # type: ignore[return-value]


def _is_dry(context: Context) -> bool:
    try:
        return bool(context.config.run.dry)
    except (AttributeError, KeyError):
        return False


def _dry_run(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """``invoke --dry``: say what the task would do and with which flags; change nothing."""
    bound = inspect.signature(func).bind_partial(None, *args, **kwargs)
    given = {k: v for k, v in list(bound.arguments.items())[1:] if v not in (None, False, ())}
    what = (inspect.getdoc(func) or func.__name__).splitlines()[0].rstrip(".")
    flags = " ".join(f"--{k.replace('_', '-')}={v!r}" for k, v in given.items())
    print(f"--dry: would run: {what}{' (' + flags + ')' if flags else ''}")
    print("--dry: nothing was run and nothing changed", file=sys.stderr)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _term_interrupts() -> Any:
    """SIGTERM (a CI runner's cancel, ``kill``) interrupts like Ctrl-C; returns the old handler."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _interrupt)


def _during_interrupt(exc: BaseException) -> bool:
    """``exc`` was raised while a Ctrl-C was being handled (e.g. psycopg's "another command is
    already in progress" from a cleanup on the connection the interrupt left busy)."""
    seen = exc.__context__
    for _ in range(20):
        if seen is None:
            return False
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__context__
    return False


def _connection_lost(exc: Exception) -> DevdbError | None:
    """The server went away in the middle of a command that has no finer message for it."""
    import psycopg

    if not isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
        return None
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ServerGone(
        f"lost the connection to the server: {text}; what committed before is kept, the "
        "statement in progress was rolled back"
    )


def settings_for(**flags: Any) -> Any:
    """Load settings for a task: task flags win over the environment, .env and the ``devdb:``
    section of invoke's configuration; the project root is the folder invoke loaded the tasks
    from (``-r``/``-c``), unless DEVDB_ROOT says otherwise."""
    from devdb.settings import load_settings

    context = _CONTEXT.get()
    return load_settings(
        config=_devdb_config(context), default_root=_tasks_folder(context), **flags
    )


def _devdb_config(context: Context | None) -> dict[str, Any]:
    if context is None:
        return {}
    try:
        section = context.config.get("devdb") or {}
    except (AttributeError, KeyError):
        return {}
    if not hasattr(section, "items"):
        from devdb.errors import ConfigError

        raise ConfigError("invoke configuration: `devdb:` must be a mapping of settings")
    return dict(section.items())


def _tasks_folder(context: Context | None) -> Path | None:
    """The folder invoke loaded tasks.py from (None for the ``devdb`` command)."""
    prefix = getattr(context.config, "_project_prefix", None) if context is not None else None
    return Path(prefix) if prefix else None
