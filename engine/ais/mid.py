"""Flag State from an MMSI's Maritime Identification Digits (ITU-R M.585).

The table is pyais's own (``pyais.constants.COUNTRY_MAPPING``: MID -> ISO alpha-2, maintained
with the decoder), corrected by ``data/mid_corrections.csv`` where it disagrees with the ITU's
"Table of Maritime Identification Digits" (https://www.itu.int/en/ITU-R/terrestrial/fmd/Pages/mid.aspx)
or gives a code that is not ISO 3166-1. A MID is the *declared* flag of the radio licence: it lags
a re-flagging and is often spoofed, so it is evidence, not proof.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from pyais.constants import COUNTRY_MAPPING

from engine.models.events import ISO_COUNTRIES

CORRECTIONS = Path(__file__).with_name("data") / "mid_corrections.csv"


@lru_cache(maxsize=1)
def mid_table() -> dict[int, str]:
    table = {mid: code for mid, (code, _name) in COUNTRY_MAPPING.items()}
    with CORRECTIONS.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            table[int(row["mid"])] = row["country"]
    return {mid: code for mid, code in table.items() if code in ISO_COUNTRIES}


def mid_of(mmsi: int) -> int | None:
    """The MID of a ship station's MMSI (9 digits, MID first); None for other stations."""
    if 200_000_000 <= mmsi <= 799_999_999:
        return mmsi // 1_000_000
    return None


def flag_of(mmsi: int) -> str | None:
    mid = mid_of(mmsi)
    return mid_table().get(mid) if mid is not None else None
