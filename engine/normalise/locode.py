"""UN/LOCODE: code -> country and place name, place name -> code (UNECE code list).

A UN/LOCODE's first two letters are the ISO 3166-1 country by definition, so a code alone always
gives the country (checked with pycountry). Names come from the code list in the UNECE format of
the ``datasets/un-locode`` data package (``code-list.csv``, ``alias.csv``). No maintained PyPI
package ships the list; the repository carries a small excerpt in ``data/`` (ports named in the
rule pack's examples and the demo, transcribed, not a complete edition) and
``sanctions locode import PATH_OR_URL`` replaces it with a full edition (see docs/event-contract-v1.md).
A name that several locations share in different countries stays unresolved (never guessed).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pycountry

DATA_DIR = Path(__file__).with_name("data")
CODE_LIST = DATA_DIR / "unlocode.csv"
ALIASES = DATA_DIR / "unlocode-alias.csv"
_CODE = re.compile(r"[A-Z]{2}[A-Z2-9]{3}")


@dataclass(frozen=True, slots=True)
class Location:
    locode: str
    country: str
    name: str


def _key(name: str) -> str:
    return " ".join(w for w in re.split(r"[\W_]+", name.lower().replace("'", "")) if w)


@dataclass
class CodeList:
    by_code: dict[str, Location]
    by_name: dict[str, list[Location]]

    @classmethod
    def load(cls, code_list: Path = CODE_LIST, aliases: Path = ALIASES) -> CodeList:
        by_code: dict[str, Location] = {}
        by_name: dict[str, list[Location]] = {}
        with code_list.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                country, loc = (
                    (row.get("Country") or "").strip(),
                    (row.get("Location") or "").strip(),
                )
                if not country or not loc or (row.get("Change") or "").strip() == "X":
                    continue  # country header rows and entries marked for deletion
                item = Location(
                    country + loc, country, row.get("Name") or row.get("NameWoDiacritics") or ""
                )
                by_code[item.locode] = item
                for n in {row.get("Name") or "", row.get("NameWoDiacritics") or ""}:
                    if n:
                        by_name.setdefault(_key(n), []).append(item)
        if aliases.exists():
            with aliases.open(encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f):
                    alias, _, target = (
                        row.get("NameWoDiacritics") or row.get("Name") or ""
                    ).partition(" = ")
                    found = [
                        x for x in by_name.get(_key(target), []) if x.country == row.get("Country")
                    ]
                    for item in found:
                        by_name.setdefault(_key(alias), []).append(item)
        return cls(by_code, by_name)

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


def country_of_locode(text: str) -> str | None:
    """The country a well-formed UN/LOCODE belongs to (its first two letters), else None."""
    code = text.replace(" ", "").upper()
    if not _CODE.fullmatch(code):
        return None
    cc = code[:2]
    return cc if pycountry.countries.get(alpha_2=cc) is not None else None
