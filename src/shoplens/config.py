"""Frozen settings from ``SHOPLENS_*`` environment variables and ``shoplens.toml``.

Precedence (highest first): explicit CLI options, environment variables
(``SHOPLENS_TIMEZONE=Europe/Paris``, nested with ``__``:
``SHOPLENS_SEGMENTS__VIP_TOP_SHARE=0.1``), the TOML file (``./shoplens.toml`` or the file
named by ``SHOPLENS_CONFIG``), then the defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from shoplens.analytics.segments import SegmentRules
from shoplens.store.db import check_timezone

DEFAULT_CONFIG_FILE = "shoplens.toml"


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
        toml_file = Path(os.environ.get("SHOPLENS_CONFIG", DEFAULT_CONFIG_FILE))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )


def load_settings(**overrides: object) -> Settings:
    """Settings with ``overrides`` (e.g. CLI options; ``None`` values are ignored)."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
