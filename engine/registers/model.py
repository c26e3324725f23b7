"""An exemption or notification as officers record it (the boundary model of the registers).

The same model is the body of ``POST /api/v1/exemptions``, the CLI's input, the web form's result
and one entry of the YAML import format (``rules/exemptions.yaml``). Fields left empty constrain
nothing (an entry without ``destination`` does not check the destination); the fields given are
checked against every citing event (``engine.registers.checking``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.models.decisions import Citation
from engine.models.events import Country, Unit
from engine.rules.catalogue import REGIMES
from engine.rules.schema import Instant, end_utc, start_utc

KINDS = ("exemption", "notification")
STATES = ("pending", "approved", "revoked")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Basis(Citation):
    """The paragraph the Committee acted under, e.g. 2397 (2017) OP25: a Citation (one written
    form, ``citation_text``), keeping the register's own looser limits so that entries recorded
    before (any resolution text up to 50 characters) still load."""

    resolution: str = Field(min_length=1, max_length=50)  # "2397 (2017)"
    paragraph: str = Field(min_length=1, max_length=50)  # "25", "1(g)"


def _known(value: str | None) -> str | None:
    # Events may say ZZ (country unknown); a Committee decision names a real country.
    if value == "ZZ":
        raise ValueError("a register entry names a real country, not ZZ")
    return value


class Holder(_Model):
    """Who the exemption was granted to, or the State that notified."""

    name: str = Field(min_length=1, max_length=300)
    country: Country | None = None

    _country = field_validator("country")(_known)


class GoodsItem(_Model):
    """What the entry allows: HS prefixes and/or a description, optionally with a quantity."""

    hs: list[str] = Field(default_factory=list, max_length=50)  # HS prefixes, 2-10 digits
    description: str | None = Field(default=None, max_length=500)
    quantity: float | None = Field(default=None, gt=0)
    unit: Unit | None = None

    @field_validator("hs", mode="before")
    @classmethod
    def _hs(cls, value: Any) -> Any:
        if isinstance(value, str | int):
            value = [value]
        if not isinstance(value, list):
            return value
        out = []
        for v in value:
            text = re.sub(r"[\s.\-]", "", str(v))
            if not re.fullmatch(r"\d{2,10}", text):
                raise ValueError(f"HS prefix {v!r} must be 2 to 10 digits")
            out.append(text)
        return out

    @model_validator(mode="after")
    def _something(self) -> GoodsItem:
        if not self.hs and not self.description:
            raise ValueError("a goods item needs HS prefixes or a description")
        if (self.quantity is None) != (self.unit is None):
            raise ValueError("quantity and unit go together")
        return self

    def label(self) -> str:
        parts = [self.description or "", f"HS {', '.join(self.hs)}" if self.hs else ""]
        text = " ".join(p for p in parts if p)
        if self.quantity is not None and self.unit is not None:
            text += f", {self.quantity:g} {self.unit.value}"
        return text


class RegisterEntry(_Model):
    ref: str = Field(min_length=1, max_length=200)
    kind: Literal["exemption", "notification"]
    regime: str
    basis: Basis | None = None
    holder: Holder | None = None
    end_user: str | None = Field(default=None, max_length=300)
    goods: list[GoodsItem] = Field(default_factory=list, max_length=200)
    destination: Country | None = None
    valid_from: Instant
    valid_to: Instant | None = None
    covers: list[str] = Field(default_factory=list, max_length=200)  # rule ids; [] = the regime
    note: str | None = Field(default=None, max_length=5000)
    document: str | None = Field(default=None, max_length=1000)  # the Committee's letter / ref
    demo: bool = False  # an illustrative entry (demo data), never a Committee decision

    @field_validator("ref")
    @classmethod
    def _ref(cls, value: str) -> str:
        value = value.strip()
        if not value or any(ord(c) < 32 for c in value):
            raise ValueError("ref must be one non-empty line")
        return value

    _destination = field_validator("destination")(_known)

    @field_validator("regime")
    @classmethod
    def _regime(cls, value: str) -> str:
        if value not in REGIMES:
            raise ValueError(f"regime {value!r} is not one of {', '.join(REGIMES)}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, raw: Any) -> Any:
        """The YAML format before the registers moved to the store: ``parties`` and goods as
        plain strings (informational). Plain strings become goods descriptions."""
        if not isinstance(raw, dict):
            return raw
        raw = dict(raw)
        parties = raw.pop("parties", None)
        if parties and not raw.get("note"):
            raw["note"] = "; ".join(str(p) for p in parties)
        elif parties:
            raw["note"] = f"{raw['note']} Parties: {'; '.join(str(p) for p in parties)}."
        goods = raw.get("goods")
        if isinstance(goods, list):
            raw["goods"] = [{"description": g} if isinstance(g, str) else g for g in goods]
        return raw

    @model_validator(mode="after")
    def _dates(self) -> RegisterEntry:
        if self.valid_to is not None and end_utc(self.valid_to) <= start_utc(self.valid_from):
            raise ValueError("valid_to must be after valid_from")
        return self

    def in_force(self, at: datetime) -> str:
        """``valid`` by dates, or ``not_yet_valid`` / ``expired``."""
        if at < start_utc(self.valid_from):
            return "not_yet_valid"
        if self.valid_to is not None and at >= end_utc(self.valid_to):
            return "expired"
        return "valid"


def instant_text(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()
