"""What every task module shares: settings from flags, and DevdbError -> invoke Exit."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from invoke.exceptions import Exit

from devdb.errors import DevdbError

F = TypeVar("F", bound=Callable[..., Any])


def exits(func: F) -> F:
    """Turn an expected ``DevdbError`` into one ``Error: ...`` line and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DevdbError as exc:
            print(exc.render(), file=sys.stderr, flush=True)
            raise Exit(code=1) from None
        except KeyboardInterrupt:
            raise Exit("Interrupted.", code=130) from None

    return wrapper  # type: ignore[return-value]


def settings_for(**flags: Any) -> Any:
    """Load settings for a task, task flags winning over environment and .env."""
    from devdb.settings import load_settings

    return load_settings(**flags)
