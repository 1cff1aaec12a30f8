"""BG/NBD: the paper's estimates on CDNOW, lifetimes as an oracle, exact values,
parameter recovery, Monte Carlo checks of the predictions."""

from __future__ import annotations

import warnings
from importlib.resources import files
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.special import betaln, gammaln, logsumexp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from shoplens.errors import ModelError
from shoplens.models.bgnbd import BetaGeoNBD, _Compressed
from tests.models.btyd_sampler import sample_btyd

# Fader, Hardie & Lee (2005), CDNOW sample of 2357 customers, time unit weeks
FHL_2005 = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
FHL_2005_LL = -9582.43


def lifetimes_module() -> Any:
    """Import lifetimes (archived; warns under pandas 3) quietly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lifetimes

    return lifetimes


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    path = files(lifetimes_module().__name__) / "datasets" / "cdnow_customers_summary.csv"
    return pd.read_csv(str(path))


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame) -> BetaGeoNBD:
    return BetaGeoNBD().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def summary(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (df["frequency"].to_numpy(), df["recency"].to_numpy(), df["T"].to_numpy())


def with_params(**params: float) -> BetaGeoNBD:
    model = BetaGeoNBD()
    model.r_, model.alpha_, model.a_, model.b_ = (params[k] for k in ("r", "alpha", "a", "b"))
    return model


def test_reproduces_fader_hardie_lee_2005_on_cdnow(fitted: BetaGeoNBD) -> None:
    # the paper reports 4 decimals (its alpha 4.4136 is 7e-5 from the optimum, 4.41353,
    # which lifetimes finds too): agree to 1e-4 relative
    for name, want in FHL_2005.items():
        assert getattr(fitted, f"{name}_") == pytest.approx(want, rel=1e-4), name
    assert fitted.log_likelihood_ == pytest.approx(FHL_2005_LL, abs=0.01)
    assert fitted.n_customers_ == 2357
    # standard errors: the curvature at the optimum, positive and well below the estimates
    assert fitted.stderr_ == pytest.approx(
        {"r": 0.01256, "alpha": 0.3782, "a": 0.1857, "b": 0.7053}, rel=1e-3
    )


def test_estimates_and_standard_errors_agree_with_lifetimes(
    cdnow: pd.DataFrame, fitted: BetaGeoNBD
) -> None:
    lt = lifetimes_module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lt.BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    for name in FHL_2005:
        assert getattr(fitted, f"{name}_") == pytest.approx(ref.params_[name], rel=1e-5)
        assert fitted.stderr_[name] == pytest.approx(ref.standard_errors_[name], rel=1e-4)


def test_predictions_agree_with_lifetimes_at_the_same_parameters(
    cdnow: pd.DataFrame, fitted: BetaGeoNBD
) -> None:
    lt = lifetimes_module()
    ref = lt.BetaGeoFitter()
    ref.params_ = pd.Series(fitted.params_)
    x, t_x, t_end = summary(cdnow)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want_alive = np.asarray(ref.conditional_probability_alive(x, t_x, t_end))
        np.testing.assert_allclose(fitted.p_alive(x, t_x, t_end), want_alive, rtol=1e-6)
        for t in (1.0, 10.0, 52.0, 200.0):
            want = np.asarray(
                ref.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, t_end)
            )
            got = fitted.expected_purchases(t, x, t_x, t_end)
            np.testing.assert_allclose(got, want, rtol=1e-6)
            want_new = ref.expected_number_of_purchases_up_to_time(t)
            assert fitted.expected_purchases_new(t) == pytest.approx(want_new, rel=1e-6)


def test_several_horizons_at_once_equal_one_by_one(cdnow: pd.DataFrame, fitted: BetaGeoNBD) -> None:
    """expected_purchases_at works on distinct (x, T) pairs; a per-customer horizon array
    takes the direct path: both agree."""
    x, t_x, t_end = summary(cdnow)
    ts = [1.0, 10.0, 52.0]
    got = fitted.expected_purchases_at(ts, x, t_x, t_end)
    assert got.shape == (3, len(x))
    for i, t in enumerate(ts):
        direct = fitted.expected_purchases(np.full(len(x), t), x, t_x, t_end)
        np.testing.assert_allclose(got[i], direct, rtol=1e-13)


def test_compressed_likelihood_equals_the_per_customer_formula(cdnow: pd.DataFrame) -> None:
    """The likelihood on distinct rows == FHL (2005) eq. (6) written out per customer."""
    x, t_x, t_end = summary(cdnow)
    data = _Compressed.of(x.astype(float), t_x, t_end)
    for r, alpha, a, b in [(0.24, 4.4, 0.79, 2.4), (1.3, 0.7, 3.0, 0.6), (0.05, 50.0, 0.2, 9.0)]:
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = betaln(a, b + x) - betaln(a, b)
        a3 = -(r + x) * np.log(alpha + t_end)
        with np.errstate(divide="ignore", invalid="ignore"):
            a4 = np.where(
                x > 0,
                np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + t_x),
                -np.inf,
            )
        want = float(np.sum(a1 + a2 + logsumexp(np.stack([a3, a4]), axis=0)))
        nll, _ = data.nll_grad(np.array([r, alpha, a, b]))
        assert -nll == pytest.approx(want, rel=1e-12)


def test_gradient_matches_finite_differences(cdnow: pd.DataFrame) -> None:
    x, t_x, t_end = summary(cdnow)
    data = _Compressed.of(x.astype(float), t_x, t_end)
    for theta in ([0.24, 4.4, 0.79, 2.4], [1.3, 0.7, 3.0, 0.6], [0.05, 50.0, 0.2, 9.0]):
        theta_a = np.array(theta)
        _, grad = data.nll_grad(theta_a)
        for i in range(4):
            h = 1e-6 * theta_a[i]
            up, down = theta_a.copy(), theta_a.copy()
            up[i] += h
            down[i] -= h
            fd = (data.nll_grad(up)[0] - data.nll_grad(down)[0]) / (2 * h)
            assert grad[i] == pytest.approx(fd, rel=1e-6, abs=1e-4), (theta, i)


def test_exact_values_on_a_tiny_summary() -> None:
    # r=1, alpha=2, a=1.5, b=3. Customer A: x=2, t_x=4, T=10; B: x=0, T=10.
    m = with_params(r=1.0, alpha=2.0, a=1.5, b=3.0)
    x, t_x, t_end = np.array([2.0, 0.0]), np.array([4.0, 0.0]), np.array([10.0, 10.0])
    # A: 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)) = 1 / (1 + 0.375 * 2^3) = 1/4
    np.testing.assert_allclose(m.p_alive(x, t_x, t_end), [0.25, 1.0], rtol=1e-14)
    # t = 12: ((alpha+T)/(alpha+T+t))^(r+x) = (1/2)^3 for A, (1/2)^1 for B
    np.testing.assert_allclose(
        m.p_no_purchase(12.0, x, t_x, t_end),
        [1 - 0.25 + 0.25 * 0.125, 0.5],
        rtol=1e-14,
    )
    np.testing.assert_allclose(m.expected_purchases(0.0, x, t_x, t_end), [0.0, 0.0], atol=1e-15)
    assert m.expected_purchases_new(0.0) == pytest.approx(0.0, abs=1e-15)


def _posterior_expectation(m: BetaGeoNBD, t: float, x: float, t_end: float) -> float:
    """E[X(T, T+t] | alive] by numerical integration, independent of the closed form.

    Given lambda and p, an alive customer's expected purchases in t are
    (1 - exp(-lambda p t)) / p (FHL 2005, eq. 7). Given alive, lambda ~ Gamma(r + x,
    alpha + T) and p ~ Beta(a, b + x); averaging over lambda in closed form,
    E[exp(-lambda p t)] = (1 + p t / (alpha + T))^-(r + x), leaves one integral over p.
    """
    shape, rate = m.r_ + x, m.alpha_ + t_end
    norm = np.exp(-betaln(m.a_, m.b_ + x))

    def integrand(q: float) -> float:
        if q == 0.0:  # the limit
            return float(shape * t / rate * norm)
        return float(-np.expm1(-shape * np.log1p(q * t / rate)) / q * norm)

    # QUADPACK's QAWS: the Beta kernel p^(a-1) (1-p)^(b+x-1) as an algebraic weight
    value, _ = integrate.quad(
        integrand,
        0.0,
        1.0,
        weight="alg",
        wvar=(m.a_ - 1.0, m.b_ + x - 1.0),
        epsabs=0.0,
        epsrel=1e-12,
        limit=200,
    )
    return float(value)


def test_expected_purchases_equal_numerical_integration() -> None:
    m = with_params(r=1.5, alpha=10.0, a=2.0, b=5.0)
    t = 30.0
    for x, t_x, t_end in [(0.0, 0.0, 40.0), (3.0, 35.0, 40.0), (3.0, 5.0, 40.0)]:
        alive = float(m.p_alive([x], [t_x], [t_end])[0])
        want = alive * _posterior_expectation(m, t, x, t_end)
        got = float(m.expected_purchases(t, [x], [t_x], [t_end])[0])
        assert got == pytest.approx(want, rel=1e-7)
    # a new customer: the prior itself
    assert float(m.expected_purchases_new(t)) == pytest.approx(
        _posterior_expectation(m, t, 0.0, 0.0), rel=1e-7
    )


@pytest.mark.parametrize(
    "params",
    [
        (0.5, 10.0, 0.3, 0.5),  # a + b < 1: the closed form's 2F1 has c <= 0 for x = 0
        (2.0, 5.0, 0.5, 0.2),
        (1.0, 10.0, 1.0, 2.0),  # a = 1: the closed form divides by zero
        (1.0, 10.0, 1.0000001, 2.0),  # a near 1: it cancels
    ],
)
def test_expected_purchases_where_the_closed_form_fails(
    params: tuple[float, float, float, float],
) -> None:
    m = with_params(**dict(zip(("r", "alpha", "a", "b"), params, strict=True)))
    for x, t_x, t_end in [(0.0, 0.0, 40.0), (3.0, 35.0, 40.0), (30.0, 39.0, 40.0)]:
        alive = float(m.p_alive([x], [t_x], [t_end])[0])
        want = alive * _posterior_expectation(m, 30.0, x, t_end)
        got = float(m.expected_purchases(30.0, [x], [t_x], [t_end])[0])
        assert got == pytest.approx(want, rel=1e-8), (x, t_end)
    assert float(m.expected_purchases_new(30.0)) == pytest.approx(
        _posterior_expectation(m, 30.0, 0.0, 0.0), rel=1e-8
    )


def test_quadrature_fallback_equals_the_closed_form(cdnow: pd.DataFrame) -> None:
    x, _, t_end = summary(cdnow)
    for params in [(0.2426, 4.4136, 0.7929, 2.4259), (2.0, 1.0, 3.0, 0.5)]:
        m = with_params(**dict(zip(("r", "alpha", "a", "b"), params, strict=True)))
        for t in (1.0, 52.0, 365.0):
            h = np.full(len(x), t)
            closed = m._purchases_if_alive(h, x.astype(float), t_end)
            quad = m._purchases_if_alive_quadrature(h, x.astype(float), t_end)
            np.testing.assert_allclose(quad, closed, rtol=1e-10)


TRUE = {"r": 0.5, "alpha": 40.0, "a": 0.8, "b": 3.0}  # days: ~4.6 purchases/year


def test_recovers_parameters_of_simulated_customers() -> None:
    """200k customers observed 60-730 days: every estimate within 5% of the truth and
    within 4 of its standard errors (measured: at most 2.2% and 1.4 se over 3 seeds)."""
    n = 200_000
    t_end = np.random.default_rng(11).integers(60, 731, n).astype(float)
    s = sample_btyd(n, **TRUE, T=t_end, seed=1)
    m = BetaGeoNBD().fit(s.frequency, s.recency, s.T)
    for name, want in TRUE.items():
        got = getattr(m, f"{name}_")
        assert got == pytest.approx(want, rel=0.05), name
        assert abs(got - want) < 4 * m.stderr_[name], name


def test_p_no_purchase_and_expected_purchases_match_monte_carlo() -> None:
    """With the true parameters, the predictions per calibration frequency match what the
    simulated customers then did in a 90-day holdout (4 binomial / Poisson-ish s.e.)."""
    n = 200_000
    t_end = np.random.default_rng(12).integers(60, 731, n).astype(float)
    s = sample_btyd(n, **TRUE, T=t_end, holdout=90.0, seed=2)
    m = with_params(**TRUE)
    p0 = m.p_no_purchase(90.0, s.frequency, s.recency, s.T)
    ex = m.expected_purchases(90.0, s.frequency, s.recency, s.T)
    alive = m.p_alive(s.frequency, s.recency, s.T)
    zero = s.holdout == 0
    for k in range(6):
        sel = s.frequency == k if k < 5 else s.frequency >= k
        nk = int(sel.sum())
        assert nk > 2000
        se = np.sqrt(p0[sel].mean() * (1 - p0[sel].mean()) / nk)
        assert p0[sel].mean() == pytest.approx(zero[sel].mean(), abs=4 * se), k
        se_alive = np.sqrt(alive[sel].mean() * (1 - alive[sel].mean()) / nk) + 1e-12
        assert alive[sel].mean() == pytest.approx(s.alive[sel].mean(), abs=4 * se_alive + 1e-3)
        se_ex = s.holdout[sel].std() / np.sqrt(nk)
        assert ex[sel].mean() == pytest.approx(s.holdout[sel].mean(), abs=4 * se_ex), k
    # the closed form is not a tautology: ignoring dropout would be far off
    naive = np.exp((TRUE["r"] + s.frequency) * np.log((40 + s.T) / (40 + s.T + 90)))
    assert abs(naive.mean() - zero.mean()) > 0.05
    assert abs(p0.mean() - zero.mean()) < 0.004


def test_one_time_buyers_only_plus_one_repeat_fits_and_predicts() -> None:
    x = np.array([0, 0, 0, 1, 0, 2], dtype=float)
    t_x = np.array([0, 0, 0, 3, 0, 7], dtype=float)
    t_end = np.array([10, 20, 5, 9, 30, 12], dtype=float)
    m = BetaGeoNBD().fit(x, t_x, t_end)
    assert np.all(m.p_alive(x, t_x, t_end)[x == 0] == 1.0)
    p0 = m.p_no_purchase(30.0, x, t_x, t_end)
    assert np.all((p0 > 0) & (p0 < 1))


@pytest.mark.parametrize(
    ("x", "t_x", "t_end", "message"),
    [
        ([1, 2], [1], [3, 4], "different lengths"),
        ([1, -1], [1, 0], [3, 4], "whole numbers"),
        ([1, 1.5], [1, 1], [3, 4], "whole numbers"),
        ([1, 1], [5, 1], [3, 4], "between 0 and T"),
        ([0, 1], [1, 1], [3, 4], "recency must be 0"),
        ([1, np.nan], [1, 1], [3, 4], "non-finite"),
        ([0, 0, 0], [0, 0, 0], [3, 4, 5], "no customer has a repeat purchase"),
        ([2], [1], [3], "at least 2 customers"),
    ],
)
def test_bad_input_raises_model_error(
    x: list[float], t_x: list[float], t_end: list[float], message: str
) -> None:
    with pytest.raises(ModelError, match=message):
        BetaGeoNBD().fit(x, t_x, t_end)


def test_sklearn_contract(fitted: BetaGeoNBD) -> None:
    with pytest.raises(NotFittedError):
        BetaGeoNBD().p_alive([1], [1], [2])
    with pytest.raises(TypeError):
        BetaGeoNBD(0.1)  # type: ignore[call-arg]  # keyword-only hyperparameters
    model = BetaGeoNBD(penalizer_coef=0.01, max_iter=50)
    assert model.get_params() == {"penalizer_coef": 0.01, "max_iter": 50, "tol": 1e-8}
    copy = clone(fitted)
    assert not hasattr(copy, "r_")
    assert copy.get_params() == fitted.get_params()


def test_penalizer_shrinks_the_parameters(cdnow: pd.DataFrame, fitted: BetaGeoNBD) -> None:
    pen = BetaGeoNBD(penalizer_coef=0.1).fit(*summary(cdnow))
    assert sum(v**2 for v in pen.params_.values()) < sum(v**2 for v in fitted.params_.values())
    assert pen.log_likelihood_ < fitted.log_likelihood_
