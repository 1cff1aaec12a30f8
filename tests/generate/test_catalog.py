"""The catalog's sampler and price distributions."""

from __future__ import annotations

import numpy as np

from shoplens.generate.catalog import CATEGORY_NAMES, N_CATEGORIES, build_catalog


def test_guide_table_draw_is_exact_inverse_cdf() -> None:
    for n_products in (13, 100, 1000):
        cat = build_catalog(n_products, np.random.default_rng(n_products))
        rng = np.random.default_rng(1)
        k = rng.integers(0, N_CATEGORIES, 200_000)
        u = rng.random(200_000)
        u[:5] = [0.0, 1.0 - 1e-16, 0.5, 1e-12, 0.999999]
        got = cat.draw(k, u)
        want = np.minimum(np.searchsorted(cat.keys, k + u, side="right"), cat.offset[k + 1] - 1)
        assert (got == want).all()
        assert (cat.category[got] == k).all()


def test_draw_frequencies_follow_popularity() -> None:
    cat = build_catalog(500, np.random.default_rng(3))
    rng = np.random.default_rng(4)
    k = np.full(400_000, CATEGORY_NAMES.index("books"))
    counts = np.bincount(cat.draw(k, rng.random(len(k))), minlength=500)
    lo, hi = cat.offset[k[0]], cat.offset[k[0] + 1]
    freq = counts[lo:hi] / len(k)
    assert np.abs(freq - cat.popularity[lo:hi]).max() < 0.005
    assert counts[:lo].sum() == 0
    assert counts[hi:].sum() == 0


def test_prices_are_shop_prices() -> None:
    cat = build_catalog(1000, np.random.default_rng(5))
    cents = np.rint(cat.price * 100).astype(np.int64)
    assert (cents % 100 == 99).all()
    assert cat.price.min() > 0
    assert len(cat.table) == 1000
    assert cat.table.column("product_id").to_pylist() == list(range(1, 1001))
