"""Per-regime asset-freeze citations for screening alerts (UN_LIST_TYPE keys).

Retro-screening alerts cite the measure a designated party engages. Rule ids are
``SCREEN-<regime>`` until the rule pack defines asset-freeze rules (see the module docstring of
engine.screening.retro). Paragraph numbers are from shared/reference/un-measures.md where given
(DPRK, Iran verified there); the others are recalled (R) and marked so in the alert.
"""

from __future__ import annotations

from engine.models.decisions import Citation

# regime -> (resolution, paragraph, measure, verified)
ASSET_FREEZE: dict[str, tuple[str, str, str, bool]] = {
    "DPRK": ("1718 (2006)", "8(d)", "asset freeze", True),
    "Iran": ("1737 (2006)", "12", "asset freeze", True),
    "Al-Qaida": ("2368 (2017)", "1(a)", "asset freeze", False),
    "Taliban": ("2255 (2015)", "1(a)", "asset freeze", False),
    "Iraq": ("1483 (2003)", "23", "asset freeze", False),
    "DRC": ("1807 (2008)", "11", "asset freeze", False),
    "Libya": ("1970 (2011)", "17", "asset freeze", False),
    "Somalia": ("1844 (2008)", "3", "asset freeze", False),
    "CAR": ("2134 (2014)", "32", "asset freeze", False),
    "Sudan": ("1591 (2005)", "3(e)", "asset freeze", False),
    "Yemen": ("2140 (2014)", "11", "asset freeze", False),
    "Haiti": ("2653 (2022)", "6", "asset freeze", False),
    "GB": ("2048 (2012)", "4", "travel ban", False),
    "SouthSudan": ("2206 (2015)", "12", "asset freeze", False),
    "Mali": ("2374 (2017)", "4", "asset freeze", False),
}


def rule_id_for(regime: str) -> str:
    return f"SCREEN-{regime}"


def measure_for(regime: str) -> tuple[Citation | None, str, bool]:
    found = ASSET_FREEZE.get(regime)
    if found is None:
        return None, "targeted measures", False
    resolution, paragraph, measure, verified = found
    return Citation(resolution=resolution, paragraph=paragraph), measure, verified
