"""A seeded sampler of BTYD summaries from known BG/NBD and Gamma-Gamma parameters.

Used by the model tests (parameter recovery, Monte Carlo checks) and by
``benchmarks/bench_clv.py``. Every customer is born at time 0 with a first purchase
and observed until ``T`` (calibration), then for ``holdout`` more time units:

- purchase rate ``lambda ~ Gamma(r, rate alpha)``, dropout probability ``p ~ Beta(a, b)``;
- while alive, repeat purchases form a Poisson process of rate ``lambda``; after each
  repeat purchase the customer drops out with probability ``p``, so only the first
  ``K ~ Geometric(p)`` of the process's events happen (BG/NBD);
- spend: ``nu ~ Gamma(q, rate gamma)``, each transaction ``z ~ Gamma(p_spend, rate nu)``,
  so the mean of x transactions is ``Gamma(p_spend * x, rate nu) / x`` (Gamma-Gamma).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class BTYDSample:
    frequency: F64  # repeat purchases in (0, T]
    recency: F64  # time of the last repeat purchase in (0, T] (0 without one)
    T: F64
    holdout: I64  # repeat purchases in (T, T + holdout]
    alive: B  # alive at T (the truth)
    monetary: F64  # mean value of the repeat purchases in (0, T] (0 without one)
    rate: F64  # the true lambda


def sample_btyd(
    n: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: float | F64,
    holdout: float = 0.0,
    p_spend: float = 6.0,
    q: float = 4.0,
    gamma: float = 15.0,
    seed: int = 0,
) -> BTYDSample:
    rng = np.random.default_rng(seed)
    t_end = np.broadcast_to(np.asarray(T, dtype=np.float64), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p_drop = rng.beta(a, b, n)
    k_max = rng.geometric(p_drop)  # purchases that happen before the dropout
    span = t_end + holdout
    events = rng.poisson(lam * span)
    cust = np.repeat(np.arange(n, dtype=np.int64), events)
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(events, out=starts[1:])
    # sorted uniform times per customer: sort customer + u, then subtract the customer
    u = np.sort(cust + rng.random(len(cust))) - cust
    times = u * span[cust]
    rank = np.arange(len(cust), dtype=np.int64) - starts[cust]
    happens = rank < k_max[cust]
    calib = happens & (times <= t_end[cust])
    hold = happens & (times > t_end[cust])
    frequency = np.bincount(cust[calib], minlength=n).astype(np.float64)
    recency = np.zeros(n)
    np.maximum.at(recency, cust[calib], times[calib])
    holdout_count = np.bincount(cust[hold], minlength=n).astype(np.int64)
    # alive at T: fewer than k_max process events up to T
    before = np.bincount(cust[times <= t_end[cust]], minlength=n)
    alive = before < k_max
    nu = rng.gamma(q, 1.0 / gamma, n)
    rep = frequency > 0
    monetary = np.zeros(n)
    monetary[rep] = rng.gamma(p_spend * frequency[rep], 1.0 / nu[rep]) / frequency[rep]
    return BTYDSample(
        frequency=frequency,
        recency=recency,
        T=t_end,
        holdout=holdout_count,
        alive=alive,
        monetary=monetary,
        rate=lam,
    )
