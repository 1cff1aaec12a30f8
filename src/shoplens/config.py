"""Frozen settings from ``SHOPLENS_*`` environment variables and ``shoplens.toml``.

Precedence (highest first): explicit CLI options, environment variables
(``SHOPLENS_TIMEZONE=Europe/Paris``, nested with ``__``:
``SHOPLENS_SEGMENTS__VIP_TOP_SHARE=0.1``), the TOML file (``./shoplens.toml`` or the file
named by ``SHOPLENS_CONFIG``), then the defaults below. ``./shoplens.toml`` is optional;
a file named by ``SHOPLENS_CONFIG`` must exist. A file that is not valid UTF-8 TOML is a
:class:`~shoplens.errors.ConfigError` naming it.

For a store's time zone and currency, the value the store recorded (at ``generate`` or
its first ``import``) comes before the environment and the TOML file: see
:func:`shoplens.store.shop_meta`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from shoplens.analytics.segments import SegmentRules
from shoplens.errors import ConfigError
from shoplens.store.db import check_timezone

DEFAULT_CONFIG_FILE = "shoplens.toml"


class KafkaSettings(BaseModel):
    """Where the live shop streams (``[kafka]`` in the TOML file, ``SHOPLENS_KAFKA__*``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bootstrap: str = "127.0.0.1:9092"
    orders_topic: str = "shop.orders"
    """One message per order with its lines (the older name ``ecommerce_transactions``
    works too)."""
    events_topic: str = "shop.events"
    dead_letter_topic: str = "shop.dead_letter"
    consumer_group: str = "shoplens-processor"
    partitions: int = Field(default=3, ge=1, le=256)
    """Partitions of the topics the producer creates."""
    connect_attempts: int = Field(default=5, ge=1, le=100)
    """Tries to reach the broker at start (backoff 0.5 s, doubling) before giving up."""


class ModelSettings(BaseModel):
    """Settings of ``score`` (``[models]`` in the TOML file)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    annual_discount_rate: float = Field(default=0.10, ge=0, lt=1)
    """Discount of future revenue in the predicted CLV, per year."""
    churn_medium: float = Field(default=0.4, gt=0, lt=1)
    """Churn probability from which a customer's churn risk is 'medium'."""
    churn_high: float = Field(default=0.7, gt=0, lt=1)
    """Churn probability from which a customer's churn risk is 'high'."""

    @model_validator(mode="after")
    def _ordered(self) -> ModelSettings:
        if self.churn_medium >= self.churn_high:
            raise ValueError("churn_medium must be below churn_high")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SHOPLENS_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    store: Path = Path("shoplens.duckdb")
    """The DuckDB store file."""
    timezone: str = "UTC"
    """The shop's IANA time zone: hours, weekdays, days, months and cohorts use it."""
    currency: str = "EUR"
    """The reporting currency of the store."""
    segments: SegmentRules = SegmentRules()
    """Rules of the behavioural segments (``[segments]`` in the TOML file)."""
    models: ModelSettings = ModelSettings()
    """Discount rate and churn-risk thresholds of ``score`` (``[models]``)."""
    kafka: KafkaSettings = KafkaSettings()
    """Kafka broker and topics of the live shop (``[kafka]`` in the TOML file)."""

    @field_validator("timezone")
    @classmethod
    def _valid_tz(cls, v: str) -> str:
        return check_timezone(v)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = config_file()
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )


def config_file() -> Path:
    """The TOML settings file: ``SHOPLENS_CONFIG`` (which must exist) or ``./shoplens.toml``."""
    named = os.environ.get("SHOPLENS_CONFIG")
    if not named:
        return Path(DEFAULT_CONFIG_FILE)
    path = Path(named)
    if path.is_dir():
        raise ConfigError(f"settings file {path} (SHOPLENS_CONFIG) is a directory, not a file")
    if not path.exists():
        raise ConfigError(f"settings file {path} (SHOPLENS_CONFIG) not found")
    return path


def load_settings(**overrides: object) -> Settings:
    """Settings with ``overrides`` (e.g. CLI options; ``None`` values are ignored)."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"settings file {config_file()} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"settings file {config_file()} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from None
    except PermissionError:
        raise ConfigError(
            f"settings file {config_file()} cannot be read (permission denied)"
        ) from None
