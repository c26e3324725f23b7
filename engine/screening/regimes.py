"""Which measure a screening alert cites, per regime (UN_LIST_TYPE keys).

Retro-screening alerts use the rule pack's own asset-freeze rule of the regime: the rule file
under ``Settings.rules_dir`` tagged ``asset_freeze`` whose condition is on a screening ``hit`` of
a designated individual/entity (e.g. UNSCR-1718-OP8d for DPRK). The rule files are read as plain
YAML, so a pack that does not load elsewhere still names its rules here. A regime without such a
rule falls back to ``SCREEN-<regime>`` and the citation table below (DPRK and Iran verified in
shared/reference/un-measures.md, the others recalled and marked so in the alert).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

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


@dataclass(frozen=True, slots=True)
class Measure:
    rule_id: str
    title: str
    citations: list[Citation]
    measure: str  # "asset freeze", "travel ban", ...
    verified: bool  # the pack rule's confidence is high / the fallback paragraph is verified
    from_pack: bool
    caveat: str = ""  # said in the alert's reason when not verified


def _designee_freeze_rule(doc: dict) -> bool:
    when = doc.get("when") or {}
    if "asset_freeze" not in (doc.get("tags") or []) or when.get("fact") != "hit":
        return False
    text = yaml.safe_dump(when)
    return "individual" in text or "entity" in text


@lru_cache(maxsize=4)
def pack_measures(rules_dir: Path) -> dict[str, Measure]:
    """regime -> the pack's asset-freeze rule on designated parties (first by id)."""
    out: dict[str, Measure] = {}
    for path in sorted(rules_dir.glob("*/**/*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        if not isinstance(doc, dict) or not _designee_freeze_rule(doc) or doc.get("regime") in out:
            continue
        try:
            cites = [Citation(**doc["citation"])] + [
                Citation(**c) for c in doc.get("also_cites") or []
            ]
            confidence = doc.get("confidence", "high")
            out[doc["regime"]] = Measure(
                str(doc["id"]),
                str(doc["title"]),
                cites,
                "asset freeze",
                confidence == "high",
                True,
                "" if confidence == "high" else f"(rule encoding confidence: {confidence})",
            )
        except (KeyError, TypeError, ValueError):
            continue
    return out


def measure_for(regime: str, rules_dir: Path | None = None) -> Measure:
    if rules_dir is None:
        from engine.config import get_settings

        rules_dir = get_settings().rules_dir
    found = pack_measures(Path(rules_dir)).get(regime)
    if found is not None:
        return found
    resolution, paragraph, measure, verified = ASSET_FREEZE.get(
        regime, ("", "", "targeted measures", False)
    )
    cites = [Citation(resolution=resolution, paragraph=paragraph)] if resolution else []
    return Measure(
        f"SCREEN-{regime}",
        f"Party designated under the {regime} sanctions list",
        cites,
        measure,
        verified,
        False,
        "" if verified else "(paragraph number recalled, to be verified)",
    )
