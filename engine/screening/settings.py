"""Screening settings (environment): alert thresholds, retro-screening window, vessel register."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.config import PROJECT_ROOT


class ScreeningSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    # A name score at or above the threshold is an alert; below it the party is clear.
    # Chosen with bench/screening.py (precision/recall over real list names and look-alikes).
    threshold: float = Field(default=0.88, ge=0.5, le=1.0, alias="SANCTIONS_SCREENING_THRESHOLD")
    # Per-regime overrides, e.g. SANCTIONS_SCREENING_THRESHOLDS='{"DPRK": 0.85}'.
    regime_thresholds: dict[str, float] = Field(
        default_factory=dict, alias="SANCTIONS_SCREENING_THRESHOLDS"
    )
    # New designations are checked against stored events of this many months before the import.
    retro_months: int = Field(default=12, ge=0, alias="SANCTIONS_RETRO_SCREEN_MONTHS")
    vessel_register: Path = Field(
        default=PROJECT_ROOT / "rules" / "vessels" / "designated-vessels.yaml",
        alias="SANCTIONS_VESSEL_REGISTER",
    )
    # How often (seconds) a long-lived process checks the database for a newly imported snapshot.
    refresh_seconds: float = Field(default=30.0, ge=0, alias="SANCTIONS_SCREENING_REFRESH_SECONDS")

    def threshold_for(self, regime: str) -> float:
        return self.regime_thresholds.get(regime, self.threshold)


@lru_cache(maxsize=1)
def get_screening_settings() -> ScreeningSettings:
    return ScreeningSettings()
