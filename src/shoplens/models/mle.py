"""Maximum likelihood on log-parameters, shared by the BG/NBD and Gamma-Gamma fits.

A model hands :func:`fit_positive` its total negative log-likelihood and its analytic
gradient in the *natural* (positive) parameters. The optimiser works on
``u = log(theta)`` so positivity needs no bounds:

1. L-BFGS-B (scipy) on ``f(u) = nll(e^u) / n + penalizer_coef * sum(e^(2u))``, the
   per-customer mean (lifetimes' scaling, so ``penalizer_coef`` means the same there),
   with the chain-rule gradient ``(theta * grad_theta) / n + 2 * penalizer_coef * theta^2``;
2. a Newton step or two on the same objective, with the Hessian from forward
   differences of the analytic gradient (4 more gradient calls for 4 parameters),
   which polishes the optimum to ~1e-10 relative so results do not depend on where
   L-BFGS-B happened to stop;
3. standard errors: the covariance of ``u`` is the inverse of the observed information
   ``n * H_u`` (the Hessian of the **total** penalised negative log-likelihood in
   **log-parameters**); the natural parameters' standard errors follow by the delta
   method, ``se(theta_i) = theta_i * se(u_i)``. (Without a penalty, at the optimum this
   equals the inverse Hessian in natural parameters exactly, because the gradient
   vanishes there.)

Why not scipy's ``hess_inv`` from L-BFGS-B: it is a low-rank approximation that
depends on the path, not a Hessian.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning

from shoplens.errors import ModelError

F64 = npt.NDArray[np.float64]
NllGrad = Callable[[F64], tuple[float, F64]]
"""theta (natural, > 0) -> (total negative log-likelihood, its gradient in theta)."""

_NEWTON_STEPS = 4
_HESSIAN_STEP = 1e-6  # forward differences in log-parameters


@dataclass(frozen=True)
class MLEResult:
    params: F64
    """Natural parameters at the optimum."""
    stderr: F64
    """Delta-method standard errors of ``params`` (NaN where the Hessian is singular)."""
    log_likelihood: float
    """Total log-likelihood at ``params`` (without the penalty)."""
    n_iter: int
    converged: bool


def _objective(nll_grad: NllGrad, u: F64, n: int, penalizer_coef: float) -> tuple[float, F64]:
    theta = np.exp(u)
    nll, grad = nll_grad(theta)
    f = nll / n + penalizer_coef * float(np.sum(theta**2))
    g = theta * grad / n + 2.0 * penalizer_coef * theta**2
    return f, g


def _hessian(nll_grad: NllGrad, u: F64, g: F64, n: int, penalizer_coef: float) -> F64:
    """Forward differences of the analytic gradient ``g`` at ``u`` (k more calls)."""
    k = len(u)
    h = np.empty((k, k))
    for i in range(k):
        step = np.zeros(k)
        step[i] = _HESSIAN_STEP
        h[:, i] = (_objective(nll_grad, u + step, n, penalizer_coef)[1] - g) / _HESSIAN_STEP
    return 0.5 * (h + h.T)


def fit_positive(
    nll_grad: NllGrad,
    theta0: F64,
    *,
    n: int,
    penalizer_coef: float,
    max_iter: int,
    tol: float,
    model: str,
) -> MLEResult:
    """Minimise the penalised mean negative log-likelihood over ``theta > 0``.

    ``n`` is the number of customers (the mean's denominator); ``model`` names the
    model in errors and warnings. Raises :class:`ModelError` when the likelihood is not
    finite at the start or the optimiser ends on a non-finite value.
    """
    u0 = np.log(np.asarray(theta0, dtype=np.float64))
    f0, g0 = _objective(nll_grad, u0, n, penalizer_coef)
    if not (np.isfinite(f0) and np.all(np.isfinite(g0))):
        raise ModelError(f"{model}: the log-likelihood is not finite at the starting values")

    def fun(u: F64) -> tuple[float, F64]:
        f, g = _objective(nll_grad, u, n, penalizer_coef)
        if not np.isfinite(f):  # steer the line search back
            return float("inf"), np.zeros_like(u)
        return f, g

    res = minimize(
        fun,
        u0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-30.0, 30.0)] * len(u0),
        options={"maxiter": max_iter, "ftol": tol * 1e-3, "gtol": tol},
    )
    u = np.asarray(res.x, dtype=np.float64)
    f, g = _objective(nll_grad, u, n, penalizer_coef)
    if not np.isfinite(f):
        raise ModelError(f"{model}: the fit did not reach a finite log-likelihood")
    # Newton polish with the Hessian at the L-BFGS-B point (close enough to the
    # optimum that keeping it fixed converges in a step or two)
    h = _hessian(nll_grad, u, g, n, penalizer_coef)
    for _ in range(_NEWTON_STEPS):
        if np.max(np.abs(g)) < 1e-11:
            break
        try:
            step = np.linalg.solve(h, -g)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)) or float(g @ step) >= 0.0:
            break  # not a descent direction: the Hessian is not positive definite here
        f_new, g_new = _objective(nll_grad, u + step, n, penalizer_coef)
        if not (np.isfinite(f_new) and f_new <= f + 1e-12 * abs(f)):
            break
        u, f, g = u + step, f_new, g_new
    converged = bool(np.max(np.abs(g)) <= max(tol, 1e-6))
    if not converged:
        warnings.warn(
            f"{model}: the fit stopped after {res.nit} iterations with gradient "
            f"{np.max(np.abs(g)):.2e}; raise max_iter or check the data",
            ConvergenceWarning,
            stacklevel=3,
        )
    theta = np.exp(u)
    stderr = np.full(len(u), np.nan)
    try:
        cov_u = np.linalg.inv(n * h)
        diag = np.diag(cov_u)
        ok = diag > 0
        stderr[ok] = theta[ok] * np.sqrt(diag[ok])
    except np.linalg.LinAlgError:
        pass
    nll = nll_grad(theta)[0]
    return MLEResult(
        params=theta,
        stderr=stderr,
        log_likelihood=-float(nll),
        n_iter=int(res.nit),
        converged=converged,
    )
