"""Figure builders of segments and cohorts."""

from __future__ import annotations

import pyarrow as pa

from shoplens.figures import retention_heatmap, rfm_grid, segment_shares


def test_rfm_grid_is_5x5_with_counts_and_names() -> None:
    cells = pa.table(
        {
            "r_score": [5, 1, 3],
            "fm_score": [5, 1, 3],
            "customers": [30, 60, 10],
            "segment": ["Champions", "Lost", "Need Attention"],
        }
    )
    fig = rfm_grid(cells)
    (heat,) = fig.data
    assert heat.type == "heatmap"
    z = [list(r) for r in heat.z]
    assert len(z) == 5
    assert all(len(r) == 5 for r in z)
    assert z[4][4] == 30  # r=5, fm=5
    assert z[0][0] == 60
    assert sum(map(sum, z)) == 100
    assert heat.text[4][4] == "Champions<br>30%"
    assert fig.layout.yaxis.title.text == "Recency score (R)"
    assert fig.layout.xaxis.title.text == "Frequency + monetary score (FM)"


def test_segment_shares_two_bar_traces() -> None:
    summary = pa.table(
        {"segment": ["VIP", "Occasional"], "share": [0.1, 0.9], "revenue_share": [0.6, 0.4]}
    )
    fig = segment_shares(summary)
    assert [t.type for t in fig.data] == ["bar", "bar"]
    assert list(fig.data[0].y) == ["Occasional", "VIP"]
    assert list(fig.data[1].x) == [0.4, 0.6]
    assert fig.layout.barmode == "group"


def test_retention_heatmap_triangle() -> None:
    cohorts = pa.table(
        {
            "cohort": ["2025-01", "2025-01", "2025-01", "2025-02", "2025-02", "2025-03"],
            "months_since": [0, 1, 2, 0, 1, 0],
            "cohort_size": [10, 10, 10, 4, 4, 5],
            "value": [1.0, 0.3, 0.2, 1.0, 0.5, 1.0],
        }
    )
    fig = retention_heatmap(cohorts)
    (heat,) = fig.data
    assert heat.type == "heatmap"
    assert list(heat.x) == [0, 1, 2]
    assert list(heat.y) == ["2025-01 (10)", "2025-02 (4)", "2025-03 (5)"]
    assert [list(r) for r in heat.z] == [[1.0, 0.3, 0.2], [1.0, 0.5, None], [1.0, None, None]]
    assert heat.text[0][1] == "30%"
    assert heat.zmax == 0.5  # colours scaled on months >= 1 (month 0 is always 100%)
    assert fig.layout.xaxis.title.text == "Months since first order"


def test_retention_heatmap_cuts_long_histories() -> None:
    cohorts = pa.table(
        {
            "cohort": ["2024-01"] * 30,
            "months_since": list(range(30)),
            "cohort_size": [3] * 30,
            "value": [1.0] + [0.1] * 29,
        }
    )
    fig = retention_heatmap(cohorts, max_months=12)
    assert list(fig.data[0].x) == list(range(13))
