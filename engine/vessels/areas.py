"""Watched areas for ``vessel_history: {ais_gap_near: ...}``: named sets of reference points.

An AIS gap is "near" an area when the position where the track went dark or reappeared lies
within the rule's ``km`` of one of the area's points (great-circle distance, h3). Points rather than
polygons: DPRK territorial waters are not published as data the product can cite, and the
coastal ports below cover where the Panel of Experts reports place the dark periods. Coordinates
are from memory (approximate, to about 0.05 degrees), see rules/README.md §14.
"""

from __future__ import annotations

import h3

from engine.models.events import Position

WATCHED: dict[str, tuple[tuple[str, float, float], ...]] = {
    # DPRK coast: the ports and anchorages of the west (Yellow Sea) and east (Sea of Japan) coasts.
    "dprk_waters": (
        ("Sinuiju", 40.10, 124.40),
        ("Taean", 38.85, 125.25),
        ("Nampho", 38.73, 125.38),
        ("Songrim", 38.75, 125.62),
        ("Haeju", 38.02, 125.71),
        ("Wonsan", 39.17, 127.45),
        ("Hungnam", 39.83, 127.62),
        ("Sinpo", 40.03, 128.18),
        ("Kimchaek", 40.67, 129.20),
        ("Chongjin", 41.77, 129.82),
        ("Rajin", 42.24, 130.30),
        ("Sonbong", 42.33, 130.40),
    ),
    # Russian Far East ports named in Panel of Experts reports on the Rajin shuttle.
    "russia_far_east_ports": (
        ("Vladivostok", 43.11, 131.88),
        ("Dunay", 42.89, 132.35),
        ("Nakhodka", 42.80, 132.87),
        ("Vostochny", 42.74, 133.05),
        ("Vanino", 49.09, 140.26),
    ),
    # Ship-to-ship transfer areas reported by the Panel (Yellow Sea / East China Sea).
    "east_china_sea_sts": (
        ("off Zhoushan", 30.50, 123.50),
        ("off Shandong", 37.50, 123.00),
        ("Korea Bay", 39.20, 124.00),
    ),
}


def nearest(area: str, pos: Position) -> tuple[str, float]:
    """(place name, km) of the area's point nearest ``pos``."""
    best = min(
        WATCHED[area],
        key=lambda p: h3.great_circle_distance((pos.lat, pos.lon), (p[1], p[2]), unit="km"),
    )
    km = h3.great_circle_distance((pos.lat, pos.lon), (best[1], best[2]), unit="km")
    return best[0], float(km)
