"""The HTML report opens offline in a real (headless) Chromium and draws every plan tree."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from devdb.database import connect
from devdb.explain import api
from devdb.settings import Settings
from tests.integration.explain_fill import demo_database

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    message = "no Chromium installed (apt-get install chromium)"
    if os.environ.get("DEVDB_REQUIRE_DOCKER") == "1":  # CI (.ci/run installs it): never skip
        pytest.fail(message)
    pytest.skip(message)


def dump_dom(page: Path, profile: Path) -> str:
    result = subprocess.run(
        [
            browser(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_report_renders_every_plan_tree_in_a_browser(
    project_on_server: Settings, tmp_path: Path
) -> None:
    browser()  # skip before doing any work when there is none
    demo_database(project_on_server)
    outcome = api.explain(project_on_server)
    page = outcome.paths["html"]
    doc = json.loads(outcome.paths["json"].read_text())

    html = page.read_text()
    # Self-contained: nothing is fetched from anywhere.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html

    dom = dump_dom(page, tmp_path / "profile")

    assert 'data-rendered="ok"' in dom, "the page's script did not finish"
    for q in doc["queries"]:
        assert f'id="tree-{q["name"]}"' in dom
    rows = re.findall(r'class="node( never)?" data-node="(\d+)"', dom)
    assert len(rows) == sum(len(q["nodes"]) for q in doc["queries"])
    bars = re.findall(r'class="bar (time|buf)"', dom)
    assert bars.count("time") == bars.count("buf") == len(rows)
    widths = [float(w) for w in re.findall(r'<i style="width: ([\d.]+)%;?">', dom)]
    assert widths and max(widths) > 0 and all(0 <= w <= 100 for w in widths)
    assert dom.count('<tr><td><a href="#q-') == len(doc["queries"])
    finding_count = sum(len(q["findings"]) for q in doc["queries"])
    assert finding_count > 0 and dom.count('class="finding"') == finding_count


def test_never_executed_nodes_are_marked(project_on_server: Settings, tmp_path: Path) -> None:
    browser()
    demo_database(project_on_server)
    folder = project_on_server.root / "q"
    folder.mkdir()
    (folder / "nobody.sql").write_text(
        'SELECT u.id, m.role FROM "user".users u JOIN "user".memberships m ON m.user_id = u.id\n'
        "WHERE lower(u.email) = 'nobody@nowhere.test' AND u.deleted_at IS NULL;\n"
    )
    outcome = api.explain(project_on_server.with_overrides(queries_dir=folder))
    never = [n for n in outcome.doc["queries"][0]["nodes"] if not n["executed"]]
    assert never
    dom = dump_dom(outcome.paths["html"], tmp_path / "profile")
    assert len(re.findall(r'class="node never"', dom)) == len(never)
    assert dom.count("never executed") >= len(never)


def test_gate_verdict_is_on_the_page(project_on_server: Settings, tmp_path: Path) -> None:
    browser()
    conninfo = demo_database(project_on_server)
    folder = project_on_server.root / "q"
    folder.mkdir()
    (folder / "by_actor.sql").write_text(
        "-- param: actor = (SELECT actor_id FROM audit.events ORDER BY id LIMIT 1)\n"
        "SELECT id FROM audit.events WHERE actor_id = :'actor';\n"
    )
    settings = project_on_server.with_overrides(queries_dir=folder)
    api.record_baseline(settings, conninfo=conninfo)
    with connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP INDEX audit.events_actor_id_idx")
    outcome = api.check(settings, conninfo=conninfo)
    assert json.loads(outcome.paths["json"].read_text())["check"]["ok"] is False

    dom = dump_dom(outcome.paths["html"], tmp_path / "profile")

    assert 'id="gate" class="gate failed"' in dom
    assert "by_actor: plan shape changed" in dom
    assert (
        "-  Outer: Bitmap Index Scan using events_actor_id_idx" in dom
        or "events_actor_id_idx" in dom
    )
