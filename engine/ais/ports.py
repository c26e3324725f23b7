"""Port geofences as sets of H3 cells, so "which port is this position in" is one cell lookup.

Areas come from ``data/port_areas.yaml`` (polygons or centre + radius, readable and editable;
``SANCTIONS_AIS_PORT_AREAS`` names another file) and from UN/LOCODE points where the code list
carries coordinates (``Coordinates`` column, e.g. ``4214N 13018E``; Function position 1 = port).
Polygons are filled with ``h3.geo_to_cells``; circles are the cells within the radius
(``h3.grid_disk`` of the centre, trimmed by ``h3.great_circle_distance``). The "near a port" set
(STS encounters must be away from ports) is each port's cells grown by the margin.
"""

from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import h3
import yaml
from shapely.geometry import Polygon, mapping

from engine.ais.settings import AisSettings, get_ais_settings
from engine.normalise.locode import CODE_LIST

AREAS_FILE = Path(__file__).with_name("data") / "port_areas.yaml"
RES = 7  # ~5 km2 cells (edge ~1.4 km): fine enough for harbours, few cells per port
_COORD = re.compile(r"(\d{2})(\d{2})([NS])\s+(\d{3})(\d{2})([EW])")


@dataclass(frozen=True, slots=True)
class PortArea:
    id: str
    name: str
    country: str
    locode: str | None


def _edge_m() -> float:
    return float(h3.average_hexagon_edge_length(RES, unit="m"))


def _disk(lat: float, lon: float, radius_m: float) -> set[str]:
    centre = h3.latlng_to_cell(lat, lon, RES)
    k = max(1, math.ceil(radius_m / (_edge_m() * 1.5)) + 1)
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


def parse_locode_coordinates(text: str) -> tuple[float, float] | None:
    """``4214N 13018E`` (degrees and minutes, UN/LOCODE) -> (lat, lon); None if unreadable."""
    m = _COORD.search(text or "")
    if not m:
        return None
    lat = int(m[1]) + int(m[2]) / 60
    lon = int(m[4]) + int(m[5]) / 60
    return (-lat if m[3] == "S" else lat, -lon if m[6] == "W" else lon)


class PortIndex:
    """cell -> port, and the cells within the STS margin of any port."""

    def __init__(self, areas: list[tuple[PortArea, set[str]]], margin_m: float) -> None:
        self.areas = [a for a, _ in areas]
        self._by_cell: dict[str, PortArea] = {}
        for area, cells in areas:
            for c in cells:
                self._by_cell.setdefault(c, area)
        k = math.ceil(margin_m / (_edge_m() * 1.5)) + 1 if margin_m > 0 else 0
        self._near: set[str] = set()
        for c in self._by_cell:
            self._near.update(h3.grid_disk(c, k))

    def port_at(self, cell: str) -> PortArea | None:
        return self._by_cell.get(cell)

    def near_port(self, cell: str) -> bool:
        return cell in self._near

    @staticmethod
    def cell(lat: float, lon: float) -> str:
        return str(h3.latlng_to_cell(lat, lon, RES))


def _yaml_areas(path: Path, settings: AisSettings) -> list[tuple[PortArea, set[str]]]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: list[tuple[PortArea, set[str]]] = []
    for item in data.get("areas", []):
        area = PortArea(item["id"], item["name"], item["country"], item.get("locode"))
        if "polygon" in item:
            cells = _polygon_cells(item["polygon"])
        else:
            lat, lon = item["centre"]
            cells = _disk(lat, lon, float(item.get("radius_m", settings.port_default_radius_m)))
        out.append((area, cells))
    return out


def _locode_areas(
    path: Path, settings: AisSettings, taken: set[str]
) -> list[tuple[PortArea, set[str]]]:
    out: list[tuple[PortArea, set[str]]] = []
    if not path.exists():
        return out
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            code = (row.get("Country") or "") + (row.get("Location") or "")
            if len(code) != 5 or code in taken or not (row.get("Function") or "").startswith("1"):
                continue
            point = parse_locode_coordinates(row.get("Coordinates") or "")
            if point is None:
                continue
            area = PortArea(code, row.get("Name") or code, code[:2], code)
            out.append((area, _disk(point[0], point[1], settings.port_default_radius_m)))
    return out


def build_index(
    settings: AisSettings | None = None, areas_file: Path | None = None, code_list: Path = CODE_LIST
) -> PortIndex:
    settings = settings or get_ais_settings()
    path = areas_file or Path(os.environ.get("SANCTIONS_AIS_PORT_AREAS") or AREAS_FILE)
    areas = _yaml_areas(path, settings)
    taken = {a.locode for a, _ in areas if a.locode} | {a.id for a, _ in areas}
    areas += _locode_areas(code_list, settings, taken)
    return PortIndex(areas, settings.sts_min_port_distance_m)


@lru_cache(maxsize=1)
def default_index() -> PortIndex:
    return build_index()
