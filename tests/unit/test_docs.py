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
        match = re.match(r"\| `([a-z.-]+)[^`]*` \|", line)
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


def _settings_table() -> dict[str, tuple[str, str]]:
    block = README.split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in block.splitlines():
        match = re.match(r"\| `([A-Z_]+)` \| (.*?) \| (.*) \|$", line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3))
    return rows


def test_readme_settings_table_is_the_code() -> None:
    from devdb.settings import VARIABLES

    expected = {v.env: (v.default or "—", v.help) for v in VARIABLES}
    assert _settings_table() == expected


def test_env_examples_agree_with_the_readme_table() -> None:
    table = _settings_table()
    repo = Path(__file__).resolve().parents[2]
    for example in (repo / ".env.example", repo / "devdb/templates/project/.env.example"):
        assigned = re.findall(r"^# ([A-Z_]+)=(.*)$", example.read_text(), re.MULTILINE)
        assert {"DEVDB_BACKEND", "DEVDB_POSTGRES_IMAGE", "DATABASE_URL"} <= {n for n, _ in assigned}
        for name, value in assigned:
            assert name in table, f"{example.name}: {name} is not in README's settings table"
            default = table[name][0]
            if default != "—":
                assert value == default, f"{example}: {name}={value}, README's default {default}"


def test_no_doc_appends_the_summary_devdb_already_appends() -> None:
    """db.explain and db.explain.check write their Markdown summary to $GITHUB_STEP_SUMMARY
    themselves (devdb/explain/report.py); a doc that also redirects --markdown there would show
    the summary twice."""
    root = Path(__file__).resolve().parents[2]
    texts = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    texts += sorted((root / "examples").rglob("*.yml"))
    for path in texts:
        for line in path.read_text().splitlines():
            assert not re.search(r"invoke db\.explain.*>>\s*\"?\$GITHUB_STEP_SUMMARY", line), (
                f"{path.name}: {line.strip()}"
            )
