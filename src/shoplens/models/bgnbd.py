"""BG/NBD: how often a customer buys, and whether they are still a customer.

The beta-geometric/negative-binomial model of Fader, Hardie & Lee (2005), "Counting
your customers the easy way", Marketing Science 24(2). While alive a customer buys as
a Poisson process of rate ``lambda ~ Gamma(r, alpha)`` (shape ``r``, rate ``alpha``);
after each repeat purchase they drop out for good with probability ``p ~ Beta(a, b)``.
A customer is summarised by ``frequency`` x (repeat purchases), ``recency`` t_x (time
of the last repeat purchase, from the first purchase; 0 when x = 0) and ``T`` (time
from the first purchase to the end of the observation). All three and every horizon
``t`` share one time unit; shoplens uses **days** (``clv_summary``), so ``alpha`` is in
days and ``1 / alpha`` scales a purchase rate per day.

Why written here rather than imported: ``lifetimes`` (the reference implementation)
has been archived since 2020, warns under pandas 3 and fits 1M customers in ~8 s;
``btyd`` (its fork) cannot be imported with numpy 2; ``pymc-marketing`` pulls in
pymc/pytensor/numba (~800 MB), compiles for 10-40 s per fit, its default priors move
``a`` and ``b`` on the CDNOW benchmark data, and its current releases need a newer
Python. The model is a closed-form likelihood; 150 lines of numpy/scipy reproduce
the paper's estimates exactly (``tests/models/test_bgnbd.py`` checks them, and checks
the predictions against lifetimes).

Fitting: maximum likelihood (:mod:`shoplens.models.mle`: L-BFGS-B on log-parameters,
analytic gradient, Newton polish, standard errors by the delta method). The
``gammaln``/``betaln``/``digamma`` terms depend on the customer only through x, so they
are evaluated once per distinct frequency; the rest runs on the distinct (x, t_x, T)
rows with their counts as weights (day-level summaries repeat a lot), where two
logarithms and a stable ``logaddexp`` (written as ``A3 + softplus(A4 - A3)``, which
also yields the branch weight for the gradient) remain. That is what makes 1M
customers fit in seconds.

Predictions (all vectorised, closed forms from the paper and its technical notes):

- ``p_alive``: P(alive at T | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1)
  ((alpha + T) / (alpha + t_x))^(r + x)); 1 for one-time buyers (x = 0: no repeat
  purchase, hence no chance yet to drop out).
- ``expected_purchases(t)``: E[X(T, T + t] | x, t_x, T] (FHL 2005, eq. 10), with the
  Gauss hypergeometric function (Euler's transformation when it overflows).
- ``p_no_purchase(t)``: P(X(T, T + t] = 0 | x, t_x, T). Derivation: a dead customer
  never buys; an alive one drops out only right after a purchase, so "no purchase in
  (T, T + t]" means no Poisson event there, probability exp(-lambda t); given alive at
  T the posterior of lambda is Gamma(r + x, alpha + T) (the likelihood is
  lambda^x exp(-lambda T) (1 - p)^x, which factorises), so averaging gives
  ((alpha + T) / (alpha + T + t))^(r + x). Hence
  P = 1 - P(alive) + P(alive) ((alpha + T) / (alpha + T + t))^(r + x),
  checked against Monte Carlo in the tests.
- ``expected_purchases_new(t)``: E[X(t)] for a customer just acquired (eq. 9).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, roots_jacobi
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from shoplens.errors import ModelError
from shoplens.models.mle import F64, fit_positive

I64 = npt.NDArray[np.int64]
ArrayLike = npt.ArrayLike

PARAM_NAMES = ("r", "alpha", "a", "b")
_QUADRATURE_NODES = 64
_NEAR_ONE = 1e-3  # |a - 1| below this: quadrature (the closed form divides by a - 1)


def check_summary(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> tuple[F64, F64, F64]:
    """Validate a BTYD summary; return float64 arrays (x, t_x, T).

    Raises :class:`ModelError` naming the first problem: lengths, non-finite values, a
    frequency that is negative or not a whole number, recency outside [0, T], or
    positive recency with zero frequency.
    """
    x, t_x, t_end = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (frequency, recency, T))
    if not len(x) == len(t_x) == len(t_end):
        raise ModelError(
            f"frequency, recency and T have different lengths ({len(x)}, {len(t_x)}, {len(t_end)})"
        )
    for name, v in (("frequency", x), ("recency", t_x), ("T", t_end)):
        if not np.all(np.isfinite(v)):
            raise ModelError(f"{name} has missing or non-finite values")
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ModelError("frequency must be whole numbers >= 0 (repeat purchases)")
    if np.any(t_x < 0) or np.any(t_x > t_end):
        raise ModelError("recency must lie between 0 and T")
    if np.any((x == 0) & (t_x != 0)):
        raise ModelError("recency must be 0 for customers without repeat purchases")
    return x, t_x, t_end


def unique_rows(*columns: F64) -> tuple[list[F64], F64]:
    """The distinct rows of equal-length columns and how often each occurs.

    One ``lexsort`` (a few hundred ms for 1M rows, once per fit); day-level summaries
    repeat a lot (T and recency are whole days), so the likelihood then runs on far
    fewer rows than customers.
    """
    n = len(columns[0])
    if n == 0:
        return [c[:0] for c in columns], np.zeros(0)
    order = np.lexsort(columns[::-1])
    ordered = [c[order] for c in columns]
    change = np.zeros(n, dtype=np.bool_)
    change[0] = True
    for c in ordered:
        change[1:] |= c[1:] != c[:-1]
    starts = np.flatnonzero(change)
    counts = np.diff(np.append(starts, n)).astype(np.float64)
    return [c[starts] for c in ordered], counts


def _dot(u: F64, v: F64) -> float:
    """u . v without BLAS: a threaded BLAS dot spins and stalls on a busy machine."""
    return float(np.einsum("i,i->", u, v))


def distinct_pairs(u: F64, v: F64) -> tuple[tuple[F64, F64], I64]:
    """The distinct (u, v) pairs and, per row, the index of its pair."""
    n = len(u)
    order = np.lexsort((v, u))
    su, sv = u[order], v[order]
    change = np.ones(n, dtype=np.bool_)
    change[1:] = (su[1:] != su[:-1]) | (sv[1:] != sv[:-1])
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.cumsum(change) - 1
    return (su[change], sv[change]), inverse


@dataclass(frozen=True)
class _Compressed:
    """A summary as weighted distinct rows; per-x terms once per distinct frequency."""

    xs: F64  # distinct frequencies
    x_counts: F64  # customers per distinct frequency
    # one-time buyers (x = 0): only T matters; distinct T and customers per value
    t0: F64
    w0: F64
    # repeat buyers: distinct (x, t_x, T) rows and customers per row
    x: F64
    t_x: F64
    t_end: F64
    w: F64
    idx: I64  # index into xs of each row

    @classmethod
    def of(cls, x: F64, t_x: F64, t_end: F64) -> _Compressed:
        xs, x_counts = np.unique(x, return_counts=True)
        rep = x > 0
        (t0,), w0 = unique_rows(t_end[~rep])
        (xr, txr, tr), w = unique_rows(x[rep], t_x[rep], t_end[rep])
        return cls(
            xs=xs,
            x_counts=x_counts.astype(np.float64),
            t0=t0,
            w0=w0,
            x=xr,
            t_x=txr,
            t_end=tr,
            w=w,
            idx=np.searchsorted(xs, xr).astype(np.int64),
        )

    def nll_grad(self, theta: F64) -> tuple[float, F64]:
        """Total negative log-likelihood and its gradient in (r, alpha, a, b)."""
        r, alpha, a, b = (float(v) for v in theta)
        xs, nx = self.xs, self.x_counts
        # per distinct x: A1 + A2 of FHL (2005), eq. (6)
        ll_x = gammaln(r + xs) - gammaln(r) + r * np.log(alpha) + betaln(a, b + xs) - betaln(a, b)
        ll = _dot(nx, ll_x)
        d_r = _dot(nx, (digamma(r + xs) - digamma(r) + np.log(alpha)))
        d_alpha = float(nx.sum()) * r / alpha
        d_a = _dot(nx, (digamma(a + b) - digamma(a + b + xs)))
        d_b = _dot(nx, (digamma(b + xs) - digamma(a + b + xs) - digamma(b) + digamma(a + b)))

        # one-time buyers: only the survival term, -r log(alpha + T)
        w0 = self.w0
        log_t0 = _dot(w0, np.log(alpha + self.t0))
        ll -= r * log_t0
        d_r -= log_t0
        d_alpha -= r * _dot(w0, (1.0 / (alpha + self.t0)))

        # repeat buyers: A3 + log(1 + exp(A4 - A3)), A4 - A3 = dead-vs-alive log odds
        w, rx = self.w, r + self.x
        pos = xs > 0
        log_ratio = np.zeros_like(xs)
        log_ratio[pos] = np.log(a) - np.log(b + xs[pos] - 1.0)
        log_t = np.log(alpha + self.t_end)
        log_tx = np.log(alpha + self.t_x)
        d = log_ratio[self.idx] + rx * (log_t - log_tx)
        e = np.exp(-np.abs(d))
        softplus = np.maximum(d, 0.0) + np.log1p(e)
        share = np.where(d > 0, 1.0, e) / (1.0 + e)  # P(dropped out after t_x | data)
        ll += _dot(w, (softplus - rx * log_t))
        ws = w * share
        wk = w - ws
        d_r -= _dot(wk, log_t) + _dot(ws, log_tx)
        d_alpha -= _dot(rx, (wk / (alpha + self.t_end) + ws / (alpha + self.t_x)))
        d_a += float(ws.sum()) / a
        per_x = np.bincount(self.idx, weights=ws, minlength=len(xs)).astype(np.float64)
        d_b -= _dot(per_x[pos], 1.0 / (b + xs[pos] - 1.0))
        return -ll, -np.array([d_r, d_alpha, d_a, d_b])


class BetaGeoNBD(BaseEstimator):  # type: ignore[misc]
    """BG/NBD purchase and dropout model, fitted by maximum likelihood.

    Parameters
    ----------
    penalizer_coef : float, default=0.0
        L2 penalty on the natural parameters, added to the mean negative
        log-likelihood per customer (as in lifetimes' ``BetaGeoFitter``).
    max_iter : int, default=500
        Iterations of L-BFGS-B.
    tol : float, default=1e-8
        Gradient tolerance (of the mean negative log-likelihood in log-parameters).

    Attributes
    ----------
    r_, alpha_, a_, b_ : float
        Estimates: ``lambda ~ Gamma(r, alpha)`` (alpha in the data's time unit, shoplens
        uses days), dropout ``p ~ Beta(a, b)``.
    stderr_ : dict of str to float
        Standard errors of the four estimates (delta method from the inverse Hessian
        in log-parameters, see :mod:`shoplens.models.mle`).
    log_likelihood_ : float
        Total log-likelihood at the estimates.
    n_customers_ : int
        Customers the model was fitted on.
    n_iter_ : int
        L-BFGS-B iterations.
    """

    def __init__(
        self, *, penalizer_coef: float = 0.0, max_iter: int = 500, tol: float = 1e-8
    ) -> None:
        self.penalizer_coef = penalizer_coef
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> BetaGeoNBD:
        """Fit on 1-d arrays of frequency, recency and T (same time unit).

        Raises :class:`ModelError` when the summary is invalid, has fewer than 2
        customers or no repeat buyer (the dropout process is then not identified).
        """
        x, t_x, t_end = check_summary(frequency, recency, T)
        if len(x) < 2:
            raise ModelError(f"BG/NBD needs at least 2 customers to fit, got {len(x)}")
        if not np.any(x > 0):
            raise ModelError("BG/NBD cannot be fitted: no customer has a repeat purchase")
        data = _Compressed.of(x, t_x, t_end)
        # start: r = 1 and alpha matching the mean purchase rate; a = b = 1
        rate = max(float(x.sum()) / max(float(t_end.sum()), 1e-12), 1e-6)
        theta0 = np.array([1.0, min(max(1.0 / rate, 1e-6), 1e6), 1.0, 1.0])
        res = fit_positive(
            data.nll_grad,
            theta0,
            n=len(x),
            penalizer_coef=self.penalizer_coef,
            max_iter=self.max_iter,
            tol=self.tol,
            model="BG/NBD",
        )
        self.r_, self.alpha_, self.a_, self.b_ = (float(v) for v in res.params)
        self.stderr_ = {k: float(v) for k, v in zip(PARAM_NAMES, res.stderr, strict=True)}
        self.log_likelihood_ = res.log_likelihood
        self.n_customers_ = len(x)
        self.n_iter_ = res.n_iter
        return self

    @property
    def params_(self) -> dict[str, float]:
        """The estimates as a dict (r, alpha, a, b)."""
        check_is_fitted(self)
        return {"r": self.r_, "alpha": self.alpha_, "a": self.a_, "b": self.b_}

    def _log_alive_odds_inv(self, x: F64, t_x: F64, t_end: F64) -> F64:
        """log of (P(dead) / P(alive)) for repeat buyers; -inf for one-time buyers."""
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        rep = x > 0
        out = np.full(x.shape, -np.inf)
        xr = x[rep]
        out[rep] = (
            np.log(a)
            - np.log(b + xr - 1.0)
            + (r + xr) * (np.log(alpha + t_end[rep]) - np.log(alpha + t_x[rep]))
        )
        return out

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> F64:
        """P(alive at T | x, t_x, T) per customer; 1 for one-time buyers."""
        check_is_fitted(self)
        x, t_x, t_end = check_summary(frequency, recency, T)
        return np.asarray(expit(-self._log_alive_odds_inv(x, t_x, t_end)), dtype=np.float64)

    def _purchases_if_alive(self, horizon: F64, x: F64, t_end: F64) -> F64:
        """E[X(T, T + t] | alive at T, x, T] (FHL 2005, eq. 10 without P(alive)).

        Where the closed form is not finite (its hypergeometric function has
        c = a + b + x - 1 <= 0 for x = 0 when a + b < 1) or loses digits (its factor
        1 / (a - 1) cancels for a near 1), by quadrature instead.
        """
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        if abs(a - 1.0) < _NEAR_ONE:
            shape = np.broadcast_shapes(np.shape(horizon), np.shape(x))
            return self._purchases_if_alive_quadrature(
                *(np.broadcast_to(v, shape).reshape(-1) for v in (horizon, x, t_end))
            ).reshape(shape)
        c = a + b + x - 1.0
        z = horizon / (alpha + t_end + horizon)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            log_h = _log_hyp2f1(r + x, b + x, c, z)
            survive = np.exp(
                log_h + (r + x) * (np.log(alpha + t_end) - np.log(alpha + t_end + horizon))
            )
            out = np.asarray(c / (a - 1.0) * (1.0 - survive), dtype=np.float64)
        bad = ~np.isfinite(out)
        if np.any(bad):
            out = np.array(out, dtype=np.float64)  # writable, full shape
            h = np.broadcast_to(horizon, out.shape)
            xb, tb = np.broadcast_to(x, out.shape), np.broadcast_to(t_end, out.shape)
            out[bad] = self._purchases_if_alive_quadrature(h[bad], xb[bad], tb[bad])
        return out

    def _purchases_if_alive_quadrature(self, horizon: F64, x: F64, t_end: F64) -> F64:
        """The same expectation as E_p[(1 - (1 + p t / (alpha + T))^-(r + x)) / p] with
        p ~ Beta(a, b + x) (lambda integrated out), by Gauss-Jacobi quadrature."""
        out = np.empty(len(x))
        for xv in np.unique(x):
            sel = x == xv
            # weight (1 - y)^(b + x - 1) (1 + y)^(a - 1) on [-1, 1], p = (1 + y) / 2
            nodes, weights = roots_jacobi(_QUADRATURE_NODES, self.b_ + xv - 1.0, self.a_ - 1.0)
            p = (nodes + 1.0) / 2.0
            w = weights / weights.sum()
            ratio = horizon[sel] / (self.alpha_ + t_end[sel])
            g = -np.expm1(-(self.r_ + xv) * np.log1p(np.outer(ratio, p))) / p
            out[sel] = np.einsum("kj,j->k", g, w)
        return out

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> F64:
        """E[X(T, T + t] | x, t_x, T]: expected repeat purchases in the next ``t``.

        ``t`` is a scalar or an array broadcastable to the customers (time unit of the
        fit, days in shoplens).
        """
        check_is_fitted(self)
        x, t_x, t_end = check_summary(frequency, recency, T)
        horizon = _check_horizon(t)
        if horizon.ndim == 0:
            return np.asarray(self.expected_purchases_at([float(horizon)], x, t_x, t_end)[0])
        alive = self.p_alive(x, t_x, t_end)
        return np.asarray(self._purchases_if_alive(horizon, x, t_end) * alive, dtype=np.float64)

    def expected_purchases_at(
        self, ts: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> F64:
        """E[X(T, T + t] | x, t_x, T] for several horizons ``ts``: shape (len(ts), n).

        Given alive, the expectation depends on (x, T) only, so the hypergeometric
        function (the costly part) is evaluated once per distinct (x, T) pair and
        horizon; day-level summaries have few such pairs.
        """
        check_is_fitted(self)
        x, t_x, t_end = check_summary(frequency, recency, T)
        horizons = _check_horizon(ts).reshape(-1)
        alive = self.p_alive(x, t_x, t_end)
        (xu, tu), inverse = distinct_pairs(x, t_end)
        out = np.empty((len(horizons), len(x)))
        for i, h in enumerate(horizons):
            out[i] = self._purchases_if_alive(np.asarray(h), xu, tu)[inverse] * alive
        return out

    def p_no_purchase(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> F64:
        """P(X(T, T + t] = 0 | x, t_x, T): probability of no purchase in the next ``t``.

        = 1 - P(alive) + P(alive) ((alpha + T) / (alpha + T + t))^(r + x) (derived in
        the module docstring).
        """
        check_is_fitted(self)
        x, t_x, t_end = check_summary(frequency, recency, T)
        horizon = _check_horizon(t)
        alive = self.p_alive(x, t_x, t_end)
        no_event = np.exp(
            (self.r_ + x) * (np.log(self.alpha_ + t_end) - np.log(self.alpha_ + t_end + horizon))
        )
        return np.asarray(1.0 - alive + alive * no_event, dtype=np.float64)

    def expected_purchases_new(self, t: ArrayLike) -> F64:
        """E[X(t)]: expected repeat purchases in ``t`` of a customer acquired at 0.

        FHL (2005), eq. (9): the conditional expectation of an alive customer with no
        history (x = 0, T = 0).
        """
        check_is_fitted(self)
        horizon = _check_horizon(t)
        zero = np.zeros(horizon.shape)
        return self._purchases_if_alive(horizon, zero, zero)


def _check_horizon(t: ArrayLike) -> F64:
    horizon = np.asarray(t, dtype=np.float64)
    if not np.all(np.isfinite(horizon)) or np.any(horizon < 0):
        raise ModelError("the horizon t must be finite and >= 0")
    return horizon


def _log_hyp2f1(a: F64, b: F64, c: F64, z: F64) -> F64:
    """log 2F1(a, b; c; z) for 0 <= z < 1, via Euler's transformation where it overflows."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        direct = np.log(hyp2f1(a, b, c, z))
        euler = np.log(hyp2f1(c - a, c - b, c, z)) + (c - a - b) * np.log1p(-z)
    return np.asarray(np.where(np.isfinite(direct), direct, euler), dtype=np.float64)
