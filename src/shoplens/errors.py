"""User-facing errors.

Everything a user can cause (bad options, a missing or corrupt store, a store without
the tables a command needs) raises a :class:`ShoplensError`. The CLI prints its message
on one line and exits non-zero; anything else is a bug and keeps its traceback.
"""


class ShoplensError(Exception):
    """An error caused by input or environment, with a message meant for the user."""


class StoreError(ShoplensError):
    """The store file is missing, corrupt, locked or lacks a required table."""


class ConfigError(ShoplensError):
    """The settings file cannot be read (missing, not a file, not UTF-8 TOML)."""


class InvalidParameterError(ShoplensError, ValueError):
    """An option or parameter is out of range or malformed."""


class InputError(ShoplensError):
    """A source file or mapping cannot be imported: names the file, row and column."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        where = ", ".join(
            part
            for part in (
                source,
                f"row {row}" if row is not None else None,
                f"column {column!r}" if column is not None else None,
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.row = row
        self.column = column


class ModelError(ShoplensError):
    """A model cannot be trained, evaluated or applied on this data (says what is missing)."""


class StreamError(ShoplensError):
    """The event stream cannot be produced or processed (broker, topics, messages)."""


class EngineError(ShoplensError):
    """A query engine (DuckDB on Parquet, Spark) cannot be started or cannot read the source."""
