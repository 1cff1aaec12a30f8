"""Live model scores in the stream's customer_scores_live (issue #9 with #7's models)."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from quixstreams.sinks import SinkBatch

from shoplens.models.persistence import load_models
from shoplens.models.scores import ScoreSettings, score_customers
from shoplens.models.training import TrainResult
from shoplens.store import open_store
from shoplens.stream import messages as m
from shoplens.stream.scoring import LiveScorer
from shoplens.stream.sink import DuckDBSink

pytestmark = pytest.mark.slow


def _orders(con: duckdb.DuckDBPyConnection, customers: list[str], first_id: int) -> SinkBatch:
    (last_ts,) = con.execute("SELECT max(order_ts) FROM orders").fetchall()[0]
    (pid,) = con.execute("SELECT min(product_id) FROM products").fetchall()[0]
    b = SinkBatch(topic="orders", partition=0)
    for n, cid in enumerate(customers):
        msg = {"schema_version": 1, "order_id": str(first_id + n), "customer_id": cid,
               "order_ts": (last_ts + timedelta(hours=1 + n)).isoformat(),
               "status": "completed", "discount": "0", "currency": "EUR",
               "lines": [{"line_no": 1, "product_id": pid, "quantity": 1,
                          "unit_price": "25.00", "discount": "0"}]}  # fmt: skip
        b.append(m.parse(json.dumps(msg).encode(), "order"), cid.encode(), 0, [], n)
    return b


def test_live_scores_from_the_trained_models(
    trained: tuple[Path, TrainResult], tmp_path: Path
) -> None:
    path = tmp_path / "live.duckdb"
    shutil.copy(trained[0], path)
    scorer = LiveScorer(every=0.0)
    sink = DuckDBSink(path, scorer=scorer)
    sink.setup()
    assert scorer.models is not None
    con = open_store(path, read_only=True)
    ids = [r[0] for r in con.execute("SELECT customer_id FROM customers ORDER BY 1 LIMIT 3")
           .fetchall()]  # fmt: skip
    (last_id,) = con.execute("SELECT max(order_id::BIGINT) FROM orders").fetchall()[0]
    batch = _orders(con, ids[:2], last_id + 1)
    con.close()
    sink.write(batch)
    assert scorer.rounds == 1

    con = open_store(path)  # the batch computation on the same store state
    expected = score_customers(con, load_models(con), timezone="UTC", settings=ScoreSettings())
    want = {
        r["customer_id"]: (r["churn_probability"], r["predicted_clv"])
        for r in expected.to_pylist()
        if r["customer_id"] in ids
    }
    got = dict(
        (r[0], (r[1], r[2]))
        for r in con.execute(
            "SELECT customer_id, churn_probability, predicted_clv FROM customer_scores_live"
        ).fetchall()
    )
    params = con.execute(
        "SELECT params FROM shoplens_results WHERE name = 'customer_scores_live'"
    ).fetchall()[0][0]
    con.close()
    assert set(got) == set(ids[:2])
    for cid in ids[:2]:
        assert got[cid][0] == pytest.approx(want[cid][0])
        assert got[cid][1] == pytest.approx(want[cid][1])
        assert 0.0 <= got[cid][0] <= 1.0
    assert "churn" in json.loads(params)["models"]

    # between two scoring rounds a touched customer keeps its last scores
    scorer.every = 1e9
    con = open_store(path, read_only=True)
    batch = _orders(con, [ids[0], ids[2]], last_id + 10)
    con.close()
    sink.write(batch)
    assert scorer.rounds == 1
    con = open_store(path, read_only=True)
    rows = dict(
        (r[0], r[1])
        for r in con.execute(
            "SELECT customer_id, churn_probability FROM customer_scores_live"
        ).fetchall()
    )
    con.close()
    assert rows[ids[0]] == pytest.approx(got[ids[0]][0])
    assert rows[ids[2]] is None  # not scored yet


def test_no_models_leaves_scores_null(tmp_path: Path) -> None:
    scorer = LiveScorer()
    sink = DuckDBSink(tmp_path / "empty.duckdb", scorer=scorer)
    sink.setup()
    assert scorer.models is None
    assert "run 'shoplens train'" in (scorer.reason or "")
