"""Quantity units -> the v1 canonical units (``t``, ``kg``, ``bbl``, ``l``, ``m3``, ``pcs``, ...).

Two vocabularies: UN/CEFACT Recommendation 20 unit codes (what EDI/TMS exports carry: ``TNE``,
``KGM``, ``BLL``, ``C62``, ...) and the words people type (``tonnes``, ``metric tons``, ``bbls``).
No maintained Python package ships Recommendation 20, so its codes used in trade quantities are
listed here with their defined conversion factors (Rec 20 rev. 17 values; a code not listed is
reported as unreadable, never guessed). ``unit_of(text) -> (canonical, factor)``: the quantity in
the canonical unit is ``quantity * factor``.
"""

from __future__ import annotations

import re

from engine.models.events import Unit

CANONICAL = frozenset(u.value for u in Unit)

# UN/CEFACT Recommendation 20 common codes -> (v1 unit, factor).
REC20: dict[str, tuple[str, float]] = {
    "TNE": ("t", 1.0),  # tonne (metric ton)
    "KTN": ("t", 1000.0),  # kilotonne
    "DTN": ("t", 0.1),  # decitonne
    "STN": ("t", 0.90718474),  # ton (US) short ton, 2000 lb
    "LTN": ("t", 1.0160469088),  # ton (UK) long ton, 2240 lb
    "KGM": ("kg", 1.0),  # kilogram
    "GRM": ("g", 1.0),  # gram
    "MGM": ("g", 0.001),  # milligram
    "LBR": ("kg", 0.45359237),  # pound
    "ONZ": ("g", 28.349523125),  # ounce (avoirdupois)
    "CTM": ("carat", 1.0),  # carat (metric, 200 mg)
    "BLL": ("bbl", 1.0),  # barrel (US), petroleum: 158.987 dm3
    "LTR": ("l", 1.0),  # litre
    "MLT": ("l", 0.001),  # millilitre
    "HLT": ("l", 100.0),  # hectolitre
    "GLL": ("l", 3.785411784),  # gallon (US)
    "GLI": ("l", 4.54609),  # gallon (UK)
    "MTQ": ("m3", 1.0),  # cubic metre
    "C62": ("pcs", 1.0),  # one (unit)
    "H87": ("pcs", 1.0),  # piece
    "EA": ("pcs", 1.0),  # each
    "NAR": ("pcs", 1.0),  # number of articles
    "NPR": ("pair", 1.0),  # number of pairs
    "PR": ("pair", 1.0),  # pair
    "SET": ("set", 1.0),  # set
    "NMP": ("pack", 1.0),  # number of packs (counted as pieces below)
}

# Words and abbreviations typed in manifests, lower case with punctuation removed.
WORDS: dict[str, tuple[str, float]] = {
    **{
        w: ("t", 1.0)
        for w in (
            "tonne",
            "tonnes",
            "metric ton",
            "metric tons",
            "metric tonne",
            "metric tonnes",
            "mt",
            "mts",
            "ton",
            "tons",
            "tn",
        )
    },
    **{w: ("kg", 1.0) for w in ("kilogram", "kilograms", "kilo", "kilos", "kgs")},
    **{w: ("g", 1.0) for w in ("gram", "grams", "gr")},
    **{w: ("kg", 0.45359237) for w in ("lb", "lbs", "pound", "pounds")},
    **{w: ("bbl", 1.0) for w in ("bbls", "barrel", "barrels", "bl", "bls")},
    **{w: ("l", 1.0) for w in ("litre", "litres", "liter", "liters", "ltr", "ltrs", "lt")},
    **{w: ("l", 3.785411784) for w in ("gallon", "gallons", "gal", "usg")},
    **{
        w: ("m3", 1.0)
        for w in ("cbm", "cubic metre", "cubic metres", "cubic meter", "cubic meters", "m 3", "m³")
    },
    **{
        w: ("pcs", 1.0)
        for w in (
            "pc",
            "piece",
            "pieces",
            "unit",
            "units",
            "round",
            "rounds",
            "box",
            "boxes",
            "carton",
            "cartons",
            "crate",
            "crates",
            "item",
            "items",
            "each",
            "ea",
            "nos",
            "no",
            "bag",
            "bags",
            "case",
            "cases",
            "drum",
            "drums",
            "package",
            "packages",
            "pkg",
            "pkgs",
            "bale",
            "bales",
            "bottle",
            "bottles",
            "head",
            "heads",
        )
    },
    **{w: ("container", 1.0) for w in ("containers", "cntr", "cntrs", "ctr")},
    **{w: ("teu", 1.0) for w in ("teus", "twenty foot equivalent")},
    **{w: ("pallet", 1.0) for w in ("pallets", "plt", "plts")},
    **{w: ("set", 1.0) for w in ("sets", "system", "systems", "kit", "kits")},
    **{w: ("pair", 1.0) for w in ("pairs", "prs")},
    **{w: ("carat", 1.0) for w in ("carats", "ct", "cts", "ctm")},
    **{w: ("usd", 1.0) for w in ("us", "us dollar", "us dollars", "dollars", "usd")},
}


def _key(text: str) -> str:
    return " ".join(w for w in re.split(r"[\s.,_\-/()]+", text.lower()) if w)


def unit_of(text: object) -> tuple[str, float] | None:
    """(canonical v1 unit, factor) for a unit word or Rec 20 code; None if unreadable."""
    if not isinstance(text, str) or not text.strip():
        return None
    raw = text.strip()
    if raw.lower() in CANONICAL:
        return raw.lower(), 1.0
    hit = REC20.get(raw.upper())
    if hit is None:
        hit = WORDS.get(_key(raw)) or WORDS.get(_key(raw).replace("$", ""))
    if hit is None:
        return None
    unit, factor = hit
    return ("pcs", factor) if unit == "pack" else (unit, factor)
