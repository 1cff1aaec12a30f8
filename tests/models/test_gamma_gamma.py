"""Gamma-Gamma: the published CDNOW estimates, lifetimes as an oracle, exact values,
parameter recovery."""

from __future__ import annotations

import warnings
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from sklearn.exceptions import NotFittedError

from shoplens.errors import ModelError
from shoplens.models.gamma_gamma import GammaGamma, _Spend
from tests.models.btyd_sampler import sample_btyd
from tests.models.test_bgnbd import lifetimes_module

# Fader, Hardie & Lee (2005) / lifetimes' documentation, CDNOW repeat buyers (2 decimals;
# the optimum's gamma is 15.4477)
CDNOW_PARAMS = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.fixture(scope="module")
def repeat_buyers() -> pd.DataFrame:
    lt = lifetimes_module()
    path = files(lt.__name__) / "datasets" / "cdnow_customers_summary_with_transactions.csv"
    df = pd.read_csv(str(path))
    return df[df["x"] > 0]


@pytest.fixture(scope="module")
def fitted(repeat_buyers: pd.DataFrame) -> GammaGamma:
    return GammaGamma().fit(repeat_buyers["x"], repeat_buyers["zbar"])


def with_params(p: float, q: float, gamma: float) -> GammaGamma:
    model = GammaGamma()
    model.p_, model.q_, model.gamma_ = p, q, gamma
    return model


def test_reproduces_the_published_cdnow_estimates(fitted: GammaGamma) -> None:
    for name, want in CDNOW_PARAMS.items():
        assert getattr(fitted, f"{name}_") == pytest.approx(want, abs=0.01), name
    assert fitted.n_customers_ == 946
    assert fitted.log_likelihood_ == pytest.approx(-4055.92, abs=0.01)


