"""Baseline import: what a typical notebook does with a UCI "Online Retail" CSV.

``pd.read_csv`` (C engine, string columns as ``str``), then the usual cleaning cells:

1. drop fully empty rows (``dropna(how="all")``), then exact duplicates
   (``drop_duplicates()``, the first occurrence is kept);
2. ``pd.to_datetime(format=DATE_FORMAT, errors="coerce")`` and drop the rows that did
   not parse (NaT); then drop rows with a negative price (UCI's "Adjust bad debt");
3. mark the orders: an invoice starting with ``C`` is a cancellation; otherwise an
   invoice whose lines all have negative quantities is a return; otherwise completed.
   A negative line in a completed order (it has positive lines) is dropped. Quantities
   are stored as absolute values;
4. guests: ``Customer ID`` read as float (``17850.0``), kept as a nullable integer and
   stored as text (``"17850"``); blank means a guest order, kept;
5. build ``orders`` / ``order_items`` / ``customers`` / ``products`` with ``groupby``
   (order fields from the first line, ``line_no`` = position in the order in file
   order; customer signup = first order and country of that order; product name and
   price from its latest line, price from the latest line with a positive price);
6. write the four frames to a DuckDB file (``CREATE TABLE ... AS SELECT * FROM df``,
   DuckDB's zero-copy scan of the DataFrames).

These are the rules of ``shoplens.ingest.clean`` for the ``order-lines`` preset (the
rows the generator in ``bench_import.py`` writes use no other rule), so both sides must
end with the same tables. The counts the notebook prints along the way are returned
with the same names as shoplens' quality report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

DATE_FORMAT = "%m/%d/%Y %H:%M"
"""The generator's (and UCI's) US dates: ``12/1/2010 8:26``."""

STRING_COLUMNS = ("Invoice", "StockCode", "Description", "Country")

TABLES = ("orders", "order_items", "customers", "products")


@dataclass
class Result:
    counts: dict[str, int] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)


def clean(path: str | Path) -> Result:
    """Read and clean ``path``; the four tables as DataFrames plus the counts."""
    counts: dict[str, int] = {}
    df = pd.read_csv(path, dtype=dict.fromkeys(STRING_COLUMNS, "str"))
    counts["rows_read"] = len(df)

    # 1. empty rows, exact duplicates
    df = df.dropna(how="all")
    counts["empty_rows"] = counts["rows_read"] - len(df)
    n = len(df)
    df = df.drop_duplicates()
    counts["duplicate_rows"] = n - len(df)
    df["row"] = df.index + 2  # line in the file (the header is line 1), as shoplens' __row

    # 2. dates, negative prices
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"], format=DATE_FORMAT, errors="coerce")
    bad_date = df["InvoiceDate"].isna()
    counts["dates_parsed"] = int((~bad_date).sum())
    counts["unparseable_dates"] = int(bad_date.sum())
    df = df[~bad_date]
    neg_price = df["Price"] < 0
    counts["negative_price_rows"] = int(neg_price.sum())
    df = df[~neg_price]

    # 3. cancellations, returns, mixed-sign lines
    neg = df["Quantity"] < 0
    all_neg = neg.groupby(df["Invoice"]).transform("all")
    status = np.where(
        df["Invoice"].str.startswith("C"),
        "cancelled",
        np.where(all_neg, "returned", "completed"),
    )
    df["status"] = status
    mixed = neg & (df["status"] == "completed")
    counts["mixed_sign_lines"] = int(mixed.sum())
    df = df[~mixed].copy()
    df["Quantity"] = df["Quantity"].abs().astype("int32")

    # 4. guests
    df["customer_id"] = df["Customer ID"].astype("Int64").astype("str")
    df.loc[df["Customer ID"].isna(), "customer_id"] = None

    # 5. the tables
    df["line_no"] = df.groupby("Invoice", sort=False).cumcount() + 1
    df["product_id"] = df["StockCode"].fillna(df["Description"])
    order_items = pd.DataFrame(
        {
            "order_id": df["Invoice"],
            "line_no": df["line_no"].astype("int32"),
            "product_id": df["product_id"],
            "quantity": df["Quantity"],
            "unit_price": df["Price"].round(2),
        }
    )
    first = df.groupby("Invoice", sort=False).agg(
        customer_id=("customer_id", "first"),
        order_ts=("InvoiceDate", "first"),
        status=("status", "first"),
        country=("Country", "first"),
        first_row=("row", "first"),
    )
    orders = first.reset_index(names="order_id")
    by_first = orders.sort_values(["order_ts", "first_row"])
    with_cust = by_first[by_first["customer_id"].notna()]
    customers = with_cust.groupby("customer_id", sort=False).agg(
        signup_ts=("order_ts", "first"), country=("country", "first")
    )
    customers["country"] = customers["country"].fillna("(unknown)")
    customers = customers.reset_index()
    latest = df.sort_values(["InvoiceDate", "row"])
    latest_name = latest["Description"].fillna(latest["product_id"])
    products = (
        latest.assign(name=latest_name).groupby("product_id", sort=False).agg(name=("name", "last"))
    )
    paid = latest[latest["Price"] > 0]
    products["unit_price"] = (
        paid.groupby("product_id", sort=False)["Price"].last().reindex(products.index).fillna(0)
    ).round(2)
    products = products.reset_index()

    counts["lines"] = len(order_items)
    counts["orders"] = len(orders)
    counts["customers"] = len(customers)
    counts["products"] = len(products)
    counts["guest_orders"] = int(orders["customer_id"].isna().sum())
    for s in ("completed", "cancelled", "returned"):
        counts[f"{s}_orders"] = int((orders["status"] == s).sum())
    orders = orders[["order_id", "customer_id", "order_ts", "status"]]
    return Result(
        counts=counts,
        frames={
            "orders": orders,
            "order_items": order_items,
            "customers": customers,
            "products": products,
        },
    )


def write(frames: dict[str, pd.DataFrame], store: str | Path) -> None:
    """Write the frames as tables of a new DuckDB file."""
    con = duckdb.connect(str(store))
    try:
        for name in TABLES:
            con.register("frame", frames[name])
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def run(path: str | Path, store: str | Path) -> dict[str, Any]:
    """The whole notebook: read + clean + write; returns the counts."""
    result = clean(path)
    write(result.frames, store)
    return result.counts
