"""The material facts of an alert, and their fingerprint: what must stay the same for a snooze
to withhold a later alert. Built from the stored event (raw JSON) and the violation (JSON):

- ``rule``: the rule (measure) id;
- ``entries``: each matched list entry as the evidence names it: reference and the listed name
  or identifier matched (a list import that amends the entry also ends the snooze:
  ``store.end_amended``, as it re-opens an allowlist entry);
- ``parties``: each party a screening hit points at: normalised name, country and identifiers;
- ``vessels``: the event's vessels by IMO (a new vessel is a new fact);
- ``evidence``: every other evidence item of the measure as (path, value): goods and HS codes,
  origin, destination, a cap's running total...

The fingerprint is the sha256 of their canonical JSON. Event ids, times and free text are not
facts; any other change (goods line, HS code, country, counterparty, vessel, listed name) is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from engine.cases.keys import at_path, case_keys, normal_name


def _party(raw: Mapping[str, Any], path: str) -> dict[str, Any] | None:
    node = at_path(raw, path)
    if not isinstance(node, Mapping):
        return {"name": normal_name(node)} if isinstance(node, str) else None
    ids = node.get("identifiers")
    return {
        "name": normal_name(str(node.get("name") or "")),
        "country": str(node.get("country") or node.get("nationality") or "").upper(),
        "identifiers": {
            str(k): "".join(str(v).split()).upper()
            for k, v in sorted((ids or {}).items())
            if v is not None
        }
        if isinstance(ids, Mapping)
        else {},
    }


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def material_facts(raw: Mapping[str, Any], violation: Mapping[str, Any]) -> dict[str, Any]:
    entries, parties, evidence = set(), set(), set()
    for ev in violation.get("evidence") or []:
        if not isinstance(ev, Mapping):
            continue
        path, value = str(ev.get("path") or ""), ev.get("value")
        screening = ev.get("screening")
        if isinstance(screening, Mapping):  # live: the hit's reference and what matched
            ref, matched = screening.get("reference"), screening.get("matched")
        elif isinstance(value, Mapping) and value.get("reference"):  # retro: the hit itself
            ref, matched = value.get("reference"), value.get("matched")
        else:
            evidence.add(_canonical([path, value]))
            continue
        entries.add(_canonical([str(ref or "").strip(), str(matched or "")]))
        party = _party(raw, path)
        if party is not None:
            parties.add(_canonical(party))
    return {
        "rule": str(violation.get("rule_id") or ""),
        "entries": sorted(json.loads(e) for e in entries),
        "parties": sorted((json.loads(p) for p in parties), key=_canonical),
        "vessels": sorted(k for k in case_keys(raw, []) if k.startswith("imo:")),
        "evidence": sorted(json.loads(e) for e in evidence),
    }


def fingerprint(facts: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical(facts).encode("utf-8")).hexdigest()


def subject_keys(raw: Mapping[str, Any], violation: Mapping[str, Any]) -> list[str]:
    """The party and vessel keys a snooze of this alert may be keyed by."""
    return [k for k in case_keys(raw, [violation]) if k.startswith(("party:", "imo:"))]
