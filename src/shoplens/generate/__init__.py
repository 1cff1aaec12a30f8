"""The shop simulator: a behavioural model of customers, catalog, orders and events.

Public API: :class:`SimulationParams`, :func:`simulate` (in memory) and
:func:`generate_into` (into a store connection), :func:`generate_store` (into a new
store file), :class:`GenerationSummary`, and
:func:`parse_country_weights` for command-line options.
"""

from shoplens.generate.params import (
    DEFAULT_COUNTRY_WEIGHTS,
    GenerationSummary,
    SimulationParams,
    parse_country_weights,
)
from shoplens.generate.parquet import generate_parquet
from shoplens.generate.simulator import generate_into, generate_tables, simulate
from shoplens.generate.store import generate_store

__all__ = [
    "DEFAULT_COUNTRY_WEIGHTS",
    "GenerationSummary",
    "SimulationParams",
    "generate_into",
    "generate_parquet",
    "generate_store",
    "generate_tables",
    "parse_country_weights",
    "simulate",
]
