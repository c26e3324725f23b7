"""What a flagged event is about, as case keys: the vessels (by IMO), the parties that hit a
list (by normalised name and country) and the list entries its violations cite.

Only parties named by a screening hit count: a shipper that appears on every message of a
client (the client itself) must not pull unrelated events into one case.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from engine.lists.store import references_in

_PATH_PART = re.compile(r"([A-Za-z_]+)(?:\[(\d+)\])?")


def normal_name(name: str) -> str:
    """Case, accents, punctuation and spacing folded: 'Dunay  Logistics, L.L.C.' ->
    'dunay logistics l l c'. Exact after folding (no fuzzy matching here)."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode() or name
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())


def at_path(raw: Any, path: str) -> Any:
    """The value at an evidence path such as ``shipment.parties[2]`` (None when absent)."""
    node = raw
    for part in path.split("."):
        m = _PATH_PART.fullmatch(part)
        if m is None or not isinstance(node, Mapping):
            return None
        node = node.get(m.group(1))
        if m.group(2) is not None:
            i = int(m.group(2))
            node = node[i] if isinstance(node, list) and i < len(node) else None
    return node


def party_key(name: str, country: str | None) -> str:
    return f"party:{normal_name(name)}|{(country or '').upper()}"[:300]


def _imos(raw: Mapping[str, Any]) -> list[str]:
    found = []
    for path in ("shipment.vessel", "vessel_movement.vessel", "vessel_movement.counterpart_vessel"):
        v = at_path(raw, path)
        if isinstance(v, Mapping) and v.get("imo"):
            found.append(str(v["imo"]))
    entity = raw.get("entity")
    if isinstance(entity, Mapping) and entity.get("kind") == "vessel":
        ids = entity.get("identifiers")
        if isinstance(ids, Mapping) and ids.get("imo"):
            found.append(str(ids["imo"]))
    return [re.sub(r"\D", "", i)[-7:] for i in found if re.sub(r"\D", "", i)]


def case_keys(raw: Mapping[str, Any], violations: Iterable[Mapping[str, Any]]) -> list[str]:
    """The keys of one flagged event (in a stable order, no repeats)."""
    keys = [f"imo:{i}" for i in _imos(raw)]
    for v in violations:
        keys += [f"entry:{ref}" for ref in references_in(dict(v))]
        for ev in v.get("evidence") or []:
            screening = ev.get("screening") if isinstance(ev, Mapping) else None
            if not screening:
                continue
            if screening.get("reference"):
                keys.append(f"entry:{str(screening['reference']).strip()}"[:300])
            path = str(ev.get("path") or "")
            if "vessel" in path:
                continue  # a vessel is keyed by its IMO (above) and its list entry
            hit = at_path(raw, path)
            if isinstance(hit, Mapping) and isinstance(hit.get("name"), str):
                keys.append(party_key(hit["name"], hit.get("country") or hit.get("flag")))
            elif isinstance(ev.get("value"), str):
                keys.append(party_key(ev["value"], None))
    return list(dict.fromkeys(keys))
