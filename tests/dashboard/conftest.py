"""AppTest helpers: run the dashboard on a store, caches cleared between tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import shoplens.dashboard
from shoplens.dashboard import snapshot

APP = Path(shoplens.dashboard.__file__).parent / "app.py"

RunApp = Callable[..., AppTest]


@pytest.fixture(autouse=True)
def _clear_caches() -> Iterator[None]:
    """Streamlit caches live across AppTest instances in one process: start each test clean."""
    st.cache_data.clear()
    snapshot.clear()
    yield
    st.cache_data.clear()
    snapshot.clear()


@pytest.fixture
def run_app(monkeypatch: pytest.MonkeyPatch) -> RunApp:
    """run_app(store, page=None) -> an AppTest that has run (the given page, if any)."""

    def start(store: Path, page: str | None = None) -> AppTest:
        monkeypatch.setenv("SHOPLENS_STORE", str(store))
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.run()
        if page is not None:
            at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return start
