"""Live model scores: churn probability and predicted CLV in ``customer_scores_live``.

With models trained by ``shoplens train`` (issue #7) saved in the store, the processor
rescores the customers every ``every`` seconds (default 60) with
:func:`shoplens.models.scores.score_customers` over the stored orders, the streamed
ones included, and copies ``churn_probability`` and ``predicted_clv`` into the live
table; customers touched between two rounds keep their last scores. Scoring reads the
whole store (seconds on a large shop), so it runs on a slower cadence than the batch
writes, right after one of them on the same connection. Without trained models both
columns stay NULL.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import duckdb

from shoplens.errors import ModelError
from shoplens.stream.live import CUSTOMER_SCORES_LIVE

log = logging.getLogger(__name__)


class LiveScorer:
    """Loads the saved models once and rescores on a cadence."""

    def __init__(
        self, *, timezone: str = "UTC", every: float = 60.0, currency: str = "EUR"
    ) -> None:
        self.timezone = timezone
        self.every = every
        self.currency = currency
        self.models: dict[str, tuple[Any, dict[str, Any]]] | None = None
        self.reason: str | None = None
        self.rounds = 0
        self._last = float("-inf")

    def load(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Load the trained models; False (and ``reason``) when there are none."""
        try:
            from shoplens.models.persistence import load_models
        except ImportError:  # pragma: no cover - the models package is part of shoplens
            self.reason = "no models package"
            return False
        try:
            self.models = load_models(con)
        except ModelError as exc:
            self.models, self.reason = None, str(exc)
            return False
        self.reason = None
        return True

    def due(self) -> bool:
        return self.models is not None and time.monotonic() - self._last >= self.every

    def rescore(self, con: duckdb.DuckDBPyConnection) -> int:
        """Score every customer and update the live table in one statement (after the
        batch's commit, on the writer's connection); returns the live rows updated."""
        from shoplens.models.scores import ScoreSettings, score_customers

        assert self.models is not None
        self._last = time.monotonic()
        try:
            table = score_customers(
                con,
                self.models,
                timezone=self.timezone,
                settings=ScoreSettings(currency=self.currency),
            )
        except ModelError as exc:
            log.warning("live scoring skipped: %s", exc)
            return 0
        con.register("__live_scores", table.select(["customer_id", "churn_probability",
                                                    "predicted_clv"]))  # fmt: skip
        try:
            rows = con.execute(
                f"UPDATE {CUSTOMER_SCORES_LIVE} AS l"
                " SET churn_probability = s.churn_probability, predicted_clv = s.predicted_clv"
                " FROM __live_scores AS s WHERE s.customer_id = l.customer_id"
                " RETURNING l.customer_id"
            ).fetchall()
        finally:
            con.unregister("__live_scores")
        self.rounds += 1
        return len(rows)
