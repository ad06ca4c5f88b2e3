"""README.md stays true to the code: every task and every flag of it is documented."""

from __future__ import annotations

import re
from pathlib import Path

from invoke.collection import Collection

from devdb.tasks import ns

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _table() -> dict[str, str]:
    block = README.split("<!-- tasks:start -->")[1].split("<!-- tasks:end -->")[0]
    rows = {}
    for line in block.splitlines():
        match = re.match(r"\| `([a-z.]+)[^`]*` \|", line)
        if match:
            rows[match.group(1)] = line
    return rows


def _tasks(coll: Collection, prefix: str = "") -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, task in coll.tasks.items():
        full = f"{prefix}{name}"
        flags = [p.replace("_", "-") for p in task.argspec(task.body).parameters]
        found[full] = flags
        if name == coll.default:
            found[prefix.rstrip(".")] = flags
    for name, sub in coll.collections.items():
        found |= _tasks(sub, f"{prefix}{name}.")
    return found


def _block() -> str:
    return README.split("<!-- tasks:start -->")[1].split("<!-- tasks:end -->")[0]


def test_every_task_is_in_the_readme_table() -> None:
    rows, block = _table(), _block()
    tasks = _tasks(ns.collections["db"], "db.")
    missing = [t for t in tasks if t not in rows and f"`{t}`" not in block]
    assert not missing, f"README's task table lacks {missing}"


def test_the_readme_table_has_no_task_the_code_lacks() -> None:
    extra = sorted(set(_table()) - set(_tasks(ns.collections["db"], "db.")))
    assert not extra, f"README documents tasks that do not exist: {extra}"


def test_every_flag_is_in_its_tasks_row() -> None:
    rows = _table()
    common = _block().partition("Common flags:")[2]
    gaps = []
    for name, flags in _tasks(ns.collections["db"], "db.").items():
        row = rows.get(name)
        if row is None:
            continue
        gaps += [
            f"{name} --{f}" for f in flags if f"--{f}" not in row + common and f.upper() not in row
        ]
    assert not gaps, f"README's task table does not mention: {gaps}"
