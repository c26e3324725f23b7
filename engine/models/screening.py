"""What screening found: a party, vessel or entity that matches a designation."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel


class NamePartAlignment(BaseModel):
    """One part of a name match: which query word(s) met which listed word(s), and how."""

    query: str  # "" when a listed part has no counterpart in the query
    listed: str  # "" when a query part has no counterpart in the listed name
    score: float
    how: str  # same | spelling | joined/split | name symbol | fuzzy | not in listed name | not in query


class ScreeningHit(BaseModel):
    path: str  # where in the event, e.g. shipment.parties[2] or vessel_movement.counterpart_vessel
    role: str | None = None  # party role, or "vessel" / "counterpart_vessel" / "entity" / "owner"
    queried: str  # the name or identifier as the event gave it
    list_regime: str  # normalised regime key, e.g. DPRK, Iran, Libya (see rules/README.md)
    reference: str  # list reference number, e.g. KPe.047, or the vessel list's IMO-based key
    entry_name: str  # primary name of the list entry
    entry_kind: Literal["individual", "entity", "vessel"]
    matched: str  # which name/alias/identifier of the entry matched
    method: Literal[
        "imo", "bic", "lei", "passport", "registration_number", "name_exact", "name_fuzzy"
    ]
    score: float  # 0..1; identifiers are 1.0
    explanation: str  # readable: what matched what, and how
    list_version: str  # sha256 of the list snapshot (or vessel register) that held the entry
    designation_basis: list[str] = []  # for vessels: legal bases, e.g. ["2321 (2016) OP12(a)"]
    retro: bool = False  # found by re-screening after a list change
    # Designation on the event's day (engine.lists.history): listed, or possibly listed inside a
    # removal / (re-)listing window known only to lie between two days (lower confidence).
    listed_on: date | None = None
    designation_status: Literal["listed", "removal_window", "listing_window"] = "listed"
    designation_window: list[date] | None = None  # [last day in one state, first in the other]
    # Name hits: the part-by-part alignment behind the score (empty for identifier hits).
    alignment: list[NamePartAlignment] = []
