"""Models saved in the store: skops bytes plus metadata, loaded only from reviewed types.

Table ``shoplens_models`` (one row per model name, replaced by each ``train``): name,
trained_at, the estimator serialised with ``skops.io.dumps``, and a metadata JSON
(training window, feature list, metrics, shoplens version, seed, schema
fingerprint). ``model_evaluation`` gets one row per ``train`` run (CONTRACTS.md). Both
are written in one transaction, with their entries in ``shoplens_results``: a failed
``train`` leaves the previous models and evaluations as they were.

Loading never uses ``trusted=True`` (refused since CVE-2024-37065): the types in the
bytes (``skops.io.get_untrusted_types``) must all be in :data:`TRUSTED_TYPES`, the
reviewed list of the classes our models are made of (scikit-learn estimators and their
fitted parts, numpy, shoplens' own estimators); anything else is refused with a
one-line error.

Schema fingerprint
    A hash of the canonical tables present and their columns and types. ``score``
    refuses a model trained on a store whose fingerprint differs (e.g. trained with
    events or demographics that the store no longer has, or on different columns).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import duckdb

import shoplens
from shoplens.errors import ModelError
from shoplens.schema import CANONICAL
from shoplens.store.results import RESULTS_TABLE


def _skops() -> Any:
    """skops.io, imported on first use: it takes ~1.4 s (scikit-learn included), which
    every ``shoplens`` command would otherwise pay at start-up."""
    import skops.io

    return skops.io


MODELS_TABLE = "shoplens_models"
EVALUATION_TABLE = "model_evaluation"

# Reviewed: every type below is a plain data holder or a scikit-learn / shoplens
# estimator whose state is arrays and numbers; none runs code on load.
TRUSTED_TYPES: tuple[str, ...] = (
    # HistGradientBoosting keeps partial(check_array, ...) for categorical input:
    # a reference to that one library function with fixed keyword arguments
    "functools.partial",
    "sklearn.utils.validation.check_array",
    "builtins.bool",
    "builtins.float",
    "builtins.int",
    "builtins.slice",
    "builtins.tuple",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "numpy.ndarray",
    "collections.OrderedDict",
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "sklearn._loss._loss.CyHalfMultinomialLoss",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.compose._column_transformer._RemainderColsList",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._encoders.OrdinalEncoder",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._tree.Tree",
    "sklearn.utils._bunch.Bunch",
    "sklearn.linear_model._logistic.LogisticRegression",
    "shoplens.models.bgnbd.BetaGeoNBD",
    "shoplens.models.churn.ChurnClassifier",
    "shoplens.models.gamma_gamma.GammaGamma",
    "shoplens.models.next_category.NextCategoryClassifier",
)


def schema_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """sha256 (16 hex) of the canonical tables present with their columns and types."""
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns()"
        " WHERE database_name = current_database() AND schema_name = 'main'"
        " AND table_name IN (SELECT unnest($names)) ORDER BY table_name, column_index",
        {"names": list(CANONICAL)},
    ).fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {MODELS_TABLE} (name VARCHAR PRIMARY KEY,"
        " trained_at TIMESTAMPTZ NOT NULL, model BLOB NOT NULL, metadata VARCHAR NOT NULL)"
    )
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {EVALUATION_TABLE} (trained_at TIMESTAMPTZ NOT NULL,"
        " cutoff DATE NOT NULL, horizon_days INTEGER NOT NULL, evaluation VARCHAR NOT NULL)"
    )
    # the same bookkeeping table store.results.write_result keeps
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {RESULTS_TABLE} ("
        " name VARCHAR PRIMARY KEY, computed_at TIMESTAMPTZ NOT NULL,"
        " rows BIGINT NOT NULL, params VARCHAR NOT NULL)"
    )


def save_training(
    con: duckdb.DuckDBPyConnection,
    *,
    trained_at: datetime,
    evaluation: dict[str, Any],
    models: dict[str, tuple[Any, dict[str, Any]]],
    params: dict[str, Any],
) -> None:
    """Write the evaluation row and replace the models, in one transaction."""
    fingerprint = schema_fingerprint(con)
    blobs = [
        (
            name,
            _skops().dumps(est),
            json.dumps(
                {
                    **meta,
                    "shoplens_version": shoplens.__version__,
                    "schema_fingerprint": fingerprint,
                    "trained_at": trained_at.isoformat(),
                },
                default=str,
                sort_keys=True,
            ),
        )
        for name, (est, meta) in models.items()
    ]
    doc = json.dumps(evaluation, default=str)
    con.execute("BEGIN TRANSACTION")
    try:
        _ensure_tables(con)
        con.execute(
            f"INSERT INTO {EVALUATION_TABLE} VALUES (?, ?, ?, ?)",
            [trained_at, evaluation["cutoff"], evaluation["horizon_days"], doc],
        )
        if models:
            con.execute(f"DELETE FROM {MODELS_TABLE}")
        for name, blob, meta in blobs:
            con.execute(
                f"INSERT INTO {MODELS_TABLE} VALUES (?, ?, ?, ?)", [name, trained_at, blob, meta]
            )
        for table in (EVALUATION_TABLE, MODELS_TABLE):
            ((n,),) = con.execute(f"SELECT count(*) FROM {table}").fetchall()
            con.execute(
                f"INSERT OR REPLACE INTO {RESULTS_TABLE} VALUES (?, ?, ?, ?)",
                [table, trained_at, n, json.dumps(params, default=str, sort_keys=True)],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    ((n,),) = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"
        " AND schema_name = 'main' AND table_name = ?",
        [name],
    ).fetchall()
    return bool(n)


def load_evaluation(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The latest ``train`` evaluation document, or None if nothing was trained."""
    if not _table_exists(con, EVALUATION_TABLE):
        return None
    rows = con.execute(
        f"SELECT evaluation FROM {EVALUATION_TABLE} ORDER BY trained_at DESC LIMIT 1"
    ).fetchall()
    return json.loads(rows[0][0]) if rows else None


def safe_loads(blob: bytes, *, name: str) -> Any:
    """Load skops bytes whose types are all reviewed; ModelError otherwise."""
    sio = _skops()
    untrusted = sio.get_untrusted_types(data=blob)
    unknown = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if unknown:
        raise ModelError(
            f"model {name!r} in the store contains types that are not on the reviewed list"
            f" ({', '.join(unknown[:3])}{'...' if len(unknown) > 3 else ''}); retrain it"
        )
    return sio.loads(blob, trusted=[t for t in untrusted if t in TRUSTED_TYPES])


def load_models(
    con: duckdb.DuckDBPyConnection, *, check_schema: bool = True
) -> dict[str, tuple[Any, dict[str, Any]]]:
    """name -> (estimator, metadata) of the saved models; ModelError if none or incompatible."""
    if not _table_exists(con, MODELS_TABLE):
        raise ModelError("no trained models in the store: run 'shoplens train' first")
    rows = con.execute(f"SELECT name, model, metadata FROM {MODELS_TABLE}").fetchall()
    if not rows:
        raise ModelError("no trained models in the store: run 'shoplens train' first")
    fingerprint = schema_fingerprint(con)
    out: dict[str, tuple[Any, dict[str, Any]]] = {}
    for name, blob, meta_text in rows:
        meta = json.loads(meta_text)
        if check_schema and meta.get("schema_fingerprint") != fingerprint:
            raise ModelError(
                f"the {name} model was trained on a store with a different schema"
                f" (fingerprint {meta.get('schema_fingerprint')}, now {fingerprint});"
                " run 'shoplens train' again"
            )
        out[name] = (safe_loads(bytes(blob), name=name), meta)
    return out
