"""Shared helpers of the lists/screening tests: the real UN list files under ../shared, parsed once."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from conftest import shared_path

from engine.lists.model import ParsedList
from engine.lists.parser import parse_list

# README table of shared/data/un-consolidated: file day -> (dateGenerated day UTC, individuals, entities)
FILES = {
    "2017-07-03": ("2017-07-04", 650, 371),  # 20:27 -04:00 on the 3rd is the 4th in UTC
    "2020-11-30": ("2020-12-01", 713, 305),
    "2024-09-26": ("2024-09-26", 682, 193),
    "2025-04-19": ("2025-04-19", 684, 193),
    "2026-02-27": ("2026-02-27", 730, 273),
    "2026-05-08": ("2026-05-08", 737, 272),
}


def list_file(day: str) -> Path:
    return shared_path("data", "un-consolidated", f"consolidated-{day}.xml")


@cache
def parsed(day: str) -> ParsedList:
    return parse_list(list_file(day).read_bytes())


def entry(day: str, reference: str):
    return next(e for e in parsed(day).entries if e.reference == reference)
