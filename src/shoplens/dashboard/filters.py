"""The sidebar filters: period, countries, categories, RFM segments, kept across pages.

Each value lives in ``st.session_state`` under its own key (``filter_*``); the widget
(``w_filter_*``) is re-seeded from it on every run and copies its value back on change,
so switching pages never resets a filter. The values reach SQL only as bound
parameters (:class:`~shoplens.analytics.explore.Filters`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import streamlit as st

from shoplens.analytics.explore import Filters

DEFAULT_DAYS = 90


def _keep(name: str) -> None:
    st.session_state[f"filter_{name}"] = st.session_state[f"w_filter_{name}"]


def _seed(name: str, default: Any) -> None:
    key = f"filter_{name}"
    if key not in st.session_state:
        st.session_state[key] = default
    st.session_state[f"w_{key}"] = st.session_state[key]


def _clamp_period(value: Any, first: date, last: date) -> tuple[date, date]:
    if isinstance(value, list | tuple) and len(value) == 2:
        start, end = value
    elif isinstance(value, list | tuple) and len(value) == 1:  # half-picked range
        start = end = value[0]
    else:
        start, end = max(first, last - timedelta(days=DEFAULT_DAYS - 1)), last
    start, end = min(max(start, first), last), min(max(end, first), last)
    return (start, end) if start <= end else (end, start)


def sidebar_filters(opts: dict[str, Any]) -> Filters:
    """Draw the filters in the sidebar and return the slice they select."""
    first, last = opts["first_day"], opts["last_day"]
    default = _clamp_period(None, first, last)
    _seed("period", default)
    st.session_state["filter_period"] = _clamp_period(
        st.session_state["filter_period"], first, last
    )
    st.session_state["w_filter_period"] = st.session_state["filter_period"]
    for name in ("countries", "categories", "segments"):
        _seed(name, [])
        allowed = set(opts[name])
        kept = [v for v in st.session_state[f"filter_{name}"] if v in allowed]
        st.session_state[f"filter_{name}"] = kept
        st.session_state[f"w_filter_{name}"] = kept
    side = st.sidebar
    side.date_input(
        "Period",
        min_value=first,
        max_value=last,
        key="w_filter_period",
        on_change=_keep,
        args=("period",),
        format="YYYY-MM-DD",
        help="Shop-local days, both included. KPI tiles compare with the period of equal "
        "length just before.",
    )
    side.multiselect(
        "Country",
        opts["countries"],
        key="w_filter_countries",
        on_change=_keep,
        args=("countries",),
        placeholder="All countries",
    )
    side.multiselect(
        "Category",
        opts["categories"],
        key="w_filter_categories",
        on_change=_keep,
        args=("categories",),
        placeholder="All categories",
        help="Orders containing at least one line of the chosen categories.",
    )
    side.multiselect(
        "Segment",
        opts["segments"],
        key="w_filter_segments",
        on_change=_keep,
        args=("segments",),
        placeholder="All segments",
        disabled=not opts["segments"],
        help="RFM segment as last computed"
        + ("" if opts["segments"] else ": none yet, run `shoplens segments`"),
    )
    start, end = _clamp_period(st.session_state["filter_period"], first, last)
    return Filters(
        start,
        end,
        tuple(st.session_state["filter_countries"]),
        tuple(st.session_state["filter_categories"]),
        tuple(st.session_state["filter_segments"]),
    )
