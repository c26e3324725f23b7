"""Which measure a screening alert cites, per regime (UN_LIST_TYPE keys).

Retro-screening alerts cite the loaded rule pack's own asset-freeze rule of the regime: the rule
tagged ``asset_freeze`` whose condition is on a screening ``hit`` of a designated individual or
entity (e.g. UNSCR-1718-OP8d for DPRK), with the rule's citations, title and confidence. The
citations live in the pack only: a regime without such a rule gets ``SCREEN-<regime>``, no
citation, and a caveat saying so in the alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from engine.models.decisions import Citation
from engine.rules.loader import RulePack, load_pack
from engine.rules.schema import FieldTest, Rule

DESIGNEES = frozenset({"individual", "entity"})


@dataclass(frozen=True, slots=True)
class Measure:
    rule_id: str
    title: str
    citations: list[Citation]
    measure: str  # "asset freeze", "targeted measures"
    verified: bool  # the pack rule's encoding confidence is high
    from_pack: bool
    caveat: str = ""  # said in the alert's reason when not verified


def _designee_freeze_rule(rule: Rule) -> bool:
    if "asset_freeze" not in rule.tags or rule.when.fact != "hit":
        return False
    for n in rule.when.nodes():
        if isinstance(n, FieldTest) and n.field == "entry_kind":
            values = n.value if n.op == "in" else [n.value]
            if n.op in ("eq", "in") and DESIGNEES & set(values):
                return True
    return False


def pack_measures(pack: RulePack) -> dict[str, Measure]:
    """regime -> the pack's asset-freeze rule on designated parties (the first in file order)."""
    out: dict[str, Measure] = {}
    for rule in pack.rules:
        if rule.regime in out or not _designee_freeze_rule(rule):
            continue
        high = rule.confidence == "high"
        out[rule.regime] = Measure(
            rule.id,
            rule.title,
            list(rule.citations),
            "asset freeze",
            high,
            True,
            "" if high else f"(rule encoding confidence: {rule.confidence})",
        )
    return out


@lru_cache(maxsize=4)
def _measures_of(rules_dir: Path) -> dict[str, Measure]:
    return pack_measures(load_pack(rules_dir))


def measure_for(regime: str, pack: RulePack | Path | None = None) -> Measure:
    """The measure of ``regime`` in ``pack`` (a loaded pack, or the pack of a rules directory,
    loaded once per process; default: ``Settings.rules_dir``)."""
    if isinstance(pack, RulePack):
        found = pack_measures(pack).get(regime)
    else:
        if pack is None:
            from engine.config import get_settings

            pack = get_settings().rules_dir
        found = _measures_of(Path(pack)).get(regime)
    if found is not None:
        return found
    return Measure(
        f"SCREEN-{regime}",
        f"Party designated under the {regime} sanctions list",
        [],
        "targeted measures",
        False,
        False,
        "(no asset-freeze rule for this regime in the rule pack: no paragraph cited)",
    )
