"""The 1718 designated-vessel register (rules/vessels/designated-vessels.yaml)."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, field_validator

from engine.models.events import imo_check_digit_ok


class DesignatedVessel(BaseModel):
    name: str
    imo: str | None = None
    flag: str | None = None
    designated_on: date
    legal_basis: list[str]
    effect: str
    source: str
    unverified: list[str] = Field(default_factory=list)

    @field_validator("imo", mode="before")
    @classmethod
    def _imo(cls, v: object) -> object:
        if v is None:
            return None
        v = str(v).strip()
        if not imo_check_digit_ok(v):
            raise ValueError(f"IMO {v} fails its check digit")
        return v

    @property
    def reference(self) -> str:
        """Stable key of the register entry: IMO-based where the IMO is known."""
        if self.imo:
            return f"1718-VSL-IMO{self.imo}"
        return "1718-VSL-" + re.sub(r"[^A-Z0-9]+", "-", self.name.upper()).strip("-")


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
    doc = yaml.safe_load(data)
    return VesselRegister(
        version=hashlib.sha256(data).hexdigest(),
        regime=doc["regime"],
        vessels=[DesignatedVessel.model_validate(v) for v in doc["vessels"]],
    )
