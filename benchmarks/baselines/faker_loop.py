"""Baseline data generator, written the way a typical tutorial does it.

This mirrors the seed projects (see ``/work/shared/seeds``): a ``Faker`` instance is
called once per row inside a Python loop that builds one dict per customer and one dict
per order line, the lists of dicts become ``pd.DataFrame(rows)``, and the frames are
written out with ``DataFrame.to_csv`` (the tutorials' choice: ``ecommerce_data.csv``).

Only two things differ from a copy-pasted notebook, and neither changes the speed: the
run is seeded (``Faker.seed`` + ``random.seed``) and the date range is fixed rather than
relative to "now", so two runs give identical files.
"""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import pandas as pd
from faker import Faker

CATEGORIES = [
    "Electronics",
    "Clothing",
    "Home & Kitchen",
    "Books",
    "Beauty",
    "Sports",
    "Toys",
    "Grocery",
]
GENDERS = ["Male", "Female", "Other"]
START = datetime(2023, 1, 1)
END = datetime(2024, 12, 31, 23, 59, 59)

CUSTOMER_COLUMNS = [
    "customer_id",
    "name",
    "email",
    "city",
    "country",
    "age",
    "gender",
    "signup_date",
]
TRANSACTION_COLUMNS = [
    "transaction_id",
    "customer_id",
    "product_category",
    "price",
    "quantity",
    "timestamp",
    "promo",
]


def generate(
    n_customers: int, lines_per_customer: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(customers, transactions)``; about ``n_customers * lines_per_customer`` lines."""
    fake = Faker()
    Faker.seed(seed)
    random.seed(seed)

    customers = []
    for i in range(n_customers):
        customers.append(
            {
                "customer_id": i + 1,
                "name": fake.name(),
                "email": fake.email(),
                "city": fake.city(),
                "country": fake.country(),
                "age": random.randint(18, 70),
                "gender": random.choice(GENDERS),
                "signup_date": fake.date_between(start_date=START, end_date=END),
            }
        )

    transactions = []
    n_lines = round(n_customers * lines_per_customer)
    for _ in range(n_lines):
        transactions.append(
            {
                "transaction_id": fake.uuid4(),
                "customer_id": random.randint(1, n_customers),
                "product_category": random.choice(CATEGORIES),
                "price": round(random.uniform(5, 500), 2),
                "quantity": random.randint(1, 5),
                "timestamp": fake.date_time_between(start_date=START, end_date=END),
                "promo": random.choice([True, False]),
            }
        )

    return pd.DataFrame(customers), pd.DataFrame(transactions)


def write(customers: pd.DataFrame, transactions: pd.DataFrame, out_dir: str | Path) -> None:
    """Write both frames as CSV, as the tutorials do."""
    out = Path(out_dir)
    customers.to_csv(out / "customers.csv", index=False)
    transactions.to_csv(out / "ecommerce_data.csv", index=False)
