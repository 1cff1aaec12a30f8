"""The dashboard's entry point: page setup and navigation (``st.navigation``).

Started by ``shoplens dashboard`` (which sets ``SHOPLENS_STORE`` and
``SHOPLENS_TIMEZONE``). Each page is a file in ``pages/`` that draws the shared
sidebar filters itself (:func:`shoplens.dashboard.ui.run_page`), so a page never
depends on state left by another run.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "pages"

PAGE_FILES: tuple[tuple[str, str, str], ...] = (
    ("overview.py", "Overview", ":material/dashboard:"),
    ("segments.py", "Segments", ":material/group_work:"),
    ("cohorts.py", "Cohorts", ":material/grid_on:"),
    ("clv.py", "Lifetime value", ":material/savings:"),
    ("churn.py", "Churn", ":material/person_remove:"),
    ("next_category.py", "Next category", ":material/category:"),
    ("customer.py", "Customer", ":material/person_search:"),
    ("live.py", "Live", ":material/bolt:"),
    ("quality.py", "Data quality", ":material/fact_check:"),
)

st.set_page_config(page_title="shoplens", page_icon="🛍️", layout="wide")
st.navigation(
    [
        st.Page(PAGES / name, title=title, icon=icon, default=(i == 0))
        for i, (name, title, icon) in enumerate(PAGE_FILES)
    ]
).run()
