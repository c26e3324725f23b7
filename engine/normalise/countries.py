"""Country names, ISO alpha-3 and numeric codes -> ISO 3166-1 alpha-2, with pycountry.

pycountry knows the ISO names, official and common names ("North Korea", "Iran"). Sanctions
documents and trade systems also use a few names ISO does not carry; those aliases are the only
hand-written entries (UN documents: "DPRK"; older or informal names still found in manifests).
"""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

# Names found in sanctions documents and manifests that pycountry's lookup does not resolve.
ALIASES: dict[str, str] = {
    "dprk": "KP",
    "d p r k": "KP",
    "dpr korea": "KP",
    "democratic peoples republic of korea": "KP",
    "north korea": "KP",
    "n korea": "KP",
    "burma": "MM",
    "russia": "RU",
    "ivory coast": "CI",
    "republic of korea": "KR",
    "rok": "KR",
    "korea south": "KR",
    "uae": "AE",
    "drc": "CD",
    "dr congo": "CD",
    "congo kinshasa": "CD",
    "congo brazzaville": "CG",
    "turkey": "TR",
    "swaziland": "SZ",
    "macedonia": "MK",
    "uk": "GB",
    "great britain": "GB",
    "usa": "US",
    "united states of america": "US",
    "iran islamic republic of": "IR",
    "syria": "SY",
    "laos": "LA",
    "vietnam": "VN",
    "cape verde": "CV",
    "czech republic": "CZ",
    "east timor": "TL",
}


def _key(text: str) -> str:
    return " ".join(re.split(r"[\W_]+", text.lower().replace("'", ""))).strip()


@lru_cache(maxsize=4096)
def country_code(text: str) -> str | None:
    """The alpha-2 code for a country name, alpha-2/alpha-3/numeric code, or None."""
    raw = text.strip()
    if not raw:
        return None
    alias = ALIASES.get(_key(raw))
    if alias:
        return alias
    if re.fullmatch(r"[A-Za-z]{2}", raw) and raw.upper() in ("XK", "ZZ"):
        return raw.upper()
    try:
        return pycountry.countries.lookup(raw).alpha_2
    except LookupError:
        pass
    # "Korea, Democratic People's Republic of" and its punctuation variants.
    key = _key(raw)
    for c in pycountry.countries:
        for name in (c.name, getattr(c, "official_name", None), getattr(c, "common_name", None)):
            if name and _key(name) == key:
                return c.alpha_2
    return None
