"""Progress for long loads: rich bars on a terminal (NO_COLOR unset), nothing otherwise."""

from __future__ import annotations

import sys
from typing import Any

from devdb.output import use_color


class Progress:
    """No output: what runs without a terminal (CI, pipes, tests)."""

    def start(self, name: str, total: int) -> None:
        pass

    def advance(self, name: str, completed: int) -> None:
        pass

    def finish(self, name: str) -> None:
        pass

    def close(self) -> None:
        pass


class Bars(Progress):
    """One transient bar per table. No refresh thread (the generator may fork workers); rich is
    imported on the first bar, so a run that loads nothing never pays for it."""

    def __init__(self) -> None:
        self._bars: Any = None
        self._tasks: dict[str, Any] = {}

    def _open(self) -> Any:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        bars = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=sys.stderr),
            auto_refresh=False,
            transient=True,
        )
        bars.start()
        return bars

    def start(self, name: str, total: int) -> None:
        if self._bars is None:
            self._bars = self._open()
        self._tasks[name] = self._bars.add_task(name, total=total)
        self._bars.refresh()

    def advance(self, name: str, completed: int) -> None:
        self._bars.update(self._tasks[name], completed=completed, refresh=True)

    def finish(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None:
            self._bars.remove_task(task)

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None


def for_terminal() -> Progress:
    """Bars when stderr is a terminal and NO_COLOR is unset, else silence."""
    return Bars() if use_color(sys.stderr) else Progress()
