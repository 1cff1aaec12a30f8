"""The model commands: train, evaluate, score, customer."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import pyarrow as pa
import typer
from rich.markup import escape

from shoplens import output
from shoplens.cli.core import (
    CsvOpt,
    Format,
    JsonOpt,
    StoreOpt,
    TzOpt,
    _format,
    _open,
    _progress,
    _settings,
    out,
)
from shoplens.errors import InvalidParameterError, ModelError


class Label(StrEnum):
    horizon = "horizon"
    inactive_days = "inactive-days"


@contextmanager
def _steps(quiet: bool) -> Iterator[Any]:
    """A step callback for the library: one progress row per step, on stderr."""
    with _progress(quiet=quiet) as update:
        current: list[str] = []

        def step(text: str) -> None:
            if update is None:
                return
            if current:
                update(current[-1], 1, 1)
            current.append(text)
            update(text, 0, 1)

        yield step
        if update is not None and current:
            update(current[-1], 1, 1)


# --- train --------------------------------------------------------------------------


def train_cmd(
    store_path: StoreOpt = None,
    cutoff: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"], help="Start of the holdout [default: last order - horizon]."
        ),
    ] = None,
    horizon_days: Annotated[int, typer.Option(help="Days after the cutoff to predict.")] = 90,
    seed: Annotated[int, typer.Option(help="Random seed of splits and models.")] = 0,
    label: Annotated[
        Label,
        typer.Option(help="Churn label: no order in the horizon, or the older inactive-days rule."),
    ] = Label.horizon,
    inactive_days: Annotated[
        int, typer.Option(help="Days without an order for --label inactive-days.")
    ] = 90,
    no_refit: Annotated[
        bool, typer.Option("--no-refit", help="Evaluate only; keep the models already saved.")
    ] = False,
    timezone: TzOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit the models before the cutoff, evaluate them on the horizon after it, save them."""
    # the model stack (scikit-learn, skops) is imported when a model command runs
    from shoplens.models.run import train_and_save

    settings = _settings(store=store_path, timezone=timezone)
    if inactive_days < 1:
        raise InvalidParameterError(f"--inactive-days must be >= 1, got {inactive_days}")
    t0 = time.perf_counter()
    with (
        _open(settings, write=True, needs_orders="to train models", timezone=timezone) as con,
        _steps(quiet=as_json) as step,
    ):
        result = train_and_save(
            con,
            cutoff=cutoff.date() if cutoff else None,
            horizon_days=horizon_days,
            seed=seed,
            label=label.value,
            inactive_days=inactive_days,
            refit=not no_refit,
            on_step=step,
        )
    seconds = time.perf_counter() - t0
    if as_json:
        out.print_json(json.dumps(result.evaluation, default=str))
        return
    _print_churn(result.evaluation)
    for line in result.skipped:
        out.print(f"[yellow]skipped:[/] {escape(line)}", highlight=False)
    saved = ", ".join(result.models) or "none (--no-refit)"
    out.print(f"Trained in {seconds:.1f} s; models saved: {saved}. Details: shoplens evaluate.")


# --- evaluate -----------------------------------------------------------------------

_METRICS = ("roc_auc", "pr_auc", "brier", "top_decile_lift", "threshold")


def _churn_rows(churn: dict[str, Any]) -> pa.Table:
    rows = [("model: " + churn["chosen"], churn["model"])]
    rows += [(f"baseline: {k}", v) for k, v in churn["baselines"].items()]
    if churn.get("oracle"):
        rows.append(("oracle (simulator truth)", churn["oracle"]))
    return pa.table(
        {
            "scorer": [name for name, _ in rows],
            **{m: [r.get(m) for _, r in rows] for m in _METRICS},
        }
    )


def _print_churn(ev: dict[str, Any]) -> None:
    churn = ev["churn"]
    title = (
        f"Churn on the holdout: {ev['cutoff']} + {ev['horizon_days']} days"
        f" ({churn['customers']['holdout']:,} customers,"
        f" {churn['customers']['holdout_churn_rate']:.0%} churned)"
    )
    out.print(output.rich_table(_churn_rows(churn), title=title))
    hiatus = churn["baselines"]["hiatus"]
    out.print(
        f"hiatus rule: no order in the last {hiatus['days']} days (tuned on the training"
        f" window); days since the last order as a score: ROC-AUC {hiatus['recency_roc_auc']}"
    )


