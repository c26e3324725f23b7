"""Which fact fields an event's unreadable values leave UNKNOWN (rules/README.md §13).

The intake marks every value it could not read with a finding (``Finding.unknown``, a JSON
pointer). Here those pointers become *subjects*: the fact fields (``destination_country``,
``counterpart_flag``, ...), the direction sets (``to``, ``from``, ``touches``) and the per-line and
per-party fields (``hs``, ``quantity``, ``role``, ...) whose value the rules cannot know. A
condition leaf that reads an unknown subject is undecided: both evaluators then treat it as
possibly true (in either polarity) at the ``unknown`` level, so a rule that the unknown value could
make fire yields a "needs information" violation instead of a silent clear.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.models.events import Event

AXES = ("to", "from", "touches")
CONTEXT_SUBJECTS = (
    "origin_country", "destination_country", "vessel_flag", "vessel_imo", "mode", "movement_kind",
    "port_country", "cargo_operation", "counterpart_flag", "previous_flag", "entity_kind",
    "entity_action", "entity_country", "entity_nationality", "entity_flag", "has_exemption_ref",
    "has_notification_ref",
)  # fmt: skip
LINE_SUBJECTS = ("hs", "quantity", "unit", "goods_origin_country", "value")
PARTY_SUBJECTS = ("role", "party_country")
# Event-level subjects of the name tests: a party's name, role or country (party_named leaves),
# a place's name or country (area leaves), a name or identifier the screener reads (listed_*).
PARTY_NAME_SUBJECT = "party_name"
AREA_SUBJECT = "place"
LISTED_SUBJECT = "listed"
NAME_SUBJECTS = (PARTY_NAME_SUBJECT, AREA_SUBJECT, LISTED_SUBJECT)
SUBJECTS = AXES + CONTEXT_SUBJECTS + LINE_SUBJECTS + PARTY_SUBJECTS + NAME_SUBJECTS
MARKER = "has_unknown"  # on every fact of an event with an unknown subject


def unknown_field(subject: str) -> str:
    return "unk__" + subject


_FIELD_SUBJECT = {
    "hs_code": "hs", "hs_missing": "hs", "value_amount": "value", "value_currency": "value",
    **{s: s for s in CONTEXT_SUBJECTS + LINE_SUBJECTS + PARTY_SUBJECTS},
}  # fmt: skip


def subject_of_field(name: str) -> str | None:
    """The subject a ``where`` field reads (None: never unknown, e.g. event_type)."""
    if name.startswith("listed_"):
        return LISTED_SUBJECT  # a screening result: unknown when a screened name is
    return _FIELD_SUBJECT.get(name)


@dataclass(slots=True)
class Unknowns:
    event: frozenset[str] = frozenset()  # context subjects and event-level axes
    lines: dict[int, frozenset[str]] = field(default_factory=dict)  # per goods line (all of it)
    parties: dict[int, frozenset[str]] = field(default_factory=dict)  # per party fact (all of it)

    def __bool__(self) -> bool:
        return bool(self.event or self.lines or self.parties)


NONE = Unknowns()


def _hit(pointers: list[str], target: str) -> bool:
    """An unknown pointer covers ``target`` when it is the target or one of its containers."""
    return any(target == p or target.startswith(p + "/") for p in pointers)


def unknowns_of(event: Event) -> Unknowns:
    """The subjects left unknown by ``event.quality``; ``NONE`` for a clean event (fast)."""
    quality = event.quality
    if not quality:
        return NONE
    ptrs = [f.pointer for f in quality if f.unknown]
    if not ptrs:
        return NONE
    return _compute(event, ptrs)


def pointers_for(event: Event, subjects: frozenset[str] | set[str]) -> list[str]:
    """The unknown findings' pointers that leave one of ``subjects`` unknown (for evidence)."""
    out = []
    for f in event.quality:
        if f.unknown:
            u = _compute(event, [f.pointer])
            got = set(u.event).union(*u.lines.values(), *u.parties.values())
            if got & set(subjects):
                out.append(f.pointer)
    return out


