"""UN/LOCODE: code -> country, place name and (lat, lon); place name -> code.

A UN/LOCODE's first two letters are the ISO 3166-1 country by definition, so a code alone always
gives the country (checked with pycountry). Names and coordinates come from, first to last:

1. an edition of the official UNECE code list imported by the operator with
   ``sanctions locode update SOURCE`` (the UNECE CSV files, their zip, or the datahub
   ``code-list.csv``; stored under ``<SANCTIONS_DATA_DIR>/locode/code-list.csv``): every
   location, ~116,000 entries;
2. the seaports the maintained ``searoute`` package ships (``searoute/data/ports.geojson``,
   Apache-2.0: ~3,900 ports with their UN/LOCODE, name and position), so ports resolve with no
   import at all;
3. ``data/unlocode-alias.csv``: the UNECE alias form (``Rajin = Najin``) for a few ports known
   under another name.

A name that several locations share in different countries stays unresolved (never guessed).
``lookup(code)`` is the interface for other areas (port geofences: ``Location.coordinates``).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pycountry

DATA_DIR = Path(__file__).with_name("data")
ALIASES = DATA_DIR / "unlocode-alias.csv"
_CODE = re.compile(r"[A-Z]{2}[A-Z2-9]{3}")
# UNECE coordinates: degrees and minutes, "4214N 13018E" (lat ddmm, lon dddmm).
_COORD = re.compile(r"(\d{2})(\d{2})([NS])\s+(\d{3})(\d{2})([EW])")
# Columns of the UNECE CSV files (no header row) and of the datahub code-list.csv (with one).
COLUMNS = (
    "Change",
    "Country",
    "Location",
    "Name",
    "NameWoDiacritics",
    "Subdivision",
    "Status",
    "Function",
    "Date",
    "IATA",
    "Coordinates",
    "Remarks",
)


@dataclass(frozen=True, slots=True)
class Location:
    locode: str
    country: str
    name: str
    coordinates: tuple[float, float] | None = None  # (lat, lon) in degrees, when known
    source: str = ""  # "unece" (an imported edition) or "searoute" (the packaged seaports)


def _key(name: str) -> str:
    return " ".join(w for w in re.split(r"[\W_]+", name.lower().replace("'", "")) if w)


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """(lat, lon) of a UNECE ``Coordinates`` value (``4214N 13018E``), None if absent or odd."""
    m = _COORD.fullmatch((text or "").strip())
    if m is None:
        return None
    lat = int(m[1]) + int(m[2]) / 60
    lon = int(m[4]) + int(m[5]) / 60
    if int(m[2]) >= 60 or int(m[5]) >= 60 or lat > 90 or lon > 180:
        return None
    return (round(-lat if m[3] == "S" else lat, 4), round(-lon if m[6] == "W" else lon, 4))


def edition_path() -> Path:
    """Where ``sanctions locode update`` keeps the imported UNECE edition."""
    from engine.config import get_settings

    return get_settings().resolved_data_dir / "locode" / "code-list.csv"


def searoute_ports() -> Path | None:
    """The ports file of the installed searoute package (found without importing it)."""
    spec = importlib.util.find_spec("searoute")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "ports.geojson"
    return path if path.exists() else None


def unece_rows(lines: Iterable[str]) -> Iterator[dict[str, str]]:
    """Rows of a UNECE code list, headed (datahub) or not (the UNECE CSV files)."""
    reader = csv.reader(lines)
    for row in reader:
        if not row:
            continue
        if row[:3] == list(COLUMNS[:3]):
            continue  # the datahub header
        yield dict(zip(COLUMNS, (c.strip() for c in row), strict=False))


def unece_locations(rows: Iterable[dict[str, str]]) -> Iterator[Location]:
    for row in rows:
        country, loc = row.get("Country") or "", row.get("Location") or ""
        if not _CODE.fullmatch(country + loc) or row.get("Change") == "X":
            continue  # country header rows, entries marked for deletion, anything else
        name = row.get("Name") or row.get("NameWoDiacritics") or ""
        yield Location(
            country + loc, country, name, parse_coordinates(row.get("Coordinates") or ""), "unece"
        )


def _searoute_locations(path: Path) -> Iterator[Location]:
    for feature in json.loads(path.read_text(encoding="utf-8")).get("features", []):
        props, geometry = feature.get("properties") or {}, feature.get("geometry") or {}
        code = str(props.get("port") or "")
        if not _CODE.fullmatch(code):
            continue  # a few entries carry no real UN/LOCODE ("EG", "AUTR0")
        lon, lat = (geometry.get("coordinates") or [None, None])[:2]
        coords = (float(lat), float(lon)) if lat is not None and lon is not None else None
        yield Location(code, code[:2], str(props.get("name") or ""), coords, "searoute")


@dataclass
class CodeList:
    by_code: dict[str, Location]
    by_name: dict[str, list[Location]]

    @classmethod
    def of(cls, locations: Iterable[Location], aliases: Path | None = ALIASES) -> CodeList:
        """The first location given for a code wins; every name of it is indexed."""
        by_code: dict[str, Location] = {}
        by_name: dict[str, list[Location]] = {}
        for item in locations:
            if item.locode in by_code:
                continue
            by_code[item.locode] = item
            if item.name:
                by_name.setdefault(_key(item.name), []).append(item)
        if aliases is not None and aliases.exists():
            with aliases.open(encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f):
                    text = row.get("NameWoDiacritics") or row.get("Name") or ""
                    alias, _, target = text.partition(" = ")
                    for item in by_name.get(_key(target), []):
                        if item.country == row.get("Country") and item not in by_name.get(
                            _key(alias), []
                        ):
                            by_name.setdefault(_key(alias), []).append(item)
        return cls(by_code, by_name)

    @classmethod
    def load(cls, edition: Path | None = None, ports: Path | None = None) -> CodeList:
        edition = edition if edition is not None else edition_path()
        ports = ports if ports is not None else searoute_ports()
        sources: list[Iterable[Location]] = []
        if edition.exists():
            with edition.open(encoding="utf-8", newline="") as f:
                sources.append(list(unece_locations(unece_rows(f))))
        if ports is not None:
            sources.append(_searoute_locations(ports))
        return cls.of(loc for source in sources for loc in source)

    def code(self, text: str) -> Location | None:
        return self.by_code.get(text.replace(" ", "").upper())

    def named(self, name: str, country: str | None = None) -> Location | None:
        """The one location of this name (in ``country`` if given); None if none or ambiguous."""
        found = self.by_name.get(_key(name), [])
        if country:
            found = [x for x in found if x.country == country]
        countries = {x.country for x in found}
        return found[0] if len(countries) == 1 else None


@lru_cache(maxsize=1)
def code_list() -> CodeList:
    return CodeList.load()


def lookup(code: str) -> Location | None:
    """The location of a UN/LOCODE (``KPNJN``, ``KP NJN``): country, name, (lat, lon) when
    known; None when the code is not in the code list (its country may still be known:
    ``country_of_locode``)."""
    return code_list().code(code)


def country_of_locode(text: str) -> str | None:
    """The country a well-formed UN/LOCODE belongs to (its first two letters), else None."""
    code = text.replace(" ", "").upper()
    if not _CODE.fullmatch(code):
        return None
    cc = code[:2]
    return cc if pycountry.countries.get(alpha_2=cc) is not None else None


def read_edition(data: bytes, name: str = "") -> list[str]:
    """The CSV lines of a downloaded or given UNECE edition: a zip of the CSV files (every
    ``.csv`` in it, in name order), or one CSV file; UTF-8, else Latin-1 (older editions)."""
    import zipfile

    blobs: list[bytes]
    if data[:4] == b"PK\x03\x04" or name.lower().endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            blobs = [z.read(n) for n in sorted(z.namelist()) if n.lower().endswith(".csv")]
    else:
        blobs = [data]
    lines: list[str] = []
    for blob in blobs:
        try:
            text = blob.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = blob.decode("latin-1")
        lines.extend(text.splitlines())
    return lines


def write_edition(lines: Iterable[str], target: Path) -> int:
    """Store an edition as one headed CSV (atomically); returns the number of locations."""
    rows = [r for r in unece_rows(lines) if r.get("Country") and r.get("Location")]
    count = sum(1 for _ in unece_locations(rows))
    if count == 0:
        raise ValueError("no UN/LOCODE entry found (expected the UNECE code list CSV)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: r.get(k, "") for k in COLUMNS} for r in rows)
    tmp.replace(target)
    code_list.cache_clear()
    return count
