"""Benchmark: shoplens' BG/NBD + Gamma-Gamma fit vs lifetimes' BetaGeoFitter + GammaGammaFitter.

The data: a BTYD summary of N customers (default 1,000,000) simulated from known
parameters with the tests' seeded sampler (``tests/models/btyd_sampler.py``): BG/NBD
r 0.5, alpha 40 days, a 0.8, b 3.0; Gamma-Gamma p 6, q 4, gamma 15; T uniform over
30..730 whole days and recency in whole days, as ``clv_summary`` produces them
(several purchases on one day are kept as they are). Simulated once per size and seed
and cached in ``benchmarks/.data`` (not timed).

Timed on each side, in its own subprocess (its own peak RSS), after the data is loaded:
the BG/NBD fit on all customers, then the Gamma-Gamma fit on the repeat buyers
(monetary > 0). Both sides use their defaults (lifetimes: autograd gradient, BFGS,
Hessian for the standard errors; ours: see ``shoplens.models.mle``). Ours also runs on
the same customers with continuous-time recency (no two rows alike, so the distinct-row
compression cannot help) to show where its speed comes from.

Printed: wall and CPU seconds per fit, peak RSS, the estimates of both sides with
their largest relative difference and the true values, and the speed ratio.
Targets: ours at most 10 s for both fits at 1M customers, and faster than lifetimes.

    .venv/bin/python benchmarks/bench_clv.py [--customers N] [--quick] [--seed S] [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks._common import (
    DATA_DIR,
    base_parser,
    fmt_int,
    peak_rss_mb,
    print_table,
    run_as_worker,
    run_worker,
    verdict,
    write_json,
)

SCRIPT = Path(__file__).resolve()
FULL_CUSTOMERS = 1_000_000
QUICK_CUSTOMERS = 100_000
TARGET_SECONDS = 10.0
TRUE_BGNBD = {"r": 0.5, "alpha": 40.0, "a": 0.8, "b": 3.0}
TRUE_GG = {"p": 6.0, "q": 4.0, "gamma": 15.0}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = base_parser(__doc__, quick_help=f"{QUICK_CUSTOMERS:,} customers")
    ap.add_argument("--customers", type=int, default=None, help=f"default {FULL_CUSTOMERS:,}")
    ap.add_argument("--data", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--continuous", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.customers is None:
        args.customers = QUICK_CUSTOMERS if args.quick else FULL_CUSTOMERS
    return args


# --- data ----------------------------------------------------------------------------


def data_path(customers: int, seed: int) -> Path:
    return DATA_DIR / f"btyd-{customers}-seed{seed}.npz"


def simulate(path: Path, customers: int, seed: int) -> None:
    """Write the summary (day-level and continuous recency) to ``path``."""
    from tests.models.btyd_sampler import sample_btyd

    t_end = np.random.default_rng(seed + 1).integers(30, 731, customers).astype(float)
    s = sample_btyd(
        customers,
        **TRUE_BGNBD,
        T=t_end,
        p_spend=TRUE_GG["p"],
        q=TRUE_GG["q"],
        gamma=TRUE_GG["gamma"],
        seed=seed,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        frequency=s.frequency,
        recency_days=np.floor(s.recency),
        recency=s.recency,
        T=s.T,
        monetary=s.monetary,
    )


def load(path: Path, continuous: bool) -> tuple[np.ndarray, ...]:
    with np.load(path) as d:
        recency = d["recency"] if continuous else d["recency_days"]
        return d["frequency"], recency, d["T"], d["monetary"]


def _timed(fn: Any) -> tuple[Any, float, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


# --- workers ---------------------------------------------------------------------------


def worker_ours(path: Path, continuous: bool) -> dict[str, Any]:
    from shoplens.models.bgnbd import BetaGeoNBD
    from shoplens.models.gamma_gamma import GammaGamma

    x, t_x, t_end, m = load(path, continuous)
    rss_loaded = peak_rss_mb()
    bg, bg_s, bg_cpu = _timed(lambda: BetaGeoNBD().fit(x, t_x, t_end))
    rep = (x > 0) & (m > 0)
    gg, gg_s, gg_cpu = _timed(lambda: GammaGamma().fit(x[rep], m[rep]))
    return {
        "bgnbd_seconds": bg_s,
        "gg_seconds": gg_s,
        "seconds": bg_s + gg_s,
        "cpu_seconds": bg_cpu + gg_cpu,
        "rss_loaded_mb": rss_loaded,
        "bgnbd": bg.params_,
        "gg": gg.params_,
        "bgnbd_ll": bg.log_likelihood_,
        "customers": len(x),
        "repeat_buyers": int(rep.sum()),
    }


def worker_baseline(path: Path) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter, GammaGammaFitter

        x, t_x, t_end, m = load(path, continuous=False)
        rss_loaded = peak_rss_mb()
        bg, bg_s, bg_cpu = _timed(lambda: BetaGeoFitter().fit(x, t_x, t_end))
        rep = (x > 0) & (m > 0)
        gg, gg_s, gg_cpu = _timed(lambda: GammaGammaFitter().fit(x[rep], m[rep]))
    gg_params = {k: float(v) for k, v in gg.params_.items()}
    return {
        "bgnbd_seconds": bg_s,
        "gg_seconds": gg_s,
        "seconds": bg_s + gg_s,
        "cpu_seconds": bg_cpu + gg_cpu,
        "rss_loaded_mb": rss_loaded,
        "bgnbd": {k: float(v) for k, v in bg.params_.items()},
        "gg": {"p": gg_params["p"], "q": gg_params["q"], "gamma": gg_params["v"]},
    }


# --- parent ------------------------------------------------------------------------------


def _max_rel(a: dict[str, float], b: dict[str, float]) -> float:
    return max(abs(a[k] / b[k] - 1) for k in a)


def _ours_ll_at(path: Path, params: dict[str, float]) -> float:
    """Our log-likelihood at lifetimes' BG/NBD estimates (which optimum is higher?)."""
    from shoplens.models.bgnbd import _Compressed

    x, t_x, t_end, _ = load(path, continuous=False)
    data = _Compressed.of(x, t_x, t_end)
    return -data.nll_grad(np.array([params[k] for k in TRUE_BGNBD]))[0]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    path = args.data or data_path(args.customers, args.seed)
    if run_as_worker(
        args.worker,
        {
            "ours": lambda: worker_ours(path, args.continuous),
            "baseline": lambda: worker_baseline(path),
        },
    ):
        return 0

    if not path.exists():
        print(f"simulating {args.customers:,} customers into {path} ...", flush=True)
        simulate(path, args.customers, args.seed)
    common = ["--data", str(path)]
    print(f"ours: shoplens BetaGeoNBD + GammaGamma on {fmt_int(args.customers)} customers ...")
    ours = run_worker(SCRIPT, ["--worker", "ours", *common])
    print("baseline: lifetimes BetaGeoFitter + GammaGammaFitter ...", flush=True)
    base = run_worker(SCRIPT, ["--worker", "baseline", *common])
    print("ours on continuous-time recency (no duplicate rows) ...", flush=True)
    cont = run_worker(SCRIPT, ["--worker", "ours", "--continuous", *common])

    print()
    print(
        f"data: {fmt_int(ours['customers'])} customers, {fmt_int(ours['repeat_buyers'])}"
        " repeat buyers with a positive spend"
    )
    print()
    ratio = base["seconds"] / ours["seconds"]
    rows = []
    for key, label in (("bgnbd_seconds", "BG/NBD fit"), ("gg_seconds", "Gamma-Gamma fit")):
        rows.append(
            [
                label,
                f"{ours[key]:.2f}",
                f"{base[key]:.2f}",
                f"{base[key] / ours[key]:.1f}x",
                f"{cont[key]:.2f}",
            ]
        )
    rows.append(
        [
            "total",
            f"{ours['seconds']:.2f}",
            f"{base['seconds']:.2f}",
            f"{ratio:.1f}x",
            f"{cont['seconds']:.2f}",
        ]
    )
    rows.append(
        [
            "CPU s",
            f"{ours['cpu_seconds']:.2f}",
            f"{base['cpu_seconds']:.2f}",
            "",
            f"{cont['cpu_seconds']:.2f}",
        ]
    )
    rows.append(
        [
            "peak RSS MB (after load)",
            f"{ours['peak_rss_mb']:.0f} ({ours['rss_loaded_mb']:.0f})",
            f"{base['peak_rss_mb']:.0f} ({base['rss_loaded_mb']:.0f})",
            "",
            f"{cont['peak_rss_mb']:.0f} ({cont['rss_loaded_mb']:.0f})",
        ]
    )
    print_table(
        ["wall s", "ours", "lifetimes", "lifetimes / ours", "ours, continuous recency"], rows
    )
    print()
    params = []
    for model, truth in (("bgnbd", TRUE_BGNBD), ("gg", TRUE_GG)):
        for name, want in truth.items():
            o, b = ours[model][name], base[model][name]
            params.append(
                [
                    name,
                    f"{o:.6g}",
                    f"{b:.6g}",
                    f"{abs(o / b - 1):.1e}",
                    f"{want:g}",
                    f"{o / want - 1:+.2%}",
                ]
            )
    print_table(
        ["estimate", "ours", "lifetimes", "relative difference", "true", "ours vs true"], params
    )
    ll_base = _ours_ll_at(path, base["bgnbd"])
    print(
        f"BG/NBD log-likelihood: ours {ours['bgnbd_ll']:.3f}, at lifetimes' estimates {ll_base:.3f}"
    )
    diff = max(_max_rel(ours["bgnbd"], base["bgnbd"]), _max_rel(ours["gg"], base["gg"]))
    print()
    print(f"largest relative difference of the estimates: {diff:.1e}")
    print(f"speed ratio (lifetimes / ours): {ratio:.1f}x  [target > 1: {verdict(ratio > 1)}]")
    print(
        f"our total: {ours['seconds']:.2f} s  [target <= {TARGET_SECONDS:.0f} s at 1M:"
        f" {verdict(ours['seconds'] <= TARGET_SECONDS)}]"
    )
    write_json(
        args.out,
        {
            "customers": args.customers,
            "seed": args.seed,
            "ours": ours,
            "lifetimes": base,
            "ours_continuous": cont,
            "ratio": ratio,
            "max_relative_difference": diff,
            "lifetimes_ll_by_ours": ll_base,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
