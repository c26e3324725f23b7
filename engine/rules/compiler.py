"""Rule -> durable_rules JSON ruleset definitions.

Each rule becomes up to three durable rules, one per confidence level (high / medium / low,
rules/README.md §4); a (fact, rule) pair gets the highest level that fired. Patterns are
single-fact, anchored on ``kind``, and use only equality, ``$neq``, ``$gt``/``$gte``/``$lt``/``$lte``
and ``$ex``/``$nex`` on precomputed fields (``hs2``/``hs4``/``hs6``, ``to__KP``, ``kw__…``,
``occurred`` in epoch microseconds, per-rule ``exm__``/``ntf__``/``cap__`` fields). Negation is
pushed down to the atoms here, so the engine never sees a ``not``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.rules.catalogue import EVAL_LEVELS, LEVEL_RANK, UNKNOWN_LEVEL, fields_for
from engine.rules.conditions import leaf_subjects
from engine.rules.facts import epoch_us, keyword_field
from engine.rules.loader import RulePack
from engine.rules.named import named_field
from engine.rules.schema import (
    All,
    AnyOf,
    Area,
    Direction,
    FieldTest,
    GoodsMatch,
    History,
    Node,
    Not,
    Occurred,
    PartyNamed,
    RefStatus,
    Rule,
    end_utc,
    start_utc,
)
from engine.rules.unknowns import MARKER, unknown_field

# Atoms: ("eq"|"ne"|"gt"|"gte"|"lt"|"lte", field, value), ("ex"|"nex", field),
# ("and"|"or", [atoms]), TRUE, FALSE.
TRUE: tuple = ("true",)
FALSE: tuple = ("false",)
# Event types that produce each fact kind: a rule covering all of them needs no event_type test.
PRODUCERS = {
    "goods": {"shipment", "vessel_movement"},
    "party": {"shipment", "entity"},
    "hit": {"shipment", "vessel_movement", "entity"},
    "event": {"shipment", "vessel_movement", "entity"},
}
_NEG_CMP = {"gt": "lte", "gte": "lt", "lt": "gte", "lte": "gt"}


def exemption_field(rule: Rule, kind: str) -> str:
    return ("exm__" if kind == "exemption" else "ntf__") + rule.key


def ref_status_atom(rule: Rule, kind: str, status: str) -> tuple:
    """The per-rule status field exists only on facts of events that cite a reference of that
    kind (keeps facts small); "none" is told by the always-present has_*_ref field."""
    has = "has_exemption_ref" if kind == "exemption" else "has_notification_ref"
    if status == "none":
        return ("eq", has, False)
    return _and([("eq", has, True), ("eq", exemption_field(rule, kind), status)])


def cap_field(rule: Rule) -> str:
    return "cap__" + rule.key


@functools.cache
def history_field(node: History) -> str:
    """The fact field carrying a vessel_history test's answer (engine.vessels.history): set
    true/false on every fact of an event a history rule applies to."""
    return "vh__" + node.key


def _and(items: Iterable[tuple]) -> tuple:
    out: list[tuple] = []
    for a in items:
        if a == FALSE:
            return FALSE
        if a == TRUE:
            continue
        out.extend(a[1] if a[0] == "and" else [a])
    if not out:
        return TRUE
    return out[0] if len(out) == 1 else ("and", out)


def _or(items: Iterable[tuple]) -> tuple:
    out: list[tuple] = []
    for a in items:
        if a == TRUE:
            return TRUE
        if a == FALSE:
            continue
        for x in a[1] if a[0] == "or" else [a]:
            if x not in out:
                out.append(x)
    if not out:
        return FALSE
    return out[0] if len(out) == 1 else ("or", out)


# Fields every fact of the relevant kind carries, so "missing" is impossible and a negated
# equality needs no ``$nex`` (the engine allows only 128 ``$nex`` children per alpha node).
ALWAYS_PRESENT = frozenset(
    {
        "kind",
        "event_type",
        "occurred",
        "hs_missing",
        "has_exemption_ref",
        "has_notification_ref",
        "line",
        "role",
        "list_regime",
        "entry_kind",
        "reference",
        "method",
        "score",
    }
)


def always_present(field_name: str) -> bool:
    # unk__ fields are read only by unknown-level patterns, which require has_unknown: every fact
    # of such an event carries all of them (true or false).
    return field_name in ALWAYS_PRESENT or field_name.startswith(
        ("exm__", "ntf__", "unk__", "vh__")
    )


def _undecided(rule: Rule, node: Node, neg: bool, exclusive: bool) -> tuple:
    """A leaf at the unknown level: as known, or possibly true when it reads an unknown
    subject, in either polarity (under a negation it is emitted as ``known and c`` so that the
    negation pushed down by ``negate`` yields ``unknown or not c``)."""
    # Goods classification at its loosest where the leaf counts for the rule (positive: low) and
    # strictest where it counts against it (negated: high): the level that makes it "may hold".
    known = compile_node(rule, node, "high" if neg else "low", exclusive=False)
    subjects = leaf_subjects(node)
    if not subjects:
        return known
    unk = _or(("eq", unknown_field(s), True) for s in subjects)
    return _and([known, negate(unk)]) if neg else _or([known, unk])


def negate(a: tuple) -> tuple:
    op = a[0]
    if a == TRUE:
        return FALSE
    if a == FALSE:
        return TRUE
    if op == "and":
        return _or(negate(x) for x in a[1])
    if op == "or":
        return _and(negate(x) for x in a[1])
    if op == "ex":
        return ("nex", a[1])
    if op == "nex":
        return ("ex", a[1])
    present = always_present(a[1])
    if op == "eq":
        return ("ne", a[1], a[2]) if present else _or([("ne", a[1], a[2]), ("nex", a[1])])
    if op == "ne":
        return ("eq", a[1], a[2]) if present else _or([("eq", a[1], a[2]), ("nex", a[1])])
    flipped = (_NEG_CMP[op], a[1], a[2])
    return flipped if present else _or([flipped, ("nex", a[1])])


def _value(rule: Rule, field_name: str, v: Any) -> Any:
    ftype = fields_for(rule.when.fact).get(field_name)
    if ftype == "num":
        return float(v)
    return v


def _strict(node: GoodsMatch) -> list[tuple]:
    return [("eq", f"hs{len(p)}", p) for p in node.hs]


def _short(node: GoodsMatch, exclusive: bool) -> list[tuple]:
    """Declared codes shorter than a prefix and its beginning; ``exclusive`` drops codes that
    already match strictly (so a line fires one level only)."""
    shorter = {p[:k] for p in node.hs for k in range(2, len(p))}
    if exclusive:
        shorter = {c for c in shorter if not any(c.startswith(p) for p in node.hs)}
    return [("eq", "hs_code", c) for c in sorted(shorter)]


def _keyword(node: GoodsMatch) -> list[tuple]:
    if not node.keywords:
        return []
    kws = _or(("eq", keyword_field(k), True) for k in node.keywords)
    return [_and([("eq", "hs_missing", True), kws])]


def compile_node(
    rule: Rule, node: Node, level: str, exclusive: bool = False, neg: bool = False
) -> tuple:
    """``exclusive``: the goods leaf matches ONLY at ``level`` (high: strict; medium: shorter code;
    low: keyword), valid when the rule has one goods leaf, in positive position, and no cap.
    ``neg``: the node sits under an odd number of negations (used by the unknown level)."""
    if isinstance(node, All):
        return _and(compile_node(rule, n, level, exclusive, neg) for n in node.items)
    if isinstance(node, AnyOf):
        return _or(compile_node(rule, n, level, exclusive, neg) for n in node.items)
    if isinstance(node, Not):
        return negate(compile_node(rule, node.item, level, exclusive, not neg))
    if level == UNKNOWN_LEVEL:
        return _undecided(rule, node, neg, exclusive)
    if isinstance(node, Direction):
        return _or(("eq", f"{node.axis}__{c}", True) for c in node.countries)
    if isinstance(node, GoodsMatch):
        if exclusive:
            return _or(
                {"high": _strict, "medium": lambda n: _short(n, True), "low": _keyword}[level](node)
            )
        alts: list[tuple] = _strict(node)
        if LEVEL_RANK[level] <= LEVEL_RANK["medium"]:
            alts.extend(_short(node, False))
        if LEVEL_RANK[level] <= LEVEL_RANK["low"]:
            alts.extend(_keyword(node))
        return _or(alts)
    if isinstance(node, FieldTest):
        f, op = node.field, node.op
        if op == "eq":
            return ("eq", f, _value(rule, f, node.value))
        if op == "in":
            return _or(("eq", f, _value(rule, f, v)) for v in node.value)
        if op == "missing":
            return ("nex", f)
        if op == "ne":
            ne = ("ne", f, _value(rule, f, node.value))
            return ne if always_present(f) else _or([ne, ("nex", f)])
        return (op, f, float(node.value))
    if isinstance(node, RefStatus):
        return _or(ref_status_atom(rule, node.kind, s) for s in node.statuses)
    if isinstance(node, Occurred):
        at = epoch_us(start_utc(node.at))
        return ("lt", "occurred", at) if node.op == "before" else ("gte", "occurred", at)
    if isinstance(node, PartyNamed):
        return ("eq", named_field(node), True)
    if isinstance(node, Area):
        yes = ("eq", named_field(node), "yes")
        return yes if level != "low" else _or([yes, ("eq", named_field(node), "unknown")])
    if isinstance(node, History):
        return ("eq", history_field(node), True)
    raise TypeError(f"unknown condition node {node!r}")


def _positive_goods_leaves(node: Node, negated: bool = False) -> list[bool]:
    """For each goods leaf: whether it sits under a negation."""
    if isinstance(node, All | AnyOf):
        return [x for n in node.items for x in _positive_goods_leaves(n, negated)]
    if isinstance(node, Not):
        return _positive_goods_leaves(node.item, not negated)
    return [negated] if isinstance(node, GoodsMatch) else []


def exclusive_levels(rule: Rule) -> bool:
    """Monotone rules (one goods leaf, not negated, no cap) compile to disjoint levels: a fact
    then fires one durable rule per rule instead of up to three (each firing is a Python action)."""
    leaves = _positive_goods_leaves(rule.when.tree())
    # An area leaf depends on the level too (unknown place = low only): levels must nest.
    has_area = any(isinstance(n, Area) for n in rule.when.nodes())
    return rule.cap is None and leaves == [False] and not has_area


def rule_expression(rule: Rule, level: str, exclusive: bool | None = None) -> tuple:
    """The whole rule at one level, as an atom tree (kind anchor first)."""
    if exclusive is None:
        exclusive = exclusive_levels(rule) and level != UNKNOWN_LEVEL
    parts: list[tuple] = [("eq", "kind", rule.when.fact)]
    if not PRODUCERS[rule.when.fact] <= set(rule.applies_to):
        parts.append(_or(("eq", "event_type", t) for t in rule.applies_to))
    # The condition goes before the date bounds: durable_rules hashes equality tests (a fact walks
    # only the branches whose value it has) but tries every range test, and a fact that passes the
    # date tests of too many rules overflows the engine's evaluation stack (ERR_MAX_STACK_SIZE, 303).
    parts.append(compile_node(rule, rule.when.tree(), level, exclusive))
    parts.append(("gte", "occurred", epoch_us(start_utc(rule.effective_from))))
    if rule.effective_to is not None:
        parts.append(("lt", "occurred", epoch_us(end_utc(rule.effective_to))))
    for w in rule.suspended:
        parts.append(
            _or(
                [
                    ("lt", "occurred", epoch_us(start_utc(w.from_))),
                    ("gte", "occurred", epoch_us(end_utc(w.to))),
                ]
            )
        )
    if rule.wind_down is not None:
        wd = rule.wind_down
        inside = _and([
            ("lt", "occurred", epoch_us(end_utc(wd.until))),
            ref_status_atom(rule, wd.requires, "valid"),
        ])  # fmt: skip
        parts.append(negate(inside))
    if rule.cap is not None:
        exceeded = ("gt", cap_field(rule), float(rule.cap.amount))
        if LEVEL_RANK[level] <= LEVEL_RANK["low"] and rule.cap.on_unknown == "flag":
            parts.append(_or([exceeded, ("nex", cap_field(rule))]))
        else:
            parts.append(exceeded)
    if level == UNKNOWN_LEVEL:
        # Only events with unknown values. Last, so the pattern shares its prefix with the known
        # levels' in the engine's network (first, it made one alpha node with a child per rule,
        # more than the engine's traversal stack of 64 holds).
        parts.append(("eq", MARKER, True))
    return _and(parts)


def to_durable(a: tuple) -> dict[str, Any]:
    op = a[0]
    if op == "eq":
        return {a[1]: a[2]}
    if op in ("ne", "gt", "gte", "lt", "lte"):
        return {"$neq" if op == "ne" else f"${op}": {a[1]: a[2]}}
    if op in ("ex", "nex"):
        return {f"${op}": {a[1]: 1}}
    if op in ("and", "or"):
        return {f"${op}": [to_durable(x) for x in a[1]]}
    raise ValueError(f"cannot emit {a!r}")


def atom_fields(a: tuple) -> set[str]:
    if a[0] in ("and", "or"):
        return set().union(*(atom_fields(x) for x in a[1]))
    if a in (TRUE, FALSE):
        return set()
    return {a[1]}


@dataclass
class CompiledPack:
    version: str
    definitions: dict[str, dict[str, Any]]  # durable rule name -> {"all": [{"m": expr}]}
    names: dict[str, tuple[str, str]]  # durable rule name -> (rule id, level)
    fields: frozenset[str]  # every fact field any pattern reads
    wanted: frozenset[tuple[str, str]]  # (fact kind, event type) pairs any rule looks at
    expressions: dict[tuple[str, str], tuple] = field(repr=False, default_factory=dict)


def compile_rule(rule: Rule) -> dict[str, tuple]:
    """level -> atom tree, skipping levels identical to a higher one or impossible."""
    out: dict[str, tuple] = {}
    for level in EVAL_LEVELS:
        if level == UNKNOWN_LEVEL and not any(leaf_subjects(n) for n in rule.when.nodes()):
            continue  # no leaf can be undecided: the unknown level would repeat ``low``
        expr = rule_expression(rule, level)
        if expr == FALSE or expr in out.values():
            continue
        if expr == TRUE or expr[0] != "and" or expr[1][0] != ("eq", "kind", rule.when.fact):
            raise ValueError(f"rule {rule.id}: compiled pattern lost its kind anchor")
        out[level] = expr
    return out


def compile_pack(pack: RulePack) -> CompiledPack:
    definitions: dict[str, dict[str, Any]] = {}
    names: dict[str, tuple[str, str]] = {}
    fields: set[str] = set()
    expressions: dict[tuple[str, str], tuple] = {}
    wanted: set[tuple[str, str]] = set()
    n = 0
    for rule in pack.rules:
        for t in rule.applies_to:
            wanted.add((rule.when.fact, t))
        for level, expr in compile_rule(rule).items():
            name = f"r{n}"
            n += 1
            definitions[name] = {"all": [{"m": to_durable(expr)}]}
            names[name] = (rule.id, level)
            fields |= atom_fields(expr)
            expressions[(rule.id, level)] = expr
    return CompiledPack(
        version=pack.version,
        definitions=definitions,
        names=names,
        fields=frozenset(fields),
        wanted=frozenset(wanted),
        expressions=expressions,
    )
