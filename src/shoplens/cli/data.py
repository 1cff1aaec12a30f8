"""The commands that fill or move a store: generate, import, export, quality."""

from __future__ import annotations

import time
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
from rich.markup import escape

from shoplens import generate, output, store
from shoplens.cli.core import JsonOpt, StoreOpt, TzOpt, _open, _progress, _settings, out
from shoplens.cli.params import DAY_METAVAR, option_names, parse_day
from shoplens.config import Settings
from shoplens.errors import InvalidParameterError

# --- generate -----------------------------------------------------------------------


class OutFormat(StrEnum):
    duckdb = "duckdb"
    parquet = "parquet"


def generate_cmd(
    customers: Annotated[int, typer.Option(help="Number of customers.")] = 20_000,
    days: Annotated[int, typer.Option(help="Length of the simulated period in days.")] = 730,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same shop.")] = 7,
    end: Annotated[
        date | None,
        typer.Option(
            parser=parse_day,
            metavar=DAY_METAVAR,
            help="Last day of the period [default: 2025-12-31].",
        ),
    ] = None,
    countries: Annotated[
        str | None,
        typer.Option(
            "--country-weights",
            help="Country weights, e.g. 'DE=0.4,FR=0.3,ES=0.3' [default: EU mix].",
        ),
    ] = None,
    seasonality: Annotated[
        float, typer.Option(help="Seasonality strength (0 = flat year, 1 = default).")
    ] = 1.0,
    churn: Annotated[float, typer.Option(help="Churn strength (0 = nobody drops out).")] = 1.0,
    products: Annotated[int, typer.Option(help="Number of products in the catalog.")] = 1000,
    promo_intensity: Annotated[
        float, typer.Option(help="Promo campaign intensity (0 = no promos, 1 = default).")
    ] = 1.0,
    cancel_rate: Annotated[float, typer.Option(help="Share of orders cancelled.")] = 0.03,
    return_rate: Annotated[float, typer.Option(help="Share of orders returned.")] = 0.05,
    events: Annotated[
        bool, typer.Option("--events/--no-events", help="Simulate clickstream events.")
    ] = True,
    event_days: Annotated[
        int | None,
        typer.Option(help="Clickstream for the last N days only (0 = the whole period)."),
    ] = 30,
    currency: Annotated[str | None, typer.Option(help="Reporting currency [setting].")] = None,
    store_path: StoreOpt = None,
    timezone: TzOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing store.")] = False,
    as_json: JsonOpt = False,
    fmt: Annotated[
        OutFormat,
        typer.Option("--format", help="duckdb: a store; parquet: a dataset folder (--out)."),
    ] = OutFormat.duckdb,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="--format parquet: the dataset folder.")
    ] = None,
) -> None:
    """Simulate a shop (customers, catalog, orders, clickstream, ground truth) into a new store."""
    settings = _settings(store=store_path, timezone=timezone, currency=currency)
    try:
        params = generate.SimulationParams(
            customers=customers,
            days=days,
            seed=seed,
            timezone=settings.timezone,
            currency=settings.currency,
            seasonality=seasonality,
            churn=churn,
            products=products,
            promo_intensity=promo_intensity,
            cancel_rate=cancel_rate,
            return_rate=return_rate,
            events=events,
            event_days=event_days or None,
            country_weights=generate.parse_country_weights(countries) if countries else None,
            **_end_date(end),
        )
    except InvalidParameterError as exc:
        raise InvalidParameterError(option_names(str(exc), _GENERATE_OPTIONS)) from None
    target = str(settings.store)
    if fmt is OutFormat.parquet:
        if out_dir is None:
            raise InvalidParameterError("--format parquet needs --out DIR")
        target = str(out_dir)
    elif out_dir is not None:
        raise InvalidParameterError("--out is for --format parquet (a store is --store)")
    t0 = time.perf_counter()
    with _progress(quiet=as_json) as on_progress:
        if out_dir is not None:
            summary = generate.generate_parquet(out_dir, params, on_progress, force=force)
        else:
            summary = store_new(settings.store, params, on_progress, force)
    elapsed = time.perf_counter() - t0
    rows = dict(summary.rows)
    if as_json:
        fields = {"store": target, "seed": seed, "seconds": round(elapsed, 2)}
        out.print_json(output.json_document("generate", {**fields, "tables": rows}))
        return
    lines = rows.get("order_items", 0)
    out.print(
        f"[bold]{escape(target)}[/]: simulated {_plural(customers, 'customer')}"
        f" over {_plural(days, 'day')} in {elapsed:.1f} s"
        f" ({lines / max(elapsed, 1e-9):,.0f} order lines/s)"
    )
    out.print(output.rich_table(output.counts_table(rows), title="Rows written"))


