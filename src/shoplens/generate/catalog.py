"""The product catalog: categories with their own price distribution and popularity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class Category:
    name: str
    median_price: float
    price_sigma: float  # lognormal sigma of prices within the category
    popularity: float  # share of demand in the average customer's basket
    extra_quantity: float  # mean of (quantity - 1) on a line
    nouns: tuple[str, ...]


CATEGORIES: tuple[Category, ...] = (
    Category("electronics", 120.0, 0.8, 0.10, 0.05,
             ("Headphones", "Smartwatch", "Speaker", "Tablet", "Camera", "Charger", "Monitor")),
    Category("fashion", 40.0, 0.5, 0.14, 0.15,
             ("T-Shirt", "Jacket", "Dress", "Jeans", "Sweater", "Scarf", "Shirt")),
    Category("shoes", 70.0, 0.4, 0.06, 0.02,
             ("Sneakers", "Boots", "Sandals", "Loafers", "Running Shoes")),
    Category("beauty", 18.0, 0.55, 0.10, 0.5,
             ("Serum", "Lipstick", "Shampoo", "Moisturizer", "Perfume", "Mascara")),
    Category("home_kitchen", 35.0, 0.7, 0.10, 0.2,
             ("Pan", "Knife Set", "Blender", "Lamp", "Towel Set", "Mug", "Cushion")),
    Category("books", 14.0, 0.35, 0.09, 0.3,
             ("Novel", "Cookbook", "Biography", "Travel Guide", "Thriller", "Atlas")),
    Category("toys_games", 25.0, 0.6, 0.07, 0.2,
             ("Puzzle", "Board Game", "Building Set", "Doll", "Plush Toy", "Video Game")),
    Category("sports_outdoors", 45.0, 0.7, 0.07, 0.1,
             ("Yoga Mat", "Tent", "Backpack", "Dumbbells", "Bike Light", "Water Bottle")),
    Category("groceries", 6.0, 0.5, 0.08, 1.2,
             ("Coffee", "Tea", "Olive Oil", "Chocolate", "Pasta", "Granola")),
    Category("health", 15.0, 0.5, 0.05, 0.4,
             ("Vitamins", "First Aid Kit", "Thermometer", "Protein Powder", "Toothbrush")),
    Category("garden_diy", 30.0, 0.8, 0.05, 0.2,
             ("Drill", "Garden Hose", "Planter", "Seeds", "Toolbox", "Wall Paint")),
    Category("jewelry_watches", 85.0, 0.8, 0.03, 0.02,
             ("Necklace", "Ring", "Watch", "Bracelet", "Earrings")),
    Category("pet_supplies", 20.0, 0.5, 0.04, 0.4,
             ("Dog Food", "Cat Litter", "Leash", "Pet Bed", "Scratching Post")),
)  # fmt: skip
CATEGORY_NAMES: tuple[str, ...] = tuple(c.name for c in CATEGORIES)
N_CATEGORIES = len(CATEGORIES)

ADJECTIVES = tuple(
    [
        "Classic",
        "Premium",
        "Eco",
        "Smart",
        "Compact",
        "Deluxe",
        "Essential",
        "Pro",
        "Urban",
        "Vintage",
        "Soft",
        "Ultra",
        "Nordic",
        "Daily",
        "Active",
        "Pure",
    ]
)
BRANDS = tuple(
    [
        "Aurel",
        "Brisa",
        "Calder",
        "Dunmore",
        "Elvio",
        "Fenwick",
        "Galla",
        "Hollis",
        "Isola",
        "Jarvik",
        "Kestrel",
        "Lumen",
        "Marlo",
        "Norda",
        "Orvik",
        "Pellan",
        "Quenby",
        "Rovena",
        "Sorrel",
        "Tamsin",
        "Ulvik",
        "Vanta",
        "Wexford",
        "Yarrow",
    ]
)


GUIDE = 8


@dataclass(frozen=True)
class Catalog:
    table: pa.Table
    """products: product_id (int64, 1..n, grouped by category), name, category, unit_price."""
    category: npt.NDArray[np.int64]
    """Category index per product (row)."""
    price: npt.NDArray[np.float64]
    popularity: npt.NDArray[np.float64]
    """Probability of each product within its category."""
    keys: npt.NDArray[np.float64]
    """Flat increasing keys ``category + cdf within category`` for weighted draws."""
    offset: npt.NDArray[np.int64]
    """Products of category k are rows ``offset[k]:offset[k+1]``."""
    guide: npt.NDArray[np.int32]
    """Guide table: ``GUIDE`` cells per product; cell j of category k holds the row drawn
    for the smallest ``u`` of the cell, so most draws are one lookup (see :meth:`draw`)."""

    def draw(self, cat: npt.NDArray[np.int64], u: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """A product row per line of category ``cat``, by popularity (``u`` uniform).

        Exact inverse-CDF sampling: a guide-table lookup, and a binary search only for
        the few draws whose cell straddles a product boundary.
        """
        cells = GUIDE * (self.offset[cat + 1] - self.offset[cat])
        j = GUIDE * self.offset[cat] + np.minimum((u * cells).astype(np.int64), cells - 1)
        out: npt.NDArray[np.int64] = self.guide[j].astype(np.int64)
        straddle = self.guide[j + 1] != out
        if straddle.any():
            c, v = cat[straddle], u[straddle]
            idx = np.searchsorted(self.keys, c + v, side="right")
            out[straddle] = np.minimum(idx, self.offset[c + 1] - 1)
        return out


def build_catalog(n_products: int, rng: np.random.Generator) -> Catalog:
    """``n_products`` (>= number of categories) products, split by category popularity."""
    shares = np.array([c.popularity for c in CATEGORIES])
    counts = np.maximum(1, np.floor(shares / shares.sum() * n_products)).astype(np.int64)
    counts[int(np.argmax(shares))] += n_products - counts.sum()
    offset = np.zeros(N_CATEGORIES + 1, dtype=np.int64)
    offset[1:] = np.cumsum(counts)
    category = np.repeat(np.arange(N_CATEGORIES, dtype=np.int64), counts)
    median = np.array([c.median_price for c in CATEGORIES])[category]
    sigma = np.array([c.price_sigma for c in CATEGORIES])[category]
    price = np.round(np.maximum(median * np.exp(sigma * rng.standard_normal(n_products)), 0.99))
    price = np.round(price - 0.01, 2)  # shop prices end in .99

    # popularity within category: Zipf-like by a random rank, with noise
    popularity = np.empty(n_products)
    keys = np.empty(n_products)
    for k in range(N_CATEGORIES):
        lo, hi = int(offset[k]), int(offset[k + 1])
        rank = rng.permutation(hi - lo) + 1
        w = rank**-0.9 * rng.lognormal(0.0, 0.3, hi - lo)
        popularity[lo:hi] = w / w.sum()
        cdf = np.cumsum(popularity[lo:hi])
        cdf[-1] = 1.0
        keys[lo:hi] = k + cdf

    nouns_flat = [n for c in CATEGORIES for n in c.nouns]
    noun_off = np.cumsum([0] + [len(c.nouns) for c in CATEGORIES])
    noun_n = np.diff(noun_off)
    noun_idx = noun_off[category] + rng.integers(0, 1 << 30, n_products) % noun_n[category]
    names = pc.binary_join_element_wise(
        pa.array(BRANDS).take(pa.array(rng.integers(0, len(BRANDS), n_products))),
        pa.array(ADJECTIVES).take(pa.array(rng.integers(0, len(ADJECTIVES), n_products))),
        pa.array(nouns_flat).take(pa.array(noun_idx)),
        " ",
    )
    table = pa.table(
        {
            "product_id": pa.array(np.arange(1, n_products + 1, dtype=np.int64)),
            "name": names,
            "category": pa.DictionaryArray.from_arrays(
                pa.array(category.astype(np.int32)), pa.array(CATEGORY_NAMES)
            ),
            "unit_price": pa.array(price),
        }
    )
    return Catalog(table, category, price, popularity, keys, offset, _guide(keys, counts, offset))


def _guide(
    keys: npt.NDArray[np.float64], counts: npt.NDArray[np.int64], offset: npt.NDArray[np.int64]
) -> npt.NDArray[np.int32]:
    """The guide table: the row drawn at the left edge of each cell (plus one sentinel)."""
    cells = GUIDE * counts
    cell_cat = np.repeat(np.arange(len(counts), dtype=np.int64), cells)
    cell_u = (np.arange(int(cells.sum())) - np.repeat(GUIDE * offset[:-1], cells)) / cells[cell_cat]
    guide = np.searchsorted(keys, cell_cat + cell_u, side="right")
    guide = np.minimum(guide, offset[cell_cat + 1] - 1)
    out: npt.NDArray[np.int32] = np.append(guide, -1).astype(np.int32)
    return out


def catalog_from_products(products: pa.Table, weight: npt.NDArray[np.float64]) -> Catalog:
    """A :class:`Catalog` of existing products (a store's), for simulating more orders.

    ``products`` has ``product_id`` (int64), ``name``, ``category`` (one of
    :data:`CATEGORY_NAMES`, every category present) and ``unit_price``; ``weight`` is
    each product's demand weight (e.g. units sold so far, plus one). The returned
    table is ordered by category; its rows are what :meth:`Catalog.draw` returns.
    """
    cat_index = {name: i for i, name in enumerate(CATEGORY_NAMES)}
    names = products.column("category").to_pylist()
    unknown = sorted({str(n) for n in names if n not in cat_index})
    if unknown:
        raise ValueError(f"categories not in the simulator's catalog: {', '.join(unknown[:5])}")
    category = np.array([cat_index[n] for n in names], dtype=np.int64)
    counts = np.bincount(category, minlength=N_CATEGORIES).astype(np.int64)
    if (counts == 0).any():
        missing = [CATEGORY_NAMES[k] for k in np.flatnonzero(counts == 0)]
        raise ValueError(f"no product in categories {', '.join(missing)}")
    pid = products.column("product_id").to_numpy()
    order = np.lexsort((pid, category))
    category = category[order]
    w = np.maximum(np.asarray(weight, dtype=np.float64)[order], 1e-12)
    offset = np.zeros(N_CATEGORIES + 1, dtype=np.int64)
    offset[1:] = np.cumsum(counts)
    popularity = np.empty(len(w))
    keys = np.empty(len(w))
    for k in range(N_CATEGORIES):
        lo, hi = int(offset[k]), int(offset[k + 1])
        popularity[lo:hi] = w[lo:hi] / w[lo:hi].sum()
        cdf = np.cumsum(popularity[lo:hi])
        cdf[-1] = 1.0
        keys[lo:hi] = k + cdf
    table = products.take(pa.array(order))
    price = table.column("unit_price").cast(pa.float64()).to_numpy()
    return Catalog(table, category, price, popularity, keys, offset, _guide(keys, counts, offset))
