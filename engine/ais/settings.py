"""Derivation thresholds: settings (env ``SANCTIONS_AIS_*``) with documented defaults.

Sources of the defaults (docs/AIS.md says more):
- STS encounter: two vessels within 500 m, both under 2 knots, for at least 2 hours, at least
  10 km from a port: Global Fishing Watch's encounter definition (Miller et al. 2018,
  "Identifying Global Patterns of Transshipment Behavior", Frontiers in Marine Science 5:240),
  recalled from the paper, not re-read here.
- AIS gap: silence of 12 hours or more: the AIS-disabling threshold of Welch et al. 2022
  ("Hot spots of unseen fishing vessels", Science Advances 8), recalled likewise.
- Port call: inside a port geofence for at least 2 hours under 1 knot: an engineering default of
  this project (commercial providers do not publish theirs), to be tuned on real feeds.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AisSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SANCTIONS_AIS_", extra="ignore")

    sts_distance_m: float = Field(default=500.0, gt=0)
    sts_max_speed_kn: float = Field(default=2.0, ge=0)
    sts_min_duration_s: int = Field(default=2 * 3600, ge=0)
    sts_min_port_distance_m: float = Field(default=10_000.0, ge=0)
    gap_min_s: int = Field(default=12 * 3600, gt=0)
    port_min_dwell_s: int = Field(default=2 * 3600, ge=0)
    port_max_speed_kn: float = Field(default=1.0, ge=0)
    # Default radius of a port geofence built from a UN/LOCODE point alone.
    port_default_radius_m: float = Field(default=5_000.0, gt=0)
    # Bounded memory: the least recently heard vessels are dropped beyond this many.
    max_vessels: int = Field(default=200_000, gt=0)
    # Raw sentences kept in an event's provenance (the count is always complete).
    provenance_refs: int = Field(default=20, ge=1, le=200)
    source: str = Field(default="ais")
    # Partitions of the derivation (queues ais.0 .. ais.N-1 when > 1): docs/AIS.md.
    partitions: int = Field(default=1, ge=1, le=256)


@lru_cache(maxsize=1)
def get_ais_settings() -> AisSettings:
    return AisSettings()
