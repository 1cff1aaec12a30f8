"""Parameters: validation, defaults and determinism."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from typing import Any

import pytest

from shoplens.errors import InvalidParameterError
from shoplens.generate import SimulationParams, parse_country_weights, simulate, simulator
from shoplens.generate.params import MAX_CUSTOMERS


def test_defaults() -> None:
    p = SimulationParams()
    assert (p.customers, p.days, p.seed, p.currency, p.timezone) == (20_000, 730, 7, "EUR", "UTC")
    # 730 days ending 2025-12-31 (2024 is a leap year, so the period starts on 2 January)
    assert p.end_date == date(2025, 12, 31)
    assert p.start_date == date(2024, 1, 2)
    weights = p.normalized_country_weights()
    assert sum(weights.values()) == pytest.approx(1.0)
    assert len(weights) >= 10


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"customers": 0}, "customers"),
        ({"customers": -5}, "customers"),
        ({"customers": MAX_CUSTOMERS + 1}, "customers"),
        ({"customers": 10.5}, "customers"),
        ({"days": 0}, "days"),
        ({"days": 7301}, "days"),
        ({"seed": -1}, "seed"),
        ({"products": 3}, "products"),
        ({"seasonality": -0.1}, "seasonality"),
        ({"seasonality": 10.5}, "seasonality"),
        ({"seasonality": float("nan")}, "seasonality"),
        ({"churn": 11}, "churn"),
        ({"promo_intensity": -1}, "promo_intensity"),
        ({"cancel_rate": 1.5}, "cancel_rate"),
        ({"return_rate": -0.01}, "return_rate"),
        ({"cancel_rate": 0.6, "return_rate": 0.6}, "cancel_rate"),
        ({"country_weights": {"DE": -1.0, "FR": 2.0}}, "country_weights"),
        ({"country_weights": {"DE": 0.0}}, "country_weights"),
        ({"country_weights": {"DEU": 1.0}}, "country_weights"),
        ({"country_weights": {}}, "country_weights"),
        ({"currency": "euro"}, "currency"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"event_days": 0}, "event_days"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"end_date": "2025-12-31"}, "end_date"),
        ({"end_date": datetime(2025, 12, 31)}, "end_date"),
        ({"end_date": datetime(2025, 12, 31, 12, 30)}, "end_date"),
    ],
)
def test_invalid_params_raise(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(InvalidParameterError, match=name) as info:
        SimulationParams(**kwargs)
    assert "\n" not in str(info.value)


def test_country_weights_none_means_default() -> None:
    assert SimulationParams(country_weights=None) == SimulationParams()


def test_unknown_but_well_formed_country_is_allowed() -> None:
    p = SimulationParams(country_weights={"xk": 2, "DE": 2})
    assert p.normalized_country_weights() == {"XK": 0.5, "DE": 0.5}


def test_same_seed_same_tables_different_seed_different() -> None:
    a = simulate(SimulationParams(customers=1500, seed=5))
    b = simulate(SimulationParams(customers=1500, seed=5))
    c = simulate(SimulationParams(customers=1500, seed=6))
    assert set(a) == set(b)
    for name in a:
        assert a[name].equals(b[name]), name
    for name in ("customers", "orders", "order_items", "truth_customers", "products"):
        assert not a[name].equals(c[name]), name


def test_results_do_not_depend_on_chunk_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simulator, "BLOCK", 500)
    one = simulate(SimulationParams(customers=1700, chunk_size=5000))
    many = simulate(SimulationParams(customers=1700, chunk_size=500))
    odd = simulate(SimulationParams(customers=1700, chunk_size=777))
    for name in one:
        assert one[name].equals(many[name]), name
        assert one[name].equals(odd[name]), name


def test_tiny_and_short_shops_work() -> None:
    for customers, days in ((1, 1), (3, 1), (50, 7)):
        shop = simulate(
            SimulationParams(customers=customers, days=days, end_date=date(2024, 3, 31))
        )
        assert shop["customers"].num_rows == customers
        assert shop["order_items"].num_rows >= shop["orders"].num_rows


def test_parse_country_weights() -> None:
    assert parse_country_weights("de=0.5, FR=0.3,XK=0.2") == {"DE": 0.5, "FR": 0.3, "XK": 0.2}
    with pytest.raises(InvalidParameterError, match="country_weights"):
        parse_country_weights("DE:0.5")
    with pytest.raises(InvalidParameterError, match="country_weights"):
        parse_country_weights("DE=lots")
    with pytest.raises(InvalidParameterError, match="country_weights"):
        SimulationParams(country_weights=parse_country_weights("DE=1,FRA=1"))


_DIGEST = """
import hashlib
from shoplens.generate import SimulationParams, simulate
shop = simulate(SimulationParams(customers=800, seed=3, events=False))
h = hashlib.sha256()
for name in sorted(shop):
    h.update(str(shop[name].to_pydict()).encode())
print(h.hexdigest())
"""


def test_same_seed_same_tables_across_processes() -> None:
    """Nothing depends on PYTHONHASHSEED (set order), e.g. inside Faker's data."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _DIGEST],
            env={**os.environ, "PYTHONHASHSEED": str(hs)},
            stdout=subprocess.PIPE,
            text=True,
        )
        for hs in (1, 2)
    ]
    digests = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert digests[0] == digests[1]
