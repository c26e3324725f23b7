"""A sound pre-filter in front of durable_rules: skip facts that no compiled rule can match.

From every compiled durable pattern we keep its top-level conjuncts that are an equality or an
OR of equalities (``kind == goods``, ``from__KP == true``, ``list_regime == DPRK``, ``hs2 == 93``
...). A fact can only match the pattern if each such conjunct holds, so a fact satisfying none
of the patterns' requirements is never sent to the engine. The filter never decides a match; it
only saves the engine work. (The agreement tests run with and without it.)

Two stages: per event (only fields known before the facts are built: context fields, direction
flags, listed_<regime>, has_unknown; other fields count as "may hold"), then per built fact (all fields).
A goods line's direction flags are a subset of the event's, so the event stage is sound too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from engine.rules.catalogue import CONTEXT_FIELDS
from engine.rules.conditions import member
from engine.rules.unknowns import MARKER

Pair = tuple[str, Any]
Requirement = tuple[frozenset[Pair], ...]  # all of: any of (field == value)
FLAG_PREFIXES = ("to__", "from__", "touches__")
PER_RULE_PREFIXES = ("exm__", "ntf__", "cap__", "vh__")  # vh__: vessel history, set later


def _eq_set(a: tuple) -> frozenset[Pair] | None:
    items = a[1] if a[0] == "or" else [a]
    pairs = set()
    for x in items:
        if x[0] != "eq" or isinstance(x[2], dict | list):
            return None
        pairs.add((x[1], x[2]))
    return frozenset(pairs)


def requirement_of(expr: tuple) -> Requirement:
    """The eq / OR-of-eq top-level conjuncts of a pattern, without the ``kind`` anchor."""
    conjuncts = expr[1] if expr[0] == "and" else [expr]
    out = []
    for c in conjuncts:
        pairs = _eq_set(c)
        if pairs is not None and not any(f == "kind" for f, _v in pairs):
            out.append(pairs)
    return tuple(out)


# Per-line / per-party fields the event stage gets as SETS of the values over the event's lines
# or parties (a requirement then "may hold" if some line or party has the value: still sound).
_LINE_FIELDS = frozenset(
    {"hs_code", "hs2", "hs4", "hs6", "hs_missing", "goods_origin_country", "unit"}
)
_PARTY_FIELDS = frozenset({"role", "party_country"})
SET_FIELDS = _LINE_FIELDS | _PARTY_FIELDS


def known_before_facts(name: str) -> bool:
    # MARKER (has_unknown) is an event-level fact field: the unknown-level patterns' last
    # conjunct, so a clean event skips them at the event stage instead of building its facts.
    return (
        name == MARKER
        or name in CONTEXT_FIELDS
        or name in SET_FIELDS
        or name.startswith(FLAG_PREFIXES)
        or name.startswith("listed_")
    )


Check = tuple[tuple[tuple[str, frozenset[Any]], ...], ...]  # all of: any of (field in values)


def _check(req: Requirement, keep) -> Check:
    """Requirement -> fast form, keeping only the disjunctions whose fields ``keep`` accepts
    (a disjunction with any other field may hold and is dropped: still sound)."""
    out = []
    for disj in req:
        if not all(keep(f) for f, _v in disj):
            continue
        by_field: dict[str, set[Any]] = defaultdict(set)
        for f, v in disj:
            by_field[f].add(v)
        out.append(tuple((f, frozenset(vs)) for f, vs in by_field.items()))
    return tuple(out)


def _holds(check: Check, values: Mapping[str, Any]) -> bool:
    for disj in check:
        for f, vs in disj:
            v = values.get(f)
            if v is None:
                continue
            if member(v, vs):
                break
        else:
            return False
    return True


class Prefilter:
    def __init__(
        self, expressions: Mapping[tuple[str, str], tuple], kinds_of: Mapping[str, str]
    ) -> None:
        """``expressions``: (rule id, level) -> compiled atom tree; ``kinds_of``: rule id -> fact kind."""
        reqs: dict[str, list[Requirement]] = defaultdict(list)
        self._rule_checks: dict[str, list[Check]] = defaultdict(list)
        for (rule_id, _level), expr in expressions.items():
            req = requirement_of(expr)
            kind = kinds_of[rule_id]
            self._rule_checks[rule_id].append(
                _check(req, lambda f: not f.startswith(PER_RULE_PREFIXES))
            )
            if req not in reqs[kind]:
                reqs[kind].append(req)
        self._kinds = frozenset(reqs)
        # Each check is indexed under the (field, value) pairs of ONE of its disjunctions: a fact
        # can satisfy the check only if it has one of those pairs. Checks with no disjunction left
        # are "always" candidates.
        self._stages: dict[tuple[str, str], tuple[dict[Pair, list[Check]], list[Check]]] = {}
        self._by_field: dict[
            tuple[str, str],
            tuple[tuple[tuple[str, dict[Any, list[tuple[Check, bool]]]], ...], bool, bool],
        ] = {}
        self._event_fields: set[str] = set()
        for kind, kind_reqs in reqs.items():
            for stage, keep in (
                ("event", known_before_facts),
                (
                    "fact",
                    lambda f: not f.startswith(PER_RULE_PREFIXES),
                ),  # per-rule fields come later
            ):
                index: dict[Pair, list[Check]] = defaultdict(list)
                rests: dict[Pair, list[Check]] = defaultdict(list)
                always: list[Check] = []
                for req in kind_reqs:
                    check = _check(req, keep)
                    if not check:
                        always.append(check)
                        continue
                    anchor = min(check, key=lambda d: sum(len(vs) for _f, vs in d))
                    rest = tuple(
                        d for d in check if d is not anchor
                    )  # the anchor holds when its key is found
                    for f, vs in anchor:
                        for v in vs:
                            if check not in index[(f, v)]:
                                index[(f, v)].append(check)
                            if rest not in rests[(f, v)]:
                                rests[(f, v)].append(rest)
                self._stages[(kind, stage)] = (dict(index), always)
                # The rest-of-check lists grouped by field: a lookup walks the few indexed fields
                # instead of every value of the event (most of which no pattern anchors on).
                # Each rest carries whether it reads a per-line / per-party set field, so the event
                # stage builds those sets only when a check gets that far (see event_may_match).
                by_field: dict[str, dict[Any, list[tuple[Check, bool]]]] = defaultdict(dict)
                for (f, v), checks in rests.items():
                    by_field[f][v] = [
                        (c, any(f2 in SET_FIELDS for d in c for f2, _vs in d)) for c in checks
                    ]
                self._by_field[(kind, stage)] = (
                    tuple(by_field.items()),
                    bool(always),
                    any(f in SET_FIELDS for f in by_field),
                )
                if stage == "event":
                    self._event_fields.update(
                        f for check in index_checks(index) for disj in check for f, _vs in disj
                    )

    @property
    def kinds(self) -> frozenset[str]:
        return self._kinds

    @property
    def event_fields(self) -> frozenset[str]:
        """Every field an event-stage check reads (event_values may skip the others)."""
        return frozenset(self._event_fields)

    def _may_match(
        self,
        kind: str,
        stage: str,
        values: Mapping[str, Any],
        fill: Callable[[], None] | None = None,
    ) -> bool:
        entry = self._by_field.get((kind, stage))
        if entry is None:
            return False
        by_field, always, anchors_need_sets = entry
        if always:
            return True
        if fill is not None and anchors_need_sets:
            fill()
        get = values.get
        for f, index in by_field:
            v = get(f)
            if v is None:
                continue
            for one in v if isinstance(v, frozenset) else (v,):
                try:
                    candidates = index.get(one)
                except TypeError:  # unhashable value
                    continue
                if candidates:
                    for check, needs_sets in candidates:
                        if needs_sets and fill is not None:
                            fill()
                        if _holds(check, values):
                            return True
        return False

    def rule_may_match(self, rule_id: str, fields: Mapping[str, Any]) -> bool:
        """Can some level of this rule match a fact with these fields (whatever its per-rule
        exm__/ntf__/cap__ fields)? False lets the caller skip computing those fields."""
        return any(_holds(check, fields) for check in self._rule_checks.get(rule_id, ()))

    def event_may_match(
        self, kind: str, values: Mapping[str, Any], fill: Callable[[], None] | None = None
    ) -> bool:
        """Stage 1: ``values`` = context fields, direction flags, listed_* of the event, and the
        SET_FIELDS as frozensets over its goods lines and parties (see event_values). With
        ``fill``, ``values`` may lack the SET_FIELDS: ``fill()`` adds them to it (idempotent) and
        is called before any check that reads one."""
        return self._may_match(kind, "event", values, fill)

    def fact_may_match(self, kind: str, fields: Mapping[str, Any]) -> bool:
        """Stage 2: the built fact's own fields."""
        return self._may_match(kind, "fact", fields)