def _compute(event: Event, ptrs: list[str]) -> Unknowns:
    ctx: set[str] = set()
    axes: set[str] = set()
    line_sets: dict[int, set[str]] = {}
    party_sets: dict[int, set[str]] = {}
    s, m, e = event.shipment, event.vessel_movement, event.entity
    if s is not None:
        for subject, target in (
            ("origin_country", "/shipment/origin/country"),
            ("destination_country", "/shipment/destination/country"),
            ("vessel_flag", "/shipment/vessel/flag"),
            ("vessel_imo", "/shipment/vessel/imo"),
            ("mode", "/shipment/mode"),
            ("has_exemption_ref", "/shipment/exemption_ref"),
            ("has_notification_ref", "/shipment/notification_ref"),
        ):
            if _hit(ptrs, target):
                ctx.add(subject)
        route = any(_hit(ptrs, f"/shipment/route/{i}/country") for i in range(len(s.route)))
        places = ["/shipment/origin", "/shipment/destination"]
        places += [f"/shipment/route/{i}" for i in range(len(s.route))]
        if any(_hit(ptrs, f"{p}/{k}") for p in places for k in ("country", "name")):
            ctx.add(AREA_SUBJECT)
        screened = [f"/shipment/parties/{i}/name" for i in range(len(s.parties))]
        screened += ["/shipment/vessel/name", "/shipment/vessel/imo"]
        if any(_hit(ptrs, p) for p in screened):
            ctx.add(LISTED_SUBJECT)
        if route or "origin_country" in ctx:
            axes |= {"from", "touches"}
        if route or "destination_country" in ctx:
            axes |= {"to", "touches"}
        base, lines = "/shipment/goods", s.goods
        for i, _p in enumerate(s.parties):
            got = {
                subj
                for subj, key in (("role", "role"), ("party_country", "country"))
                if _hit(ptrs, f"/shipment/parties/{i}/{key}")
            }
            if got:
                party_sets[i] = got
            if got or _hit(ptrs, f"/shipment/parties/{i}/name"):
                ctx.add(PARTY_NAME_SUBJECT)
    elif m is not None:
        for subject, target in (
            ("vessel_flag", "/vessel_movement/vessel/flag"),
            ("vessel_imo", "/vessel_movement/vessel/imo"),
            ("movement_kind", "/vessel_movement/kind"),
            ("port_country", "/vessel_movement/port/country"),
            ("cargo_operation", "/vessel_movement/cargo_operation"),
            ("counterpart_flag", "/vessel_movement/counterpart_vessel/flag"),
            ("previous_flag", "/vessel_movement/previous/flag"),
        ):
            if _hit(ptrs, target):
                ctx.add(subject)
        axes |= _movement_axes(m.kind, m.cargo_operation, ctx)
        if any(_hit(ptrs, f"/vessel_movement/port/{k}") for k in ("country", "name")):
            ctx.add(AREA_SUBJECT)
        screened = [
            f"/vessel_movement/{v}/{k}"
            for v in ("vessel", "counterpart_vessel")
            for k in ("name", "imo", "mmsi")
        ]
        if any(_hit(ptrs, p) for p in screened):
            ctx.add(LISTED_SUBJECT)
        base, lines = "/vessel_movement/cargo", m.cargo
    else:
        base, lines = "", []
        if e is not None:
            for key in ("kind", "action", "country", "nationality", "flag"):
                if _hit(ptrs, f"/entity/{key}"):
                    ctx.add(f"entity_{key}")
            for i, _o in enumerate(e.owners):
                if _hit(ptrs, f"/entity/owners/{i}/country"):
                    party_sets[i] = {"party_country"}
            screened = ["/entity/name", "/entity/identifiers"]
            screened += [f"/entity/owners/{i}/name" for i in range(len(e.owners))]
            if any(_hit(ptrs, p) for p in screened):
                ctx.add(LISTED_SUBJECT)
    for i, _g in enumerate(lines):
        got = {
            subj
            for subj, keys in (
                ("hs", ("hs_code", "hs_codes")),
                ("quantity", ("quantity",)),
                ("unit", ("unit",)),
                ("goods_origin_country", ("origin_country",)),
                ("value", ("value",)),
            )
            if any(_hit(ptrs, f"{base}/{i}/{k}") for k in keys)
        }
        if "goods_origin_country" in got:
            got.add("from")
            axes.add("from")  # the event-level from-set is the union over the lines
        if got:
            line_sets[i] = got
    event_level = frozenset(ctx | axes)
    if not (event_level or line_sets or party_sets):
        return NONE
    return Unknowns(
        event=event_level,
        lines={i: frozenset(v) | event_level for i, v in line_sets.items()},
        parties={i: frozenset(v) | event_level for i, v in party_sets.items()},
    )


def _movement_axes(kind: str | None, op: str | None, ctx: set[str]) -> set[str]:
    """Direction sets of a movement that an unknown input leaves incomplete (README §6 table)."""
    if "movement_kind" in ctx:
        return set(AXES)
    own, port, other = "vessel_flag" in ctx, "port_country" in ctx, "counterpart_flag" in ctx
    op_unknown = "cargo_operation" in ctx
    out: set[str] = set()
    if kind == "port_call":
        if port:
            out.add("touches")
        if op_unknown:
            out |= {"to", "from"}  # it may have been a load or a discharge
        elif op == "load":
            out |= ({"to"} if own else set()) | ({"from"} if port else set())
        elif op == "discharge":
            out |= ({"to"} if port else set()) | ({"from"} if own else set())
    elif kind == "ship_to_ship":
        if op == "load" and not op_unknown:
            out |= ({"to"} if own else set()) | ({"from"} if other else set())
        elif op == "discharge" and not op_unknown:
            out |= ({"to"} if other else set()) | ({"from"} if own else set())
        elif own or other:
            out |= {"to", "from"}
    return out


def subjects_of_fact(unknowns: Unknowns, kind: str, index: int | None) -> frozenset[str]:
    """The unknown subjects one fact carries (a goods line or party adds its own)."""
    if kind == "goods" and index is not None and index in unknowns.lines:
        return unknowns.lines[index]
    if kind == "party" and index is not None and index in unknowns.parties:
        return unknowns.parties[index]
    return unknowns.event
