"""Bring your own data: readers, column mappings and presets, cleaning, quality report, load.

Public API (the MongoDB import/export lives in :mod:`shoplens.ingest.mongo`, imported
on demand because it needs pymongo):

- :class:`Mapping`, :func:`load_mapping`, :data:`PRESETS` -- which column is what;
- :func:`infer_mapping`, :func:`mapping_toml` -- propose a mapping for a file;
- :func:`clean_raw` -- a staged source + mapping -> staged canonical tables + report;
- :func:`import_file`, :func:`import_into`, :class:`ImportOptions` -- atomic load;
- :func:`import_olist` -- the ``olist`` preset: a directory of Olist CSV files;
- :func:`load_fx_rates`, :class:`FxRates` -- a currency conversion table (``--fx-rates``);
- :class:`QualityReport`, :func:`read_reports`, :func:`report_json` -- the report.
"""

from shoplens.ingest.clean import Staged, clean_raw
from shoplens.ingest.currency import FxRates, load_fx_rates
from shoplens.ingest.infer import infer_mapping, mapping_toml
from shoplens.ingest.load import ImportOptions, import_file, import_into
from shoplens.ingest.mapping import PRESETS, Mapping, load_mapping
from shoplens.ingest.olist import PRESET as OLIST_PRESET
from shoplens.ingest.olist import import_olist
from shoplens.ingest.quality import Finding, QualityReport, read_reports, report_json

PRESET_NAMES = (*PRESETS, OLIST_PRESET)
"""Every ``--preset``: the column mappings of :data:`PRESETS` and ``olist`` (a directory)."""

__all__ = [
    "OLIST_PRESET",
    "PRESETS",
    "PRESET_NAMES",
    "Finding",
    "FxRates",
    "ImportOptions",
    "Mapping",
    "QualityReport",
    "Staged",
    "clean_raw",
    "import_file",
    "import_into",
    "import_olist",
    "infer_mapping",
    "load_fx_rates",
    "load_mapping",
    "mapping_toml",
    "read_reports",
    "report_json",
]
