"""The DuckDB store: open/create, atomic loads, result tables, status."""

from shoplens.store.db import (
    create_tables,
    finalize_keys,
    load_table,
    open_store,
    require_tables,
    write_new_store,
)
from shoplens.store.files import ReadOnlyStoreError, damage_as_store_error
from shoplens.store.results import list_results, write_result
from shoplens.store.status import StoreStatus, TableStatus, store_status

__all__ = [
    "ReadOnlyStoreError",
    "StoreStatus",
    "TableStatus",
    "create_tables",
    "damage_as_store_error",
    "finalize_keys",
    "list_results",
    "load_table",
    "open_store",
    "require_tables",
    "store_status",
    "write_new_store",
    "write_result",
]
