"""The DuckDB store: open/create, atomic loads, result tables, status."""

from shoplens.store.db import (
    create_tables,
    finalize_keys,
    load_table,
    open_store,
    require_tables,
    shop_meta,
    write_new_store,
)
from shoplens.store.files import ReadOnlyStoreError, damage_as_store_error
from shoplens.store.meta import ShopMeta, read_meta, session_timezone, write_meta
from shoplens.store.results import list_results, write_result
from shoplens.store.status import StoreStatus, TableStatus, store_status

__all__ = [
    "ReadOnlyStoreError",
    "ShopMeta",
    "StoreStatus",
    "TableStatus",
    "create_tables",
    "damage_as_store_error",
    "finalize_keys",
    "list_results",
    "load_table",
    "open_store",
    "read_meta",
    "require_tables",
    "session_timezone",
    "shop_meta",
    "store_status",
    "write_meta",
    "write_new_store",
    "write_result",
]
