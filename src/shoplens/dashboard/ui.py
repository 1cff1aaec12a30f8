"""Widgets the pages share: the store context, KPI tiles, tables, "not computed yet"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pyarrow as pa
import streamlit as st

from shoplens.analytics.explore import Filters
from shoplens.analytics.results import NOT_COMPUTED
from shoplens.config import load_settings
from shoplens.dashboard import data
from shoplens.dashboard.filters import sidebar_filters
from shoplens.dashboard.store_access import StoreBusy, version
from shoplens.errors import ShoplensError, StoreError


@dataclass(frozen=True)
class Context:
    """What every page gets: the store, its time zone and version, the filters."""

    path: str
    tz: str
    currency: str
    version: int
    filters: Filters
    options: dict[str, Any]


def _context() -> Context:
    settings = load_settings()
    path = str(settings.store)
    if not Path(path).exists():
        raise StoreError(f"store {path} not found (start with 'shoplens dashboard --store')")
    stamp = version(path)
    opts = data.options(path, settings.timezone, stamp)
    st.sidebar.caption(f"Store `{Path(path).name}` · {settings.timezone}")
    filters = sidebar_filters(opts)
    return Context(path, settings.timezone, settings.currency, stamp, filters, opts)


@st.fragment(run_every=3)
def _retry_later() -> None:
    """While a writer holds the store, run the page again every 3 s."""
    if st.session_state.get("_busy_ticks", 0) > 0:
        st.session_state["_busy_ticks"] = 0
        st.rerun(scope="app")
    st.session_state["_busy_ticks"] = 1


def run_page(render: Callable[[Context], None]) -> None:
    """Draw the filters and the page; a busy store or a user error is shown, never raised.

    Every page calls this (not the entry point), so each run of a page re-reads the
    store's version and the filters.
    """
    try:
        render(_context())
    except StoreBusy as exc:
        message = str(exc)
        st.warning(message[:1].upper() + message[1:] + "…", icon="⏳")
        _retry_later()
    except ShoplensError as exc:
        st.error(str(exc))


def not_computed(table: str) -> None:
    st.info(f"Not computed yet: run `{NOT_COMPUTED[table]}` on this store.", icon="⏳")


def chart(fig: go.Figure, key: str) -> None:
    st.plotly_chart(fig, key=key, config={"displaylogo": False})


def money(value: Any, currency: str) -> str:
    return "–" if value is None else f"{float(value):,.0f} {currency}"


def delta(now: Any, before: Any, *, points: bool = False) -> str | None:
    """'+12.3%' (or '+1.2 pts' for rates); None without a previous value."""
    if now is None or not before:
        return None
    if points:
        return f"{(float(now) - float(before)) * 100:+.1f} pts"
    return f"{float(now) / float(before) - 1:+.1%}"


_PERCENT = ("_share", "_rate", "share", "probability", "p_alive")
_MONEY = ("revenue", "_clv", "aov", "value", "spend", "monetary", "discounts")


def _column_config(data: pa.Table) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for field in data.schema:
        label = field.name.replace("_", " ")
        kind = field.type
        if pa.types.is_integer(kind):
            config[field.name] = st.column_config.NumberColumn(label, format="localized")
        elif pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            if field.name.endswith(_PERCENT):
                config[field.name] = st.column_config.NumberColumn(label, format="percent")
            elif field.name.endswith(_MONEY):
                config[field.name] = st.column_config.NumberColumn(label, format="%,.2f")
            else:
                config[field.name] = st.column_config.NumberColumn(label, format="%,.2f")
        else:
            config[field.name] = st.column_config.Column(label)
    return config


def table(data: pa.Table, *, key: str, height: int | None = None) -> None:
    """An Arrow table with readable headers and number formats (numbers stay numbers)."""
    lists = [f.name for f in data.schema if pa.types.is_list(f.type)]
    for name in lists:  # lists (reasons, top-3) as one text
        i = data.column_names.index(name)
        text = [
            ", ".join(map(str, v)) if v is not None else None for v in data.column(name).to_pylist()
        ]
        data = data.set_column(i, name, pa.array(text, pa.string()))
    st.dataframe(
        data,
        hide_index=True,
        key=key,
        height=height or "auto",
        column_config=_column_config(data),
    )
