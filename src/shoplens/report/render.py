"""HTML assembly: one self-contained file, plotly.js inlined once, no network, no web fonts.

Charts are plotly divs drawn by the inlined library; tables are plain HTML with the
CLI's number formats. ``write_pngs`` exports every chart with kaleido (one browser
for all charts: ``start_sync_server`` ... ``stop_sync_server``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
import plotly.graph_objects as go
import pyarrow as pa
from plotly.offline import get_plotlyjs

from shoplens.output import format_value
from shoplens.report.collect import ReportData
from shoplens.report.insights import Insight
from shoplens.report.sections import Chart, Note, Section, TableBlock, Tile, charts

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

PLOT_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


def chart_html(chart: Chart) -> str:
    """The chart as a div plus the script that draws it (no library included)."""
    fig = go.Figure(chart.figure)
    fig.update_layout(autosize=True, width=None)
    return str(
        fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"chart-{chart.key}",
            config=PLOT_CONFIG,
            default_width="100%",
            default_height=f"{fig.layout.height or 360}px",
        )
    )


def table_rows(block: TableBlock) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """Headers and formatted cells ((text, numeric)) of a table block."""
    table: pa.Table = block.table
    headers = [block.headers.get(c, c.replace("_", " ")) for c in table.column_names]
    rows = []
    for row in table.to_pylist():
        cells = []
        for name, value in row.items():
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            text = (
                ", ".join(map(str, value)) if isinstance(value, list) else format_value(name, value)
            )
            if name.endswith("_clv") or name == "predicted_clv":
                text = format_value("revenue", value)
            cells.append((text, numeric))
        rows.append(cells)
    return headers, rows


def render_html(data: ReportData, sections: list[Section]) -> str:
    """The whole report as one HTML document."""
    template = _ENV.get_template("report.html")
    return template.render(
        data=data,
        sections=sections,
        plotlyjs=get_plotlyjs(),
        chart_html=chart_html,
        table_rows=table_rows,
        is_chart=lambda b: isinstance(b, Chart),
        is_table=lambda b: isinstance(b, TableBlock),
        is_note=lambda b: isinstance(b, Note),
        is_tiles=lambda b: isinstance(b, list) and bool(b) and isinstance(b[0], Tile),
        is_insights=lambda b: isinstance(b, list) and bool(b) and isinstance(b[0], Insight),
        is_definitions=lambda b: isinstance(b, dict),
        today=date.today(),
    )


@contextmanager
def png_exporter() -> Iterator[Any]:
    """One kaleido browser for many PNGs (MathJax off: it would load from a CDN)."""
    import kaleido

    kaleido.start_sync_server(mathjax=False, silence_warnings=True)
    try:
        yield kaleido
    finally:
        kaleido.stop_sync_server(silence_warnings=True)


def write_pngs(sections: list[Section], directory: Path, *, width: int = 1100) -> list[Path]:
    """Write every chart as ``<key>.png`` into ``directory`` (created); return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    with png_exporter(), warnings.catch_warnings():
        # plotly passes kaleido options a running server ignores; say nothing about it
        warnings.filterwarnings("ignore", message="The kopts argument is ignored")
        for chart in charts(sections):
            path = directory / f"{chart.key}.png"
            chart.figure.write_image(
                path, format="png", width=width, height=chart.figure.layout.height or 360, scale=2
            )
            paths.append(path)
    return paths