def index_checks(index: Mapping[Pair, list[Check]]) -> list[Check]:
    return [c for checks in index.values() for c in checks]


def event_values(
    event: Any, context: dict[str, Any], sets: tuple, wanted: frozenset[str] | None = None
) -> dict[str, Any]:
    """Stage-1 values of an event: ``context`` (context_fields), direction flags from ``sets``
    (facts.direction_sets), and the per-line / per-party SET_FIELDS as frozensets (only those in
    ``wanted`` when given, e.g. Prefilter.event_fields: no event-stage check reads the others)."""
    values = flag_values(context, sets)
    values.update(set_values(event, sets[3], wanted))
    return values


def flag_values(context: dict[str, Any], sets: tuple) -> dict[str, Any]:
    """``context`` plus the direction flags from ``sets`` (facts.direction_sets)."""
    to, frm, touches, origins = sets
    values = dict(context)
    for c in to:
        values["to__" + c] = True
    for c in frm:
        values["from__" + c] = True
    for c in origins:
        if c:
            values["from__" + c] = True
    for c in touches:
        values["touches__" + c] = True
    return values


def set_values(
    event: Any, origins: list[str | None], wanted: frozenset[str] | None = None
) -> dict[str, Any]:
    """The per-line / per-party SET_FIELDS of an event as frozensets (those in ``wanted``)."""
    values: dict[str, Any] = {}
    want = SET_FIELDS if wanted is None else SET_FIELDS & wanted
    if not want:
        return values
    lines = (
        event.shipment.goods
        if event.shipment is not None
        else (event.vessel_movement.cargo if event.vessel_movement is not None else ())
    )
    if lines and want & _LINE_FIELDS:
        codes = [g.hs_code for g in lines if g.hs_code]
        values["hs_code"] = frozenset(codes)
        values["hs2"] = frozenset(c[:2] for c in codes)
        values["hs4"] = frozenset(c[:4] for c in codes if len(c) >= 4)
        values["hs6"] = frozenset(c[:6] for c in codes if len(c) >= 6)
        values["hs_missing"] = frozenset(not g.hs_code for g in lines)
        values["goods_origin_country"] = frozenset(c for c in origins if c)
        values["unit"] = frozenset(g.unit.value for g in lines if g.unit is not None)
    if want & _PARTY_FIELDS:
        roles: set[str] = set()
        countries: set[str] = set()
        if event.shipment is not None:
            for p in event.shipment.parties:
                roles.add(p.role)
                if p.country:
                    countries.add(p.country)
        if event.entity is not None:
            for o in event.entity.owners:
                roles.add("owner")
                if o.country:
                    countries.add(o.country)
        values["role"] = frozenset(roles)
        values["party_country"] = frozenset(countries)
    return values
