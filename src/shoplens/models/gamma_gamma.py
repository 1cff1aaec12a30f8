"""Gamma-Gamma: how much a customer spends per purchase.

The spend model of Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves
for customer base analysis", J. Marketing Research 42(4), in the parametrisation of
Fader & Hardie's note "The Gamma-Gamma model of monetary value" (2013). The values of
one customer's transactions are ``z ~ Gamma(p, rate nu)``; across customers
``nu ~ Gamma(q, rate gamma)``. A customer is summarised by ``x`` (the number of
transactions averaged: repeat purchase days with a positive value) and ``m`` (their
mean value); the first purchase is left out, by the BTYD convention. The model
assumes spend independent of purchase frequency.

Why written here rather than imported: the same reasons as
:mod:`shoplens.models.bgnbd` (``lifetimes`` archived since 2020 and warning under
pandas 3, ``btyd`` failing with numpy 2, ``pymc-marketing`` heavy, slow to compile and
its current releases needing a newer Python). The likelihood is closed form.

Fitting: maximum likelihood on log-parameters with the analytic gradient
(:mod:`shoplens.models.mle`). The log-likelihood of one customer is

    lgamma(p x + q) - lgamma(p x) - lgamma(q) + q log(gamma) + (p x - 1) log(m)
      + p x log(x) - (p x + q) log(x m + gamma)

(the density of the mean ``m``, as in lifetimes); the ``lgamma`` and ``x log x`` terms
are evaluated once per distinct ``x``, the ``log m`` sums once per fit, so each
evaluation costs one logarithm per customer.

Prediction: E[M | x, m] = p (gamma + x m) / (p x + q - 1), a weighted mean of the
population mean p gamma / (q - 1) and the customer's own mean m. Customers without a
positive repeat purchase get the population mean (which needs q > 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import digamma, gammaln
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from shoplens.errors import ModelError
from shoplens.models.mle import F64, fit_positive

ArrayLike = npt.ArrayLike

PARAM_NAMES = ("p", "q", "gamma")
MIN_CUSTOMERS = 3


def _dot(u: F64, v: F64) -> float:
    """u . v without BLAS: a threaded BLAS dot spins and stalls on a busy machine."""
    return float(np.einsum("i,i->", u, v))


def check_spend(frequency: ArrayLike, monetary: ArrayLike) -> tuple[F64, F64]:
    """Validate (frequency, monetary); return float64 arrays.

    Raises :class:`ModelError` on different lengths, missing or non-finite values, or a
    frequency that is negative or not a whole number.
    """
    x, m = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (frequency, monetary))
    if len(x) != len(m):
        raise ModelError(f"frequency and monetary have different lengths ({len(x)}, {len(m)})")
    for name, v in (("frequency", x), ("monetary", m)):
        if not np.all(np.isfinite(v)):
            raise ModelError(f"{name} has missing or non-finite values")
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ModelError("frequency must be whole numbers >= 0 (repeat purchases)")
    return x, m


@dataclass(frozen=True)
class _Spend:
    """Customers with x > 0 and m > 0, with the terms that do not depend on the parameters."""

    xs: F64  # distinct x
    counts: F64  # customers per distinct x
    x: F64
    xm: F64  # x * m
    sum_log_m: float
    sum_x_log_m: float

    @classmethod
    def of(cls, x: F64, m: F64) -> _Spend:
        xs, counts = np.unique(x, return_counts=True)
        log_m = np.log(m)
        return cls(
            xs=xs,
            counts=counts.astype(np.float64),
            x=x,
            xm=x * m,
            sum_log_m=float(log_m.sum()),
            sum_x_log_m=_dot(x, log_m),
        )

    def nll_grad(self, theta: F64) -> tuple[float, F64]:
        """Total negative log-likelihood and its gradient in (p, q, gamma)."""
        p, q, gamma = (float(v) for v in theta)
        xs, nx = self.xs, self.counts
        n = float(nx.sum())
        px = p * xs
        ll = _dot(nx, gammaln(px + q) - gammaln(px) + px * np.log(xs))
        ll += n * (q * np.log(gamma) - gammaln(q))
        ll += p * self.sum_x_log_m - self.sum_log_m
        log_s = np.log(self.xm + gamma)
        sum_x_log_s = _dot(self.x, log_s)
        sum_log_s = float(log_s.sum())
        ll -= p * sum_x_log_s + q * sum_log_s
        d_p = _dot(nx, xs * (digamma(px + q) - digamma(px) + np.log(xs)))
        d_p += self.sum_x_log_m - sum_x_log_s
        d_q = _dot(nx, digamma(px + q)) - n * digamma(q) + n * np.log(gamma) - sum_log_s
        inv_s = 1.0 / (self.xm + gamma)
        d_gamma = n * q / gamma - p * _dot(self.x, inv_s) - q * float(inv_s.sum())
        return -ll, -np.array([d_p, d_q, d_gamma])


class GammaGamma(BaseEstimator):  # type: ignore[misc]
    """Gamma-Gamma spend model, fitted by maximum likelihood.

    Parameters
    ----------
    penalizer_coef : float, default=0.0
        L2 penalty on the natural parameters, added to the mean negative
        log-likelihood per customer (as in lifetimes' ``GammaGammaFitter``).
    max_iter : int, default=500
        Iterations of L-BFGS-B.
    tol : float, default=1e-8
        Gradient tolerance (of the mean negative log-likelihood in log-parameters).

    Attributes
    ----------
    p_, q_, gamma_ : float
        Estimates: transaction values ``Gamma(p, nu)``, ``nu ~ Gamma(q, gamma)``
        (``gamma`` in money units).
    stderr_ : dict of str to float
        Standard errors (delta method from the inverse Hessian in log-parameters).
    log_likelihood_ : float
        Total log-likelihood at the estimates.
    n_customers_ : int
        Customers fitted on (frequency > 0 and monetary > 0).
    n_excluded_ : int
        Customers passed to ``fit`` but left out (no repeat purchase, or monetary <= 0).
    n_iter_ : int
        L-BFGS-B iterations.
    """

    def __init__(
        self, *, penalizer_coef: float = 0.0, max_iter: int = 500, tol: float = 1e-8
    ) -> None:
        self.penalizer_coef = penalizer_coef
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, frequency: ArrayLike, monetary: ArrayLike) -> GammaGamma:
        """Fit on the customers with frequency > 0 and monetary > 0 (others are skipped).

        ``frequency`` is the number of transactions averaged in ``monetary`` (repeat
        purchase days with a positive value, ``spend_frequency`` of
        :func:`shoplens.models.clv.clv_summary`). Raises :class:`ModelError` on invalid
        input or fewer than 3 such customers.
        """
        x, m = check_spend(frequency, monetary)
        use = (x > 0) & (m > 0)
        n_use = int(use.sum())
        if n_use < MIN_CUSTOMERS:
            raise ModelError(
                f"Gamma-Gamma needs at least {MIN_CUSTOMERS} customers with a repeat purchase"
                f" of positive value, got {n_use}"
            )
        data = _Spend.of(x[use], m[use])
        # start: p = 1, q = 2, so that the population mean p gamma / (q - 1) = mean(m)
        theta0 = np.array([1.0, 2.0, float(np.mean(m[use]))])
        res = fit_positive(
            data.nll_grad,
            theta0,
            n=n_use,
            penalizer_coef=self.penalizer_coef,
            max_iter=self.max_iter,
            tol=self.tol,
            model="Gamma-Gamma",
        )
        self.p_, self.q_, self.gamma_ = (float(v) for v in res.params)
        self.stderr_ = {k: float(v) for k, v in zip(PARAM_NAMES, res.stderr, strict=True)}
        self.log_likelihood_ = res.log_likelihood
        self.n_customers_ = n_use
        self.n_excluded_ = len(x) - n_use
        self.n_iter_ = res.n_iter
        return self

    @property
    def params_(self) -> dict[str, float]:
        """The estimates as a dict (p, q, gamma)."""
        check_is_fitted(self)
        return {"p": self.p_, "q": self.q_, "gamma": self.gamma_}

    def population_mean_spend(self) -> float:
        """E[M] of a customer with no spend history: p gamma / (q - 1) (needs q > 1)."""
        check_is_fitted(self)
        if self.q_ <= 1.0:
            raise ModelError(
                f"Gamma-Gamma: q = {self.q_:.3g} <= 1, the mean spend per purchase is infinite"
            )
        return self.p_ * self.gamma_ / (self.q_ - 1.0)

    def expected_spend(self, frequency: ArrayLike, monetary: ArrayLike) -> F64:
        """E[M | x, m]: expected value of a future purchase, per customer.

        Customers with frequency 0 or monetary <= 0 get the population mean.
        """
        check_is_fitted(self)
        x, m = check_spend(frequency, monetary)
        known = (x > 0) & (m > 0)
        out = np.empty(len(x))
        if not np.all(known):
            out[~known] = self.population_mean_spend()
        p, q, gamma = self.p_, self.q_, self.gamma_
        xk = x[known]
        out[known] = p * (gamma + xk * m[known]) / (p * xk + q - 1.0)
        return out
