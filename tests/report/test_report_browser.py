"""The report in headless Chromium with the network blocked; charts as PNGs (kaleido)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shoplens import figures
from shoplens.report import write_report
from shoplens.report.render import write_pngs
from shoplens.report.sections import Chart, Section
from tests.browser import browser

pytestmark = pytest.mark.slow


def test_report_renders_offline_on_laptop_and_phone(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    write_report(shop, out)
    with browser() as b:
        for width, height in ((1366, 768), (390, 844)):
            _check_page(b, out.as_uri(), width, height)


def _check_page(b: Any, url: str, width: int, height: int) -> None:
    page = b.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def block(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            requests.append(route.request.url)
            route.abort()

    page.route("**/*", block)
    page.goto(url)
    charts = page.locator("div[data-chart]").count()
    assert charts == 12
    # every chart drawn: plotly put its SVG and its traces into each div
    page.wait_for_function(
        "n => document.querySelectorAll('div[data-chart] .main-svg').length >= n",
        arg=charts,
        timeout=30_000,
    )
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('div[data-chart] .js-plotly-plot')]"
        ".filter(d => d.data && d.data.length > 0 && d.querySelector('.main-svg')).length"
    )
    assert drawn == charts
    assert errors == []
    assert requests == []
    # nothing wider than the window (readable on a phone without side-scrolling)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width + 1
    page.close()


def test_charts_as_png(tmp_path: Path) -> None:
    import pyarrow as pa

    table = pa.table({"hour": [1, 2], "net_revenue": [1.0, 3.0]})
    section = Section("t", "T", "", [Chart("hours", figures.revenue_share_bars(table, "hour"))])
    (path,) = write_pngs([section], tmp_path / "png")
    data = path.read_bytes()
    assert path.name == "hours.png"
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5_000