def store_new(
    path: Path, params: generate.SimulationParams, on_progress: Any, force: bool
) -> generate.GenerationSummary:
    result: list[generate.GenerationSummary] = []

    def build(con: duckdb.DuckDBPyConnection) -> None:
        result.append(generate.generate_into(con, params, on_progress=on_progress))
        store.write_meta(con, timezone=params.timezone, currency=params.currency)

    store.write_new_store(path, build, overwrite=force)
    return result[0]


def _end_date(end: date | None) -> dict[str, Any]:
    return {"end_date": end} if end else {}


# SimulationParams fields -> the options that set them: errors name what the user typed
_GENERATE_OPTIONS = {
    "seed": "--seed",
    "end_date": "--end",
    "country_weights": "--country-weights",
    "event_days": "--event-days",
    "promo_intensity": "--promo-intensity",
    "cancel_rate": "--cancel-rate",
    "return_rate": "--return-rate",
    "customers": "--customers",
    "days": "--days",
    "products": "--products",
    "seasonality": "--seasonality",
    "churn": "--churn",
    "currency": "--currency",
}


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


# --- import / export / quality ---------------------------------------------------------


def import_cmd(
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help="CSV, Parquet, Excel or JSON-lines file, or mongodb://HOST:PORT/DATABASE.",
        ),
    ],
    preset: Annotated[
        str | None,
        typer.Option(help="Built-in mapping: " + ", ".join(_ingest_presets()) + "."),
    ] = None,
    mapping_file: Annotated[
        Path | None, typer.Option("--mapping", help="Mapping file (TOML).")
    ] = None,
    infer: Annotated[
        bool, typer.Option("--infer", help="Print a proposed mapping (TOML); import nothing.")
    ] = False,
    sheet: Annotated[str | None, typer.Option(help="Excel: import only this sheet.")] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text files: encoding [default: detected].")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="Text files: delimiter [default: detected].")
    ] = None,
    source_timezone: Annotated[
        str | None,
        typer.Option(
            "--source-timezone",
            metavar="ZONE",
            help="Time zone of source timestamps without an offset [default: the mapping's,"
            " else the shop's].",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            "--tz",
            metavar="ZONE",
            help="The shop's time zone, recorded in the store [default: the store's, else"
            " setting: timezone].",
        ),
    ] = None,
    max_bad_share: Annotated[
        float | None,
        typer.Option(help="Fail if more than this share of rows is unusable [default: 0.01]."),
    ] = None,
    currency: Annotated[
        str | None,
        typer.Option(
            "--currency",
            help="The import's currency (e.g. EUR): orders in other currencies are left out"
            " (counted), or converted with --fx-rates.",
        ),
    ] = None,
    fx_rates: Annotated[
        Path | None,
        typer.Option(
            "--fx-rates",
            help="CSV currency,rate_to_reporting: convert orders in other currencies to"
            " --currency (default: the store's).",
        ),
    ] = None,
    unknown_status: Annotated[
        str | None,
        typer.Option(
            "--unknown-status",
            help="Count orders whose status value the mapping does not know as completed,"
            " cancelled or returned [default: refuse the import].",
        ),
    ] = None,
    merge_customers: Annotated[
        bool,
        typer.Option(
            "--merge-customers",
            help="Merge customers whose id is already in the store even when most of them"
            " differ in country, name or email (another shop's data).",
        ),
    ] = False,
    store_path: StoreOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="MongoDB: replace an existing store.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import a file into the store (created if missing) and print its quality report.

    From MongoDB (customers, products, orders with embedded items), the store is built
    anew from the database's collections (--force to replace an existing one).
    """
    from shoplens import ingest

    if source.startswith(("mongodb://", "mongodb+srv://")):
        _import_mongodb(source, _settings(store=store_path), force=force, as_json=as_json)
        return
    file = Path(source)

    if preset is not None and mapping_file is not None:
        raise InvalidParameterError("choose one of --preset and --mapping")
    if max_bad_share is not None and not 0 <= max_bad_share <= 1:
        raise InvalidParameterError("--max-bad-share must be between 0 and 1")
    for zone in (timezone, source_timezone):
        if zone is not None:
            store.db.check_timezone(zone)
    if infer:
        out.print(_infer_toml(file, sheet, encoding, delimiter), markup=False, highlight=False)
        return
    mapping: ingest.Mapping | None = None  # None: the olist preset (a directory)
    if preset == ingest.OLIST_PRESET:
        pass
    elif preset is not None:
        if preset not in ingest.PRESETS:
            raise InvalidParameterError(
                f"unknown preset {preset!r} (choose from {', '.join(ingest.PRESET_NAMES)})"
            )
        mapping = ingest.PRESETS[preset]
    elif mapping_file is not None:
        mapping = ingest.load_mapping(mapping_file)
    else:
        raise InvalidParameterError(
            "say how to read the file: --preset "
            + "|".join(ingest.PRESET_NAMES)
            + ", --mapping FILE.toml, or --infer to propose a mapping"
        )
    settings = _settings(store=store_path)
    shop = store.shop_meta(settings.store)  # option > the store's > settings
    options = ingest.ImportOptions(
        sheet=sheet,
        encoding=encoding,
        delimiter=delimiter,
        timezone=source_timezone,
        currency=shop.currency or settings.currency,
        max_bad_share=max_bad_share,
        shop_timezone=timezone or shop.timezone or settings.timezone,
        keep_currency=currency,
        unknown_status=_unknown_status(unknown_status),
        merge_customers=merge_customers,
        fx_rates=None if fx_rates is None else ingest.load_fx_rates(fx_rates),
    )
    t0 = time.perf_counter()
    with _progress(quiet=as_json) as on_progress:
        if mapping is None:
            reports = ingest.import_olist(file, settings.store, options, on_progress=on_progress)
        else:
            reports = ingest.import_file(
                file, settings.store, mapping, options, on_progress=on_progress
            )
    elapsed = time.perf_counter() - t0
    if as_json:
        out.print_json(ingest.report_json(reports))
        return
    lines = sum(r.lines for r in reports)
    out.print(
        f"[bold]{escape(str(settings.store))}[/]: imported {lines:,} order lines from"
        f" {escape(file.name)}"
        f" in {elapsed:.1f} s"
    )
    _print_reports(reports)


def _unknown_status(value: str | None) -> Any:
    choices = ("completed", "cancelled", "returned")
    if value is not None and value not in choices:
        raise InvalidParameterError(
            f"--unknown-status must be one of {', '.join(choices)}, not {value!r}"
        )
    return value


def _import_mongodb(uri: str, settings: Settings, *, force: bool, as_json: bool) -> None:
    from shoplens.ingest import mongo

    t0 = time.perf_counter()
    with _progress(quiet=as_json) as on_progress:
        rows = mongo.import_into_store(
            settings.store, uri, overwrite=force, on_progress=on_progress
        )
    elapsed = time.perf_counter() - t0
    if as_json:
        fields = {"store": str(settings.store), "source": mongo.redact(uri), "tables": rows}
        out.print_json(output.json_document("import", fields))
        return
    out.print(
        f"[bold]{escape(str(settings.store))}[/]: imported from {escape(mongo.redact(uri))}"
        f" in {elapsed:.1f} s",
        highlight=False,
    )
    out.print(output.rich_table(output.counts_table(rows), title="Rows imported"))


def export_cmd(
    uri: Annotated[
        str,
        typer.Argument(
            metavar="TARGET", help="mongodb://HOST:PORT/DATABASE, or 'parquet' (with --out)."
        ),
    ],
    store_path: StoreOpt = None,
    as_json: JsonOpt = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="parquet: the dataset folder to write.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="parquet: replace an existing folder.")
    ] = False,
) -> None:
    """Export to MongoDB (orders with items embedded, idempotent) or to a Parquet dataset
    (a folder per canonical table, partitioned by month; what --source reads)."""
    from shoplens.ingest import mongo

    if uri == "parquet":
        _export_parquet(_settings(store=store_path), out_dir, force=force, as_json=as_json)
        return
    if out_dir is not None:
        raise InvalidParameterError("--out is for 'export parquet'")
    if not uri.startswith(("mongodb://", "mongodb+srv://")):
        raise InvalidParameterError(f"expected a mongodb:// URI, got {uri!r}")
    settings = _settings(store=store_path)
    t0 = time.perf_counter()
    with (
        _open(settings, write=False, needs_orders="to export") as con,
        _progress(quiet=as_json) as on_progress,
    ):
        counts = mongo.export_to_mongodb(con, uri, on_progress=on_progress)
    elapsed = time.perf_counter() - t0
    if as_json:
        fields = {"store": str(settings.store), "target": mongo.redact(uri), "documents": counts}
        out.print_json(output.json_document("export", fields))
        return
    out.print(
        f"[bold]{escape(str(settings.store))}[/]: exported to {escape(mongo.redact(uri))}"
        f" in {elapsed:.1f} s",
        highlight=False,
    )
    out.print(output.rich_table(output.counts_table(counts), title="Documents written"))


def _export_parquet(
    settings: Settings, out_dir: Path | None, *, force: bool, as_json: bool
) -> None:
    from shoplens.engines.writer import export_store

    if out_dir is None:
        raise InvalidParameterError("export parquet needs --out DIR")
    t0 = time.perf_counter()
    with _open(settings, write=False, needs_orders="to export") as con:
        counts = export_store(con, out_dir, force=force)
    elapsed = time.perf_counter() - t0
    if as_json:
        fields = {"store": str(settings.store), "target": str(out_dir), "rows": counts}
        out.print_json(output.json_document("export", fields))
        return
    out.print(
        f"[bold]{escape(str(settings.store))}[/]: exported to {escape(str(out_dir))}"
        f" in {elapsed:.1f} s",
        highlight=False,
    )
    out.print(output.rich_table(output.counts_table(counts), title="Rows written"))


def _ingest_presets() -> list[str]:
    from shoplens.ingest import PRESET_NAMES

    return list(PRESET_NAMES)


def _infer_toml(file: Path, sheet: str | None, encoding: str | None, delim: str | None) -> str:
    from shoplens import ingest
    from shoplens.ingest.readers import read_raw

    con = duckdb.connect()
    try:
        raws = read_raw(con, file, sheet=sheet, encoding=encoding, delimiter=delim)
        return "\n".join(ingest.mapping_toml(ingest.infer_mapping(con, raw)) for raw in raws[:1])
    finally:
        con.close()


def _print_reports(reports: list[Any]) -> None:
    from shoplens.ingest.quality import COUNT_DEFINITIONS

    for rep in reports:
        counts = rep.counts()
        out.print(
            output.key_value_table(
                ((name, counts[name], meaning) for name, meaning in COUNT_DEFINITIONS.items()),
                title=f"Import {rep.run_id}: {rep.source} ({rep.mapping}; dates {rep.date_format})",
                name_header="count",
            )
        )
        if rep.findings:
            out.print(
                output.rich_table(
                    rep.findings_table(), title="Findings (examples, up to 5 per kind)"
                )
            )


def quality_cmd(
    store_path: StoreOpt = None,
    last: Annotated[int, typer.Option(help="Show the last N imports.", min=1)] = 1,
    as_json: JsonOpt = False,
) -> None:
    """The data-quality report of the last import(s)."""
    from shoplens import ingest

    settings = _settings(store=store_path)
    with _open(settings, write=False) as con:
        reports = ingest.read_reports(con, last)
    if as_json:
        out.print_json(ingest.report_json(reports))
    elif not reports:
        out.print("No imports in this store yet: run 'shoplens import'.")
    else:
        _print_reports(reports)
