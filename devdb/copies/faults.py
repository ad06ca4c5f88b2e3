"""Named crash points, for the fault harness in the test suite.

``DEVDB_FAULT=POINT:ACTION`` makes devdb act at crash point ``POINT`` (the names are in
``POINTS``): ``kill`` sends itself SIGKILL (nothing runs after it), ``int`` and ``term`` send
SIGINT or SIGTERM (what Ctrl-C or a CI runner's cancel do), and ``pause`` writes the file named by
``DEVDB_FAULT_FILE`` and waits until something removes it (the test kills the server meanwhile).
Without the variable a point costs one dictionary lookup. It is read at each point, not at import.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

POINTS = (
    "copy.built",  # the new copy is complete under its temporary name; nothing swapped
    "swap.before_commit",  # the renames ran in the swap transaction; not committed
    "swap.committed",  # the swap is committed; what it replaced is not retired yet
    "build.migrated",  # a template build migrated its scratch database; seeds not run
    "scratch.created",  # a verify/schema scratch database exists
    "load.restored",  # pg_restore filled the temporary database; not validated or swapped
)
_ACTIONS = {"kill": signal.SIGKILL, "int": signal.SIGINT, "term": signal.SIGTERM}


def point(name: str) -> None:
    """Act at crash point ``name`` when DEVDB_FAULT names it."""
    spec = os.environ.get("DEVDB_FAULT")
    if not spec:
        return
    where, _, action = spec.partition(":")
    if where != name:
        return
    if action == "pause":
        _pause(Path(os.environ["DEVDB_FAULT_FILE"]))
        return
    signal.raise_signal(_ACTIONS[action])
    time.sleep(0.1)  # a handled signal raises here, at the point, not somewhere after it


def _pause(marker: Path) -> None:
    marker.write_text(str(os.getpid()))
    while marker.exists():
        time.sleep(0.02)
