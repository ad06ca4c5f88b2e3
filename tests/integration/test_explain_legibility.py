"""The HTML report is legible: a screenshot in headless Chromium shows the bars with their figures
beside them, on a scale shared by every query; colours pass WCAG contrast; badges = findings.

Set DEVDB_SCREENSHOT_DIR to keep the screenshots (to look at them).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from devdb.explain.plan import parse_plan
from devdb.explain.queries import NamedQuery
from devdb.explain.render_html import render_html
from devdb.explain.report import run_to_dict
from devdb.explain.rules import find
from devdb.explain.run import ExplainRun, QueryResult
from tests.integration.test_explain_html import browser, dump_dom

PLANS = Path(__file__).resolve().parent.parent / "fixtures" / "plans"
TEMPLATE = Path(__file__).resolve().parents[2] / "devdb" / "templates" / "explain_report.html"
TIME_BAR = (0xE8, 0x59, 0x0C)  # --time
BUF_BAR = (0x19, 0x71, 0xC2)  # --buf


def fixture_report(names: list[str], folder: Path) -> tuple[Path, dict[str, object]]:
    """A report page over stored real plans (PG15/PG18 fixtures), as db.explain writes it."""
    run = ExplainRun("2026-01-01T00:00:00Z", "fixtures", {"server_version": "18.6"}, [], {})
    for name in names:
        document = json.loads((PLANS / f"{name}.json").read_text())
        plan = parse_plan(document)
        query = NamedQuery(name, folder / f"{name}.sql", f"-- {name}")
        run.results.append(
            QueryResult(query, f"-- {name}", plan, document, find(plan, {"audit.events": 12e3}))
        )
    doc = run_to_dict(run)
    page = folder / "report.html"
    page.write_text(render_html(doc))
    return page, doc


def screenshot(page: Path, profile: Path, out: Path) -> None:
    result = subprocess.run(
        [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--no-first-run", f"--user-data-dir={profile}", "--window-size=1250,1400",
         f"--screenshot={out}", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0 and out.is_file(), result.stderr[-2000:]
    keep = os.environ.get("DEVDB_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(out, Path(keep) / out.name)


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6)
    bpp = 3 if color == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytes(width * bpp)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + _predict(kind, left, up, corner)) & 0xFF
        prev = bytes(line)
        rows.append(bytes(b for j in range(0, stride, bpp) for b in line[j : j + 3]))
    return width, height, rows


def _predict(kind: int, left: int, up: int, corner: int) -> int:
    if kind == 0:
        return 0
    if kind == 1:
        return left
    if kind == 2:
        return up
    if kind == 3:
        return (left + up) // 2
    p = left + up - corner
    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
    return left if pa <= pb and pa <= pc else up if pb <= pc else corner


def count_colour(rows: list[bytes], rgb: tuple[int, int, int]) -> int:
    needle = bytes(rgb)
    return sum(sum(1 for x in range(0, len(r), 3) if r[x : x + 3] == needle) for r in rows)


def test_screenshot_shows_bars_with_their_figures(tmp_path: Path) -> None:
    browser()
    page, doc = fixture_report(
        ["pg18_simple_index", "pg18_recursive_cte", "pg15_gather_initplan"], tmp_path
    )
    shot = tmp_path / "explain-report.png"
    screenshot(page, tmp_path / "profile", shot)
    width, height, rows = png_pixels(shot)
    assert (width, height) == (1250, 1400)
    assert count_colour(rows, TIME_BAR) > 500 and count_colour(rows, BUF_BAR) > 100
    dom = dump_dom(page, tmp_path / "profile")
    # Every bar is a track plus a figure beside it (not text drawn over the bar).
    bars = re.findall(
        r'<div class="bar (time|buf)( sum)?" [^>]*><span class="track">'
        r'<i style="width: ([\d.]+)%;?"></i></span><span class="fig">([^<]+)</span></div>',
        dom,
    )
    nodes = sum(len(q["nodes"]) for q in doc["queries"])  # type: ignore[union-attr]
    assert len(bars) == 2 * nodes + len(doc["queries"])  # type: ignore[arg-type]
    assert all(fig.endswith(" ms") for kind, _, _, fig in bars if kind == "time")


def log_position(value: float, unit: float, decades: int) -> float:
    """The page's scale: log10(value / unit + 1) over log10(10^decades + 1), in percent."""
    return 100 * math.log10(value / unit + 1) / math.log10(10**decades + 1) if value > 0 else 0


def test_one_scale_for_every_query(tmp_path: Path) -> None:
    """A node's bar depends on its own time only: a 0.003 ms node draws a short bar in a tiny
    query as in a big one, and the longer node always draws the longer bar across queries."""
    browser()
    page, doc = fixture_report(["pg18_simple_index", "pg18_lossy_bitmap"], tmp_path)
    dom = dump_dom(page, tmp_path / "profile")
    widths = [
        float(w)
        for w in re.findall(
            r'<div class="bar time" [^>]*><span class="track"><i style="width: ([\d.]+)%', dom
        )
    ]
    times = [n["exclusive_time_ms"] for q in doc["queries"] for n in q["nodes"]]  # type: ignore[union-attr]
    assert len(widths) == len(times)
    for width, ms in zip(widths, times, strict=True):
        assert width == pytest.approx(log_position(ms, 0.001, 7), abs=0.06)
    tiny = doc["queries"][0]  # type: ignore[index]
    assert tiny["execution_ms"] < 1 and max(widths[: len(tiny["nodes"])]) < 40


def test_badges_agree_with_findings(tmp_path: Path) -> None:
    """The LIMIT-stopped Seq Scan (4000 planned, 5 read) has no finding, so no badge; the
    CTE Scan misestimate of PG15 (60 planned, 4000 read) has both."""
    browser()
    page, doc = fixture_report(["pg18_limit", "pg15_cte_filter"], tmp_path)
    dom = dump_dom(page, tmp_path / "profile")
    badges = re.findall(r'class="badge mis" title="([^"]+)"', dom)
    found = [f for q in doc["queries"] for f in q["findings"] if f["rule"] == "misestimate"]  # type: ignore[union-attr]
    assert len(badges) == len(found) == 1
    assert badges[0].startswith("planner underestimated rows 67x")


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_text_colours_pass_wcag_aa() -> None:
    """Every text colour on the background it is drawn on reaches 4.5:1 (WCAG AA)."""
    css = dict(re.findall(r"--([\w-]+):(#[0-9a-fA-F]{6})", TEMPLATE.read_text()))
    pairs = [
        ("fg", "bg"), ("fg", "alt"), ("muted", "bg"), ("muted", "alt"), ("crit", "bg"),
        ("warn", "bg"), ("info", "bg"), ("warn", "badge-bg"),
    ]  # fmt: skip
    for fg, bg in pairs:
        assert contrast(css[fg], css[bg]) >= 4.5, (fg, bg, round(contrast(css[fg], css[bg]), 2))
    assert contrast("#ffffff", css["muted"]) >= 4.5  # the "never executed" badge
