"""``stream status``: topics, offsets, the group's lag and the last window in the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shoplens.config import Settings
from shoplens.store.db import existing_tables, open_store
from shoplens.stream import admin
from shoplens.stream.windows import REALTIME_KPIS

LAG_NOTE = (
    "lag is approximate with the bundled test broker (Tansu 0.6 reports a wrong high"
    " watermark); exact with Apache Kafka"
)


def stream_status(settings: Settings, store: str | Path | None = None) -> dict[str, Any]:
    """A JSON-ready document: per topic partitions, offsets and lag; the last window."""
    k = settings.kafka
    topics = [k.orders_topic, k.events_topic, k.dead_letter_topic]
    parts = admin.topic_offsets(k.bootstrap, topics, k.consumer_group)
    doc: dict[str, Any] = {"bootstrap": k.bootstrap, "consumer_group": k.consumer_group}
    rows = []
    for name in topics:
        mine = [p for p in parts if p.topic == name]
        lags = [p.lag for p in mine if p.lag is not None]
        rows.append(
            {
                "topic": name,
                "exists": bool(mine),
                "partitions": len(mine),
                "messages": sum(max(p.high - p.low, 0) for p in mine),
                "end_offsets": sum(p.high for p in mine),
                "committed": sum(p.committed or 0 for p in mine) if mine else None,
                "lag": sum(lags) if lags and name != k.dead_letter_topic else None,
            }
        )
    doc["topics"] = rows
    doc["lag_note"] = LAG_NOTE
    if store is not None:
        doc["last_window"] = last_window(store, settings.timezone)
    return doc


def last_window(store: str | Path, timezone: str = "UTC") -> dict[str, Any] | None:
    """The latest 1-minute and 1-hour windows (dimension 'all'), or None if none yet."""
    con = open_store(store, read_only=True, timezone=timezone)
    try:
        if REALTIME_KPIS not in existing_tables(con):
            return None
        out: dict[str, Any] = {}
        for window in ("1m", "1h"):
            rel = con.sql(
                f"SELECT window_start, window_end, revenue, orders, average_basket,"
                f" active_customers, promo_share, updated_at FROM {REALTIME_KPIS}"
                f" WHERE \"window\" = '{window}' AND dimension = 'all'"
                " ORDER BY window_start DESC LIMIT 1"
            )
            got = rel.fetchall()
            if got:
                row = dict(zip(rel.columns, got[0], strict=True))
                out[window] = {
                    k: (v.isoformat() if hasattr(v, "isoformat") else
                        float(v) if k == "revenue" else v)
                    for k, v in row.items()
                }  # fmt: skip
        return out or None
    finally:
        con.close()