def evaluate_cmd(
    store_path: StoreOpt = None, timezone: TzOpt = None, as_json: JsonOpt = False
) -> None:
    """Print the stored evaluation of the last train: holdout metrics vs baselines."""
    from shoplens.models.persistence import load_evaluation

    settings = _settings(store=store_path, timezone=timezone)
    with _open(settings, write=False) as con:
        ev = load_evaluation(con)
    if ev is None:
        raise ModelError(f"no evaluation in {settings.store}: run 'shoplens train' first")
    if as_json:
        out.print_json(json.dumps(ev, default=str))
        return
    _print_churn(ev)
    churn = ev["churn"]
    sel = ", ".join(f"{k} {v}" for k, v in churn["selection"]["roc_auc"].items())
    out.print(f"chosen: {churn['chosen']} (ROC-AUC on a split of the training window: {sel})")
    imp = churn["importance"][:8]
    if imp:
        out.print(
            output.rich_table(
                pa.Table.from_pylist(imp), title="Churn: permutation importance (ROC-AUC drop)"
            )
        )
    clv = ev["clv"]
    params = [
        ("BG/NBD " + k, v, f"± {clv['bgnbd']['stderr'][k]}")
        for k, v in clv["bgnbd"]["params"].items()
    ]
    if clv.get("gamma_gamma"):
        params += [
            ("Gamma-Gamma " + k, v, f"± {clv['gamma_gamma']['stderr'][k]}")
            for k, v in clv["gamma_gamma"]["params"].items()
        ]
    out.print(
        output.key_value_table(
            params,
            title=f"Lifetime value models (time unit: {clv['time_unit']})",
            name_header="parameter",
        )
    )
    if clv.get("calibration"):
        out.print(
            output.rich_table(
                pa.Table.from_pylist(clv["calibration"]),
                title="BG/NBD: predicted vs actual repeat purchases in the holdout",
            )
        )
    pref = ev.get("preference")
    if pref:
        rows = [("model", pref["model"])] + [(k, v) for k, v in pref["baselines"].items()]
        if pref.get("oracle"):
            rows.append(("oracle", pref["oracle"]))
        out.print(
            output.rich_table(
                pa.table(
                    {
                        "scorer": [n for n, _ in rows],
                        "top1": [r["top1"] for _, r in rows],
                        "top3": [r["top3"] for _, r in rows],
                    }
                ),
                title="Next category on the holdout",
            )
        )
    for line in ev.get("skipped", []):
        out.print(f"[yellow]skipped:[/] {escape(line)}", highlight=False)


# --- score --------------------------------------------------------------------------


def score_cmd(
    store_path: StoreOpt = None,
    clv_horizon_days: Annotated[
        int, typer.Option(help="Days of future revenue in predicted_clv.")
    ] = 365,
    timezone: TzOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Score every customer (CLV, churn risk and reasons, next category); write customer_scores."""
    from shoplens.models import customer as customer_view
    from shoplens.models.run import score_and_save
    from shoplens.models.scores import ScoreSettings

    fmt = _format(as_json, as_csv)
    if not 1 <= clv_horizon_days <= 3650:
        raise InvalidParameterError(
            f"--clv-horizon-days must be between 1 and 3650, got {clv_horizon_days}"
        )
    settings = _settings(store=store_path, timezone=timezone)
    ms = settings.models
    opts = ScoreSettings(
        clv_horizon_days=clv_horizon_days,
        annual_discount_rate=ms.annual_discount_rate,
        churn_medium=ms.churn_medium,
        churn_high=ms.churn_high,
        currency=settings.currency,
    )
    with (
        _open(settings, write=True, needs_orders="to score customers", timezone=timezone) as con,
        _steps(quiet=fmt is not Format.table) as step,
    ):
        table = score_and_save(con, settings=opts, rules=settings.segments, on_step=step)
    if fmt is Format.json:
        out.print_json(
            output.json_document("score", {"clv_horizon_days": clv_horizon_days}, rows=table)
        )
    elif fmt is Format.csv:
        sys.stdout.write(output.csv_text(table))
    else:
        out.print(
            output.rich_table(
                customer_view.risk_summary(table),
                title=f"customer_scores: {table.num_rows:,} customers",
            )
        )
        out.print(
            output.rich_table(
                customer_view.top_customers(table),
                title="Most valuable customers at high churn risk",
            )
        )


# --- customer -----------------------------------------------------------------------

MEANINGS = {
    "as_of": "the scoring date (the day after the last order)",
    "historic_clv": "spent so far (completed orders, net)",
    "predicted_clv": "expected spend in the CLV horizon, discounted",
    "total_clv": "historic + predicted",
    "p_alive": "chance they are still a customer",
    "expected_orders": "purchase days expected in the CLV horizon",
    "average_order_value": "their usual basket",
    "average_days_between_orders": "their usual gap between orders",
    "expected_next_order_date": "when one more order is expected",
    "churn_probability": "chance of no order in the churn horizon",
    "churn_risk": "low / medium / high (settings)",
    "next_category": "most likely category of the next purchase",
    "next_category_probability": "its probability",
    "next_category_top3": "the three most likely categories",
    "rfm_segment": "RFM segment",
    "behaviour_segment": "behavioural segment",
}


def customer_cmd(
    customer_id: Annotated[str, typer.Argument(help="The customer's id.")],
    store_path: StoreOpt = None,
    timezone: TzOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One customer: orders, segments, every score and the churn reasons."""
    from shoplens.models import customer as customer_view

    settings = _settings(store=store_path, timezone=timezone)
    with _open(settings, write=False, needs_orders="to show a customer", timezone=timezone) as con:
        view = customer_view.customer_view(con, customer_id)
    if as_json:
        out.print_json(json.dumps({"shoplens": "customer", "version": 1, **view}, default=str))
        return
    scores = view["scores"]
    if scores is None:
        out.print("[yellow]No scores yet: run 'shoplens train' and 'shoplens score'.[/]")
    else:
        items = [
            (k, v, MEANINGS.get(k, ""))
            for k, v in scores.items()
            if k not in ("customer_id", "churn_reasons")
        ]
        out.print(
            output.key_value_table(items, title=f"Customer {customer_id}", name_header="score")
        )
        for reason in scores.get("churn_reasons") or []:
            out.print(f"  - {escape(reason)}", highlight=False)
    orders = view["orders"]
    out.print(
        output.rich_table(
            pa.Table.from_pylist(orders) if orders else pa.table({"order_id": []}),
            title=f"Orders ({len(orders)})",
        )
    )
