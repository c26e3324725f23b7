"""The designated-vessel register (rules/vessels/designated-vessels.yaml): UN-designated hulls,
each with its designation episode's dates, so that screening respects them.

An entry is in force on day D when ``designated_on <= D`` and it was not removed before D:
``removed_on`` is the first day it no longer applies (removal, or the end of a time-limited 2146
designation). When only a window for the removal is known (``removed_between: [first, last]``),
the vessel is flagged before the window, kept at lower confidence inside it, and clear after.
An entry without a designation date is recorded but never screened (its dates are unknown).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, field_validator

from engine.models.events import imo_check_digit_ok

# Sanctions committee whose list holds a regime's vessels: the register's reference prefix.
COMMITTEE = {"DPRK": "1718", "Libya": "1970"}


class VesselChange(BaseModel):
    """One line of an entry's history: designated, amended, removed, or listed (list date)."""

    day: date | None = None
    between: list[date] | None = None  # when only a window is known
    change: Literal["designated", "amended", "removed", "list_date"]
    basis: str


class VesselStanding(BaseModel):
    status: Literal["listed", "removal_window"]
    window: list[date] | None = None
    note: str


class DesignatedVessel(BaseModel):
    name: str
    imo: str | None = None
    former_names: list[str] = Field(default_factory=list)
    flag: str | None = None
    regime: str | None = None  # None: the register's
    designated_on: date | None
    removed_on: date | None = None  # first day no longer designated
    removed_between: list[date] | None = None  # [first, last] day the removal may lie on
    removal_basis: str | None = None
    legal_basis: list[str]
    effect: str
    source: str
    confidence: Literal["V", "R", "U"] | None = None  # V: read in a UN document
    unverified: list[str] = Field(default_factory=list)
    history: list[VesselChange] = Field(default_factory=list)

    @field_validator("imo", mode="before")
    @classmethod
    def _imo(cls, v: object) -> object:
        if v is None:
            return None
        v = str(v).strip()
        if not imo_check_digit_ok(v):
            raise ValueError(f"IMO {v} fails its check digit")
        return v

    @field_validator("removed_between")
    @classmethod
    def _window(cls, v: list[date] | None) -> list[date] | None:
        if v is not None and (len(v) != 2 or v[0] > v[1]):
            raise ValueError("removed_between is [first day, last day]")
        return v

    @property
    def reference(self) -> str:
        """Stable key of the register entry: IMO-based where the IMO is known."""
        prefix = COMMITTEE.get(self.regime or "DPRK", "UN") + "-VSL-"
        if self.imo:
            return f"{prefix}IMO{self.imo}"
        return prefix + re.sub(r"[^A-Z0-9]+", "-", self.name.upper()).strip("-")

    def standing(self, day: date) -> VesselStanding | None:
        """Designated on ``day`` (possibly, inside a removal window), or None."""
        if self.designated_on is None or day < self.designated_on:
            return None
        if self.removed_on is not None and day >= self.removed_on:
            return None
        if self.removed_between is not None:
            first, last = self.removed_between
            if day > last:
                return None
            if day >= first:
                return VesselStanding(
                    status="removal_window",
                    window=[first, last],
                    note=(
                        f"removal known only to lie between {first} and {last}"
                        + (f" ({self.removal_basis})" if self.removal_basis else "")
                        + f"; possibly still designated on {day}"
                    ),
                )
        until = f", until {self.removed_on}" if self.removed_on else ""
        return VesselStanding(status="listed", note=f"designated {self.designated_on}{until}")


class VesselRegister(BaseModel):
    version: str  # sha256 of the file: what hits cite as their list_version
    regime: str
    vessels: list[DesignatedVessel]


def load_register(path: Path) -> VesselRegister:
    return parse_register(path.read_bytes())


def parse_register(data: bytes | str) -> VesselRegister:
    """The register from its file's exact bytes (also as stored in a rule pack, for replays)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    # libyaml when available: the register is ~2,400 lines, parsed by every worker at start
    doc = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return VesselRegister(
        version=hashlib.sha256(data).hexdigest(),
        regime=doc["regime"],
        vessels=[DesignatedVessel.model_validate(v) for v in doc["vessels"]],
    )
