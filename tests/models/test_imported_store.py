"""train, score and customer on a store built by the importer (no events, no demographics)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb

from tests.models.conftest import table_of
from tests.test_cli import run


def _export_order_lines(shop: Path, dst: Path) -> int:
    """Completed orders of half the simulated customers, as a UCI Online Retail CSV."""
    con = duckdb.connect(str(shop), read_only=True)
    rows = con.execute(
        "SELECT o.order_id, i.product_id, i.quantity,"
        " strftime(timezone('UTC', o.order_ts), '%Y-%m-%d %H:%M:%S'), i.unit_price,"
        " o.customer_id FROM orders o JOIN order_items i USING (order_id)"
        " WHERE o.status = 'completed' AND CAST(o.customer_id AS INTEGER) % 2 = 0"
        " ORDER BY o.order_ts, o.order_id, i.line_no"
    ).fetchall()
    con.close()
    with dst.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                    "UnitPrice", "CustomerID", "Country"])  # fmt: skip
        for order, product, qty, ts, price, customer in rows:
            w.writerow([order, product, f"item {product}", qty, ts, price, customer, "France"])
    return len(rows)


def test_train_score_customer_on_an_imported_store(capsys, sim_shop: Path, tmp_path: Path) -> None:
    src = tmp_path / "lines.csv"
    assert _export_order_lines(sim_shop, src) > 5_000
    store = str(tmp_path / "imported.duckdb")
    code, _, err = run(capsys, "import", str(src), "--preset", "order-lines", "--store", store)
    assert (code, err) == (0, "")
    tables = {r["name"] for r in table_of(Path(store), "SHOW TABLES").to_pylist()}
    assert (
        "events" not in tables
        or table_of(Path(store), "SELECT count(*) AS n FROM events")["n"][0].as_py() == 0
    )

    code, out, err = run(capsys, "train", "--store", store, "--json")
    assert code == 0, err
    ev = json.loads(out)
    skipped = " ".join(ev["skipped"])
    assert "next-category model" in skipped
    assert "categor" in skipped
    assert ev["preference"] is None
    assert ev["churn"]["oracle"] is None  # no simulator truth in an imported store
    assert ev["churn"]["model"]["roc_auc"] > ev["churn"]["baselines"]["hiatus"]["roc_auc"]

    code, out, err = run(capsys, "score", "--store", store, "--json")
    assert (code, err) == (0, "")
    rows = json.loads(out)["rows"]
    n_customers = table_of(Path(store), "SELECT count(*) AS n FROM customers")["n"][0].as_py()
    assert len(rows) == n_customers > 1000
    assert all(r["next_category"] is None for r in rows)
    assert all(0 <= r["churn_probability"] <= 1 for r in rows)
    assert all(abs(r["total_clv"] - r["historic_clv"] - r["predicted_clv"]) < 0.011 for r in rows)

    cid = rows[0]["customer_id"]
    code, out, err = run(capsys, "customer", "--store", store, cid, "--json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["scores"]["customer_id"] == cid
    assert doc["orders"]