def test_agrees_with_lifetimes(repeat_buyers: pd.DataFrame, fitted: GammaGamma) -> None:
    lt = lifetimes_module()
    x, m = repeat_buyers["x"], repeat_buyers["zbar"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lt.GammaGammaFitter().fit(x, m)
    for ours, theirs in (("p", "p"), ("q", "q"), ("gamma", "v")):
        assert getattr(fitted, f"{ours}_") == pytest.approx(ref.params_[theirs], rel=1e-5)
        assert fitted.stderr_[ours] == pytest.approx(ref.standard_errors_[theirs], rel=1e-4)
    # predictions at the same parameters
    ref.params_ = pd.Series({"p": fitted.p_, "q": fitted.q_, "v": fitted.gamma_})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = np.asarray(ref.conditional_expected_average_profit(x, m))
    np.testing.assert_allclose(fitted.expected_spend(x, m), want, rtol=1e-9)
    # the population mean (lifetimes has no method for it): p gamma / (q - 1) = 35.17 USD
    assert fitted.population_mean_spend() == pytest.approx(35.17, abs=0.01)


def test_gradient_matches_finite_differences(repeat_buyers: pd.DataFrame) -> None:
    data = _Spend.of(repeat_buyers["x"].to_numpy(float), repeat_buyers["zbar"].to_numpy())
    for theta in ([6.25, 3.74, 15.44], [0.8, 1.5, 200.0], [30.0, 10.0, 2.0]):
        th = np.array(theta)
        _, grad = data.nll_grad(th)
        for i in range(3):
            h = 1e-6 * th[i]
            up, down = th.copy(), th.copy()
            up[i] += h
            down[i] -= h
            fd = (data.nll_grad(up)[0] - data.nll_grad(down)[0]) / (2 * h)
            assert grad[i] == pytest.approx(fd, rel=1e-6, abs=1e-4), (theta, i)


def test_log_likelihood_is_the_density_of_the_mean() -> None:
    """For one customer the likelihood is the density of the mean of x Gamma(p, nu)
    values, integrated over nu ~ Gamma(q, gamma): check against numerical integration."""
    p, q, gamma, x, m = 2.5, 3.0, 12.0, 3.0, 7.0
    data = _Spend.of(np.array([x]), np.array([m]))
    nll, _ = data.nll_grad(np.array([p, q, gamma]))

    def joint(nu: float) -> float:
        mean_density = stats.gamma(p * x, scale=1.0 / (x * nu)).pdf(m)
        return float(mean_density * stats.gamma(q, scale=1.0 / gamma).pdf(nu))

    want, _ = integrate.quad(joint, 0.0, np.inf, epsabs=1e-14, epsrel=1e-11)
    assert np.exp(-nll) == pytest.approx(want, rel=1e-8)


def test_exact_values_on_a_tiny_summary() -> None:
    m = with_params(p=2.0, q=3.0, gamma=10.0)
    # E[M | x, m] = p (gamma + x m) / (p x + q - 1): x=2, m=20 -> 2 * 50 / 6;
    # no (positive) repeat purchase -> the population mean p gamma / (q - 1) = 10
    got = m.expected_spend([2, 0, 3, 1], [20.0, 0.0, 0.0, 5.0])
    np.testing.assert_allclose(got, [100 / 6, 10.0, 10.0, 2 * 15 / 4], rtol=1e-14)
    with pytest.raises(ModelError, match="infinite"):
        with_params(p=2.0, q=0.9, gamma=10.0).expected_spend([0], [0])


def test_recovers_parameters_of_simulated_customers() -> None:
    """~133k repeat buyers (200k customers): every estimate within 8% and 4 standard
    errors of the truth, the population mean spend within 1% (measured over 3 seeds:
    at most 4.5% for p and gamma, which are strongly correlated, 1.2% for q)."""
    n = 200_000
    s = sample_btyd(
        n, r=0.5, alpha=40.0, a=0.8, b=3.0, T=400.0, p_spend=6.0, q=4.0, gamma=15.0, seed=5
    )
    m = GammaGamma().fit(s.frequency, s.monetary)
    for name, want in {"p": 6.0, "q": 4.0, "gamma": 15.0}.items():
        got = getattr(m, f"{name}_")
        assert got == pytest.approx(want, rel=0.08), name
        assert abs(got - want) < 4 * m.stderr_[name], name
    assert m.population_mean_spend() == pytest.approx(6.0 * 15.0 / 3.0, rel=0.01)
    assert m.n_customers_ == int((s.frequency > 0).sum())


def test_excludes_customers_without_a_positive_repeat_value() -> None:
    s = sample_btyd(400, r=0.5, alpha=40.0, a=0.8, b=3.0, T=400.0, seed=6)
    x = np.append(s.frequency, [0, 2, 3])
    mon = np.append(s.monetary, [0.0, 0.0, -5.0])
    m = GammaGamma().fit(x, mon)
    n_repeat = int((s.frequency > 0).sum())
    assert (m.n_customers_, m.n_excluded_) == (n_repeat, len(x) - n_repeat)
    same = GammaGamma().fit(x[mon > 0], mon[mon > 0])
    assert m.params_ == pytest.approx(same.params_, rel=1e-9)


@pytest.mark.parametrize(
    ("x", "m", "message"),
    [
        ([1, 2], [1.0], "different lengths"),
        ([1, np.inf], [1.0, 2.0], "non-finite"),
        ([1, 2], [1.0, np.nan], "non-finite"),
        ([1, 0.5], [1.0, 2.0], "whole numbers"),
        ([1, 2, 0, 0], [5.0, 6.0, 0.0, 0.0], "at least 3 customers"),
        ([1, 2, 3], [5.0, 0.0, -2.0], "at least 3 customers"),
    ],
)
def test_bad_input_raises_model_error(x: list[float], m: list[float], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        GammaGamma().fit(x, m)


def test_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        GammaGamma().expected_spend([1], [2.0])
    assert GammaGamma(penalizer_coef=0.5).get_params()["penalizer_coef"] == 0.5
