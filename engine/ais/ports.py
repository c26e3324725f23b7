"""Port geofences as sets of H3 cells, so "which port is this position in" is one cell lookup.

Areas come from ``data/port_areas.yaml`` (polygons or centre + radius, readable and editable;
``SANCTIONS_AIS_PORT_AREAS`` names another file; they win where they overlap) and a circle around
every seaport with a position in engine.normalise.locode (the ~3,900 searoute seaports).
Polygons are filled with ``h3.geo_to_cells``; circles are the cells within the radius
(``h3.grid_disk`` of the centre, trimmed by ``h3.great_circle_distance``). The "near a port" set
(STS encounters must be away from ports) is each port's cells grown by the margin.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import h3
import yaml
from h3.api import basic_int as h3i
from shapely.geometry import Polygon, mapping

from engine.ais.settings import AisSettings, get_ais_settings
from engine.normalise.locode import Location, code_list

AREAS_FILE = Path(__file__).with_name("data") / "port_areas.yaml"
RES = 7  # ~5 km2 cells (edge ~1.4 km): fine enough for harbours, few cells per port
NEAR_RES = 6  # the "near a port" set is coarser (~36 km2 cells): thousands of ports stay small
# Cells remembered by ``locate`` (cell -> (port, near a port)); cleared when full, so bounded.
LOCATE_CACHE = 262_144


@dataclass(frozen=True, slots=True)
class PortArea:
    id: str
    name: str
    country: str
    locode: str | None


_AT_SEA: tuple[PortArea | None, bool] = (None, False)


def _box(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat * 4.0), math.floor(lon * 4.0)


def _disk(lat: float, lon: float, radius_m: float, res: int = RES) -> set[str]:
    centre = h3.latlng_to_cell(lat, lon, res)
    k = max(
        1, math.ceil(radius_m / (float(h3.average_hexagon_edge_length(res, unit="m")) * 1.5)) + 1
    )
    return {
        c
        for c in h3.grid_disk(centre, k)
        if h3.great_circle_distance((lat, lon), h3.cell_to_latlng(c), unit="m") <= radius_m
    } | {centre}


def _polygon_cells(ring: list[list[float]]) -> set[str]:
    poly = Polygon([(float(lon), float(lat)) for lon, lat in ring])
    if not poly.is_valid:
        raise ValueError("port polygon is not a valid ring")
    cells = set(h3.geo_to_cells(mapping(poly), RES))
    # A small polygon may hold no cell centre: keep at least the cell of its centroid.
    c = poly.centroid
    return cells | {h3.latlng_to_cell(c.y, c.x, RES)}


class PortIndex:
    """cell -> port, and the cells within the STS margin of any port."""

    def __init__(
        self,
        areas: list[tuple[PortArea, set[str], tuple[float, float, float] | None]],
        margin_m: float,
    ) -> None:
        self.areas = [a for a, _, _ in areas]
        self._by_cell: dict[str, PortArea] = {}
        self._near: set[str] = set()
        edge6 = float(h3.average_hexagon_edge_length(NEAR_RES, unit="m"))
        k6 = math.ceil(margin_m / (edge6 * 1.5)) + 1
        for area, cells, circle in areas:
            for c in cells:
                self._by_cell.setdefault(c, area)
            if circle is not None:  # centre and radius: one disk of radius + margin
                lat, lon, radius = circle
                self._near |= _disk(lat, lon, radius + margin_m + 2 * edge6, NEAR_RES)
            else:
                for c in cells:
                    self._near.update(h3.grid_disk(h3.cell_to_parent(c, NEAR_RES), k6))
        # The hot path works on H3's integer cells (no hex strings built per report).
        self._by_int: dict[int, PortArea] = {h3i.str_to_int(c): a for c, a in self._by_cell.items()}
        self._near_int: frozenset[int] = frozenset(h3i.str_to_int(c) for c in self._near)
        self._located: dict[int, tuple[PortArea | None, bool]] = {}
        # Quarter-degree boxes within one box of a "near" cell's centre: a position outside them
        # (most of the open sea) is neither in nor near a port without asking H3. A res-6 cell
        # reaches < 4 km from its centre, less than a box's width below 80 degrees of latitude.
        self._boxes: frozenset[tuple[int, int]] = frozenset(
            (la + i, lo + j)
            for c in self._near
            for la, lo in [_box(*h3.cell_to_latlng(c))]
            for i in (-1, 0, 1)
            for j in (-1, 0, 1)
        )

    def port_at(self, cell: str) -> PortArea | None:
        return self._by_cell.get(cell)

    def near_port(self, cell: str) -> bool:
        return h3.cell_to_parent(cell, NEAR_RES) in self._near

    @staticmethod
    def cell(lat: float, lon: float) -> str:
        return str(h3.latlng_to_cell(lat, lon, RES))

    def locate(self, lat: float, lon: float) -> tuple[PortArea | None, bool]:
        """(port area of the position or None, within the STS margin of a port): one H3 call and
        one dictionary lookup for a cell seen before (vessels report from the same cells)."""
        if -80.0 < lat < 80.0 and -179.5 < lon < 179.5 and _box(lat, lon) not in self._boxes:
            return _AT_SEA
        cell = h3i.latlng_to_cell(lat, lon, RES)
        hit = self._located.get(cell)
        if hit is None:
            if len(self._located) >= LOCATE_CACHE:
                self._located.clear()
            area = self._by_int.get(cell)
            hit = self._located[cell] = (
                area,
                area is not None or h3i.cell_to_parent(cell, NEAR_RES) in self._near_int,
            )
        return hit


Area = tuple[PortArea, set[str], tuple[float, float, float] | None]


def _yaml_areas(path: Path, settings: AisSettings) -> list[Area]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: list[Area] = []
    for item in data.get("areas", []):
        area = PortArea(item["id"], item["name"], item["country"], item.get("locode"))
        if "polygon" in item:
            out.append((area, _polygon_cells(item["polygon"]), None))
        else:
            lat, lon = item["centre"]
            radius = float(item.get("radius_m", settings.port_default_radius_m))
            out.append((area, _disk(lat, lon, radius), (lat, lon, radius)))
    return out


def _locode_areas(locations: list[Location], settings: AisSettings, taken: set[str]) -> list[Area]:
    """A circle around every seaport of the code list with a position (engine.normalise.locode:
    the searoute seaports; entries of an imported UNECE edition carry no port function there)."""
    out: list[Area] = []
    radius = settings.port_default_radius_m
    for loc in locations:
        if loc.locode in taken or loc.coordinates is None or loc.source != "searoute":
            continue
        lat, lon = loc.coordinates
        area = PortArea(loc.locode, loc.name or loc.locode, loc.country, loc.locode)
        out.append((area, _disk(lat, lon, radius), (lat, lon, radius)))
    return out


def build_index(
    settings: AisSettings | None = None,
    areas_file: Path | None = None,
    locations: list[Location] | None = None,
) -> PortIndex:
    settings = settings or get_ais_settings()
    path = areas_file or Path(os.environ.get("SANCTIONS_AIS_PORT_AREAS") or AREAS_FILE)
    areas = _yaml_areas(path, settings)
    taken = {a.locode for a, _, _ in areas if a.locode} | {a.id for a, _, _ in areas}
    if locations is None:
        locations = list(code_list().by_code.values())
    areas += _locode_areas(locations, settings, taken)
    return PortIndex(areas, settings.sts_min_port_distance_m)


@lru_cache(maxsize=1)
def default_index() -> PortIndex:
    return build_index()
