"""End to end: ``shoplens dashboard`` as a subprocess, driven in headless Chromium."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shoplens.dashboard.app import PAGE_FILES
from tests.browser import browser, require_chromium
from tests.dashboard.test_pages import net_revenue

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dashboard exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError("dashboard did not answer /_stcore/health")


@pytest.fixture
def dashboard(shop: Path) -> Iterator[str]:
    require_chromium()
    port = free_port()
    shoplens = Path(sys.executable).parent / "shoplens"
    proc = subprocess.Popen(
        [str(shoplens), "dashboard", "--store", str(shop), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("SHOPLENS_")},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def metric(page: Any, label: str) -> Any:
    return page.locator('[data-testid="stMetric"]', has_text=label).locator(
        '[data-testid="stMetricValue"]'
    )


def test_dashboard_in_chromium(dashboard: str, shop: Path, tmp_path: Path) -> None:
    con = duckdb.connect(str(shop), read_only=True)
    ((last,),) = con.execute("SELECT CAST(max(order_ts) AS DATE) FROM orders").fetchall()
    con.close()
    start = last - timedelta(days=89)  # the default period
    everyone = f"{net_revenue(shop, start, last):,.0f} EUR"
    germany = f"{net_revenue(shop, start, last, ['DE']):,.0f} EUR"
    assert everyone != germany
    with browser() as b:
        page = b.new_page(viewport={"width": 1366, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(dashboard)
        # wait for the exact value (an intermediate rerun may show another)
        metric(page, "Net revenue").filter(has_text=everyone).wait_for(timeout=60_000)
        page.screenshot(path=str(tmp_path / "overview.png"))
        country = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first
        country.click()
        page.get_by_role("option", name="DE", exact=True).click()
        page.keyboard.press("Escape")
        metric(page, "Net revenue").filter(has_text=germany).wait_for(timeout=60_000)
        page.screenshot(path=str(tmp_path / "overview-de.png"))
        for name, title, _ in PAGE_FILES[1:]:
            page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
            page.locator("h1", has_text=title).wait_for(timeout=60_000)
            page.wait_for_load_state("networkidle")
            # the country filter is kept on every page
            page.locator('[data-testid="stSidebar"] button[aria-label="Remove DE"]').wait_for(
                timeout=30_000
            )
            assert not page.locator('[data-testid="stException"]').count(), name
            page.screenshot(path=str(tmp_path / f"{name.removesuffix('.py')}.png"))
        assert errors == []
    shots = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(shots) == len(PAGE_FILES) + 1
    assert all((tmp_path / s).stat().st_size > 10_000 for s in shots)
