"""The commands people look at: ``report`` (one HTML file) and ``dashboard`` (Streamlit)."""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from shoplens.cli.core import StoreOpt, TzOpt, _shop_settings, err, out
from shoplens.errors import InvalidParameterError, StoreError


def report_cmd(
    store_path: StoreOpt = None,
    out_path: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    png: Annotated[
        Path | None, typer.Option("--png", help="Also write every chart as a PNG into DIR.")
    ] = None,
    start: Annotated[
        datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="First day [default: 365 days back]."),
    ] = None,
    stop: Annotated[
        datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Last day [default: last order day]."),
    ] = None,
    timezone: TzOpt = None,
) -> None:
    """Write a self-contained HTML report (works offline) with insights, charts and tables."""
    from shoplens.report import write_report

    settings = _shop_settings(store_path, timezone)
    if out_path.is_dir():
        raise InvalidParameterError(f"--out {out_path} is a directory; name an .html file")
    if not out_path.parent.exists():
        raise InvalidParameterError(f"directory {out_path.parent} does not exist")
    if png is not None and png.exists() and not png.is_dir():
        raise InvalidParameterError(f"--png {png} is a file; name a directory")
    t0 = time.perf_counter()
    pngs = write_report(
        settings.store,
        out_path,
        png_dir=png,
        start=start.date() if start else None,
        end=stop.date() if stop else None,
        timezone=settings.timezone,
        currency=settings.currency,
    )
    took = time.perf_counter() - t0
    out.print(
        f"report written to {escape(str(out_path.resolve()))} in {took:.1f} s", highlight=False
    )
    if pngs:
        out.print(f"{len(pngs)} charts written to {escape(str(png))}", highlight=False)


def dashboard_cmd(
    store_path: StoreOpt = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.", min=1, max=65535)] = 8501,
    timezone: TzOpt = None,
) -> None:
    """Start the Streamlit dashboard on 127.0.0.1 (reads the store read-only, per query)."""
    settings = _shop_settings(store_path, timezone)
    path = Path(settings.store)
    if not path.exists():
        raise StoreError(
            f"store {path} not found (create one with 'shoplens generate' or 'shoplens import')"
        )
    app = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
    os.environ.update(
        SHOPLENS_STORE=str(path.resolve()),
        SHOPLENS_TIMEZONE=settings.timezone,
        SHOPLENS_CURRENCY=settings.currency,
    )
    err.print(f"dashboard on http://127.0.0.1:{port} (Ctrl+C to stop)", highlight=False)
    # Streamlit runs in this process (its PID is the server's): import what the pages
    # need now, so the first page view does not pay for it.
    # (not the dashboard modules: their caches must be created inside Streamlit's runtime)
    import plotly.graph_objects  # noqa: F401
    from streamlit.web import cli as streamlit_cli

    import shoplens.analytics.results
    import shoplens.figures  # noqa: F401
    from shoplens.dashboard import snapshot, store_access

    t0 = time.perf_counter()
    try:  # the order snapshot, before the server is up (else: built on the first view)
        snapshot.warm(str(path.resolve()), settings.timezone, store_access.version(str(path)))
        err.print(f"store read in {time.perf_counter() - t0:.1f} s", highlight=False)
    except StoreError as exc:
        err.print(f"{escape(str(exc))}: the first view will read the store", highlight=False)

    sys.argv = [
        "streamlit",
        "run",
        str(app),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "minimal",
        "--theme.base",
        "light",
    ]
    streamlit_cli.main()
