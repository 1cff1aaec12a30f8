"""train / evaluate / score / customer end to end: outputs, bad input, nothing half-written."""

from __future__ import annotations

import collections
import csv
import io
import json
from pathlib import Path

import duckdb
import pytest
import skops.io as sio

from shoplens.errors import ModelError
from shoplens.models import load_evaluation
from shoplens.models.persistence import safe_loads
from shoplens.models.training import TrainResult
from shoplens.store import open_store
from tests.conftest import MakeStore
from tests.models.conftest import copy_of, table_of
from tests.test_cli import run


def _evaluations(path: Path) -> int:
    return int(table_of(path, "SELECT count(*) AS n FROM model_evaluation")["n"][0].as_py())


def test_evaluate_json_is_the_stored_document(capsys, trained: tuple[Path, TrainResult]) -> None:
    path, result = trained
    code, out, err = run(capsys, "evaluate", "--store", str(path), "--json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc == json.loads(json.dumps(result.evaluation, default=str))
    con = open_store(path, read_only=True)
    assert load_evaluation(con) == doc
    con.close()
    code, out, _ = run(capsys, "evaluate", "--store", str(path))
    assert code == 0
    assert "baseline: hiatus" in out
    assert "oracle (simulator truth)" in out
    assert "Next category on the holdout" in out


def test_score_cli_writes_customer_scores(capsys, trained, tmp_path: Path) -> None:
    path = copy_of(trained[0], tmp_path)
    code, out, err = run(
        capsys, "score", "--store", str(path), "--csv", "--clv-horizon-days", "180"
    )
    assert (code, err) == (0, "")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 3000
    assert rows[0].keys() >= {"customer_id", "total_clv", "churn_risk", "churn_reasons"}
    params = table_of(path, "SELECT params FROM shoplens_results WHERE name = 'customer_scores'")[
        "params"
    ][0].as_py()
    assert json.loads(params)["clv_horizon_days"] == 180
    assert set(json.loads(params)) == {
        "as_of", "clv_horizon_days", "annual_discount_rate", "timezone", "model_trained_at"
    }  # fmt: skip


def test_customer_shows_orders_scores_and_reasons(capsys, scored: Path) -> None:
    cid = table_of(
        scored,
        "SELECT customer_id FROM customer_scores WHERE churn_risk = 'high'"
        " AND len(churn_reasons) > 0 AND average_days_between_orders IS NOT NULL"
        " ORDER BY customer_id LIMIT 1",
    )["customer_id"][0].as_py()
    code, out, err = run(capsys, "customer", "--store", str(scored), cid, "--json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["scores"]["churn_risk"] == "high"
    assert len(doc["orders"]) >= 2
    assert doc["scores"]["churn_reasons"]
    code, out, _ = run(capsys, "customer", "--store", str(scored), cid)
    assert code == 0
    assert "Orders (" in out
    assert "risk)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["customer", "no-such-id"], "unknown customer 'no-such-id'"),
        (["train", "--cutoff", "2030-01-01"], "outside the data"),
        (["train", "--cutoff", "2025-12-01"], "longer than the data after the cutoff"),
        (["train", "--cutoff", "2024-02-01"], "not enough history before the cutoff"),
        (["train", "--horizon-days", "3"], "--horizon-days must be between"),
        (["train", "--inactive-days", "0"], "--inactive-days must be >= 1"),
    ],
)
def test_bad_input_one_line_nothing_written(capsys, trained, tmp_path, args, message) -> None:
    path = copy_of(trained[0], tmp_path)
    before = _evaluations(path)
    code, _, err = run(capsys, *args, "--store", str(path))
    assert code == 1
    assert message in err
    assert err.count("\n") == 1
    assert _evaluations(path) == before


def test_score_refuses_a_model_of_another_schema(capsys, trained, tmp_path: Path) -> None:
    path = copy_of(trained[0], tmp_path)
    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE customers ADD COLUMN loyalty_tier VARCHAR")
    con.close()
    code, _, err = run(capsys, "score", "--store", str(path))
    assert code == 1
    assert "trained on a store with a different schema" in err
    assert err.count("\n") == 1
    con = duckdb.connect(str(path), read_only=True)
    assert "customer_scores" not in {r[0] for r in con.sql("SHOW TABLES").fetchall()}
    con.close()


def test_untrusted_types_are_refused() -> None:
    blob = sio.dumps(collections.Counter(a=1))
    with pytest.raises(ModelError, match="not on the reviewed list"):
        safe_loads(blob, name="evil")


def test_store_without_orders_and_too_few_customers(capsys, make_store: MakeStore) -> None:
    empty = make_store(customers=[{"customer_id": "a", "signup_ts": "2025-01-01 00:00",
                                   "country": "DE"}], orders=[], order_items=[])  # fmt: skip
    code, _, err = run(capsys, "train", "--store", str(empty))
    assert code == 1
    assert "no orders of known customers" in err
    orders = [
        {"order_id": f"o{i}", "customer_id": f"c{i % 5}",
         "order_ts": f"2025-{1 + i % 12:02d}-{1 + i % 27:02d} 10:00"}
        for i in range(40)
    ]  # fmt: skip
    items = [{"order_id": o["order_id"], "product_id": "p", "quantity": 1, "unit_price": 10}
             for o in orders]  # fmt: skip
    small = make_store(orders=orders, order_items=items,
                       products=[{"product_id": "p", "name": "P", "unit_price": 10}])  # fmt: skip
    code, _, err = run(capsys, "train", "--store", str(small), "--horizon-days", "60")
    assert code == 1
    assert "too few customers to train a churn model" in err
    assert err.count("\n") == 1
    assert "model_evaluation" not in {r[0] for r in duckdb.connect(str(small)).sql(
        "SHOW TABLES").fetchall()}  # fmt: skip
    code, _, err = run(capsys, "evaluate", "--store", str(small))
    assert code == 1
    assert "no evaluation" in err


def test_no_repeat_buyers(capsys, make_store: MakeStore) -> None:
    orders = [
        {"order_id": f"o{i}", "customer_id": f"c{i}",
         "order_ts": f"2025-{1 + i % 12:02d}-{1 + i % 27:02d} 10:00"}
        for i in range(300)
    ]  # fmt: skip
    items = [{"order_id": o["order_id"], "product_id": "p", "quantity": 1, "unit_price": 10}
             for o in orders]  # fmt: skip
    path = make_store(orders=orders, order_items=items,
                      products=[{"product_id": "p", "name": "P", "unit_price": 10}])  # fmt: skip
    code, _, err = run(capsys, "train", "--store", str(path), "--horizon-days", "60")
    assert code == 1
    assert "no customer has a repeat purchase" in err
    assert err.count("\n") == 1
