"""The report tests use the session shops of tests/conftest.py (``shop``, ``scored_shop``)."""
