"""The Streamlit dashboard (``shoplens dashboard``): filters, pages over the store, read-only.

``app.py`` is the entry point (``st.navigation``), ``data.py`` the cached loaders (one
read-only connection per query, closed right after), ``filters.py`` the sidebar
filters kept across pages, ``ui.py`` the shared widgets, ``pages/`` one file per page.
"""
