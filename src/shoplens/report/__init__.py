"""The HTML report: store -> tables (collect) -> insights and sections -> one HTML file.

Public API: :func:`build_report` (everything, returns the HTML and the sections),
:func:`write_report` (to a file, optionally with PNGs), :func:`collect`, :func:`insights`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from shoplens.report.collect import ReportData, collect
from shoplens.report.insights import Insight, insights
from shoplens.report.render import render_html, write_pngs
from shoplens.report.sections import SECTION_IDS, Section, build_sections


def build_report(data: ReportData) -> tuple[str, list[Section]]:
    """The report's HTML and its sections, from collected data."""
    sections = build_sections(data)
    return render_html(data, sections), sections


def write_report(
    store: str | Path,
    out: str | Path,
    *,
    png_dir: str | Path | None = None,
    start: date | None = None,
    end: date | None = None,
    timezone: str = "UTC",
    currency: str = "EUR",
) -> list[Path]:
    """Write the report of ``store`` to ``out`` (atomically); PNGs too with ``png_dir``.

    Returns the PNG paths written (empty without ``png_dir``).
    """
    data = collect(store, start=start, end=end, timezone=timezone, currency=currency)
    html, sections = build_report(data)
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return write_pngs(sections, Path(png_dir)) if png_dir is not None else []


__all__ = [
    "SECTION_IDS",
    "Insight",
    "ReportData",
    "Section",
    "build_report",
    "build_sections",
    "collect",
    "insights",
    "write_report",
]
