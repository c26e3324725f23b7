"""The fact vocabulary shared by the schema, the fact builder, the compiler and the oracle.

Field names here are what rule authors write in ``where:`` (see rules/README.md §3). Keeping the
catalogue in one place lets the schema reject a misspelt field at load time.
"""

from __future__ import annotations

from typing import Literal

from engine.models.events import ISO_COUNTRIES, Unit

FactKind = Literal["goods", "party", "hit", "event"]
FACT_KINDS: tuple[str, ...] = ("goods", "party", "hit", "event")
EVENT_TYPES: tuple[str, ...] = ("shipment", "entity", "vessel_movement")
LEVELS: tuple[str, ...] = ("high", "medium", "low")  # best first
# "unknown": the condition holds only if the event's unknown values (engine.rules.unknowns) are
# read as possibly true: a "needs information" violation. Evaluated after the three levels.
UNKNOWN_LEVEL = "unknown"
EVAL_LEVELS: tuple[str, ...] = (*LEVELS, UNKNOWN_LEVEL)
LEVEL_RANK = {"high": 3, "medium": 2, "low": 1, UNKNOWN_LEVEL: 0}

REGIMES: tuple[str, ...] = (
    "DPRK", "Iran", "Libya", "Somalia", "Yemen", "SouthSudan", "DRC", "CAR", "Sudan", "Haiti",
    "Iraq", "GB", "Al-Qaida", "Taliban", "Mali",
    # Regimes whose designations are not (or no longer) on the Consolidated List: keys of the rule
    # pack only (rules/README.md §9).
    "Eritrea", "EthiopiaEritrea", "Liberia", "SierraLeone", "Angola", "Rwanda", "CotedIvoire",
    "Yugoslavia", "SouthAfrica", "Lebanon",
)  # fmt: skip

PARTY_ROLES = (
    "consignor", "consignee", "notify_party", "shipper", "carrier", "vessel_owner",
    "vessel_operator", "ship_manager", "freight_forwarder", "bank", "end_user", "insurer",
    "charterer", "other", "owner",
)  # fmt: skip
HIT_ROLES = PARTY_ROLES + ("vessel", "counterpart_vessel", "entity")

EXEMPTION_STATUSES = (
    "none", "valid", "expired", "not_yet_valid", "unknown", "not_covering",
    # the stored registers (engine.registers.checking): maker-checker and the event's match
    "not_approved", "revoked", "mismatch",
)  # fmt: skip

# Field type tags: "country" (ISO code), "str" (free), "num", "bool", or a tuple of allowed values.
FieldType = str | tuple[str, ...]

CONTEXT_FIELDS: dict[str, FieldType] = {
    "event_type": EVENT_TYPES,
    "mode": ("sea", "air", "rail", "road", "multimodal"),
    "origin_country": "country",
    "destination_country": "country",
    "vessel_flag": "country",
    "vessel_imo": "str",
    "movement_kind": (
        "port_call",
        "ship_to_ship",
        "ais_gap",
        "flag_change",
        "name_change",
        "identity_change",
    ),
    "port_country": "country",
    "cargo_operation": ("load", "discharge", "transfer"),
    "counterpart_flag": "country",
    "previous_flag": "country",
    "entity_kind": ("person", "organization", "vessel"),
    "entity_action": ("onboard", "update", "offboard"),
    "entity_country": "country",
    "entity_nationality": "country",
    "entity_flag": "country",
    "has_exemption_ref": "bool",
    "has_notification_ref": "bool",
}
# listed_<regime> (listed_dprk, listed_al_qaida, ...): true on every fact of an event when screening
# found one of its parties, vessels or owners on that regime's list. Lets a goods rule express a
# targeted measure ("arms to a listed party") without a join between facts.
LISTED_FIELDS: dict[str, str] = {
    r: "listed_" + "".join(c if c.isalnum() else "_" for c in r.lower()) for r in REGIMES
}
CONTEXT_FIELDS.update({name: "bool" for name in LISTED_FIELDS.values()})

KIND_FIELDS: dict[str, dict[str, FieldType]] = {
    "goods": {
        "hs_code": "str",
        "hs_missing": "bool",
        "quantity": "num",
        "unit": tuple(u.value for u in Unit),
        "goods_origin_country": "country",
        "value_amount": "num",
        "value_currency": "str",
        "line": "num",
    },
    "party": {"role": PARTY_ROLES, "party_country": "country"},
    "hit": {
        "list_regime": REGIMES,
        "entry_kind": ("individual", "entity", "vessel"),
        "hit_role": HIT_ROLES,
        "reference": "str",
        "method": (
            "imo",
            "bic",
            "lei",
            "passport",
            "registration_number",
            "name_exact",
            "name_fuzzy",
        ),
        "score": "num",
    },
    "event": {},
}


def fields_for(kind: str) -> dict[str, FieldType]:
    return {**CONTEXT_FIELDS, **KIND_FIELDS[kind]}


def is_country(value: object) -> bool:
    return isinstance(value, str) and value in ISO_COUNTRIES


def slug(text: str) -> str:
    """A durable-safe field-name fragment: [a-z0-9_] only."""
    out = []
    for ch in text.lower():
        out.append(ch if ("a" <= ch <= "z" or "0" <= ch <= "9") else "_")
    return "".join(out)
