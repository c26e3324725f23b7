"""Does a register entry clear this event for this rule? Every reason it does not, in words.

A cited entry clears a rule only when ALL of these hold: it is in the register under the cited
kind, it covers the rule (its regime, and the rule among ``covers`` when that is given), it is
approved and not revoked, the event lies in its dates, and the event matches the entry's goods,
destination, holder and end user where the entry names them. The status (rules/README.md §8) is
the first failing check in that order; ``problems`` lists every check that failed, so the reason
of the decision names each mismatch.

Matching, conservatively (what cannot be compared does not match):
- goods: every goods line of the shipment must fall under one goods item of the entry: by HS
  prefix when the item has prefixes (a line without an HS code does not match those), by
  description otherwise; an item with a quantity caps the line's quantity (converted to the
  item's unit where the units convert, engine.rules.caps.convert).
- destination: the shipment's destination country.
- holder: a party whose name matches the holder's name (case, punctuation and word order
  ignored; rapidfuzz token-sort ratio >= 90) and, when the holder has a country, is in it. For a
  notification the holder is the notifying State: a consignor or shipper in that State matches.
- end user: a party with role end_user or consignee whose name matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, utils

from engine.models.events import Event, Goods, Party
from engine.registers.model import GoodsItem, Holder, RegisterEntry

NAME_THRESHOLD = 90.0
SUPPLIER_ROLES = frozenset({"consignor", "shipper"})
END_USER_ROLES = frozenset({"end_user", "consignee"})

# First failing check wins the status (the order of the module docstring).
STATUS_ORDER = (
    "unknown",
    "not_covering",
    "revoked",
    "not_approved",
    "not_yet_valid",
    "expired",
    "mismatch",
)


@dataclass(frozen=True)
class Check:
    status: str  # none | valid | one of STATUS_ORDER
    problems: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return self.status == "valid"


NONE = Check("none")


def names_match(a: str, b: str) -> bool:
    pa, pb = utils.default_process(a), utils.default_process(b)
    if not pa or not pb:
        return False
    return pa == pb or fuzz.token_sort_ratio(pa, pb) >= NAME_THRESHOLD


def _item_covers(item: GoodsItem, line: Goods) -> bool:
    if item.hs:
        return line.hs_code is not None and any(line.hs_code.startswith(p) for p in item.hs)
    if not line.description or not item.description:
        return False
    want, have = utils.default_process(item.description), utils.default_process(line.description)
    return bool(want) and (want in have or fuzz.token_set_ratio(want, have) >= NAME_THRESHOLD)


def _line_text(n: int, line: Goods) -> str:
    what = f"HS {line.hs_code}" if line.hs_code else (line.description or "no description")
    return f"goods line {n + 1} ({what})"


def _quantity_problem(item: GoodsItem, line: Goods, n: int) -> str | None:
    if item.quantity is None or item.unit is None:
        return None
    from engine.rules.caps import convert

    allowed = f"{item.quantity:g} {item.unit.value}"
    if line.quantity is None or line.unit is None:
        return f"{_line_text(n, line)} declares no quantity to compare with the {allowed} allowed"
    amount = convert(line, item.unit.value)
    if amount is None:
        return (
            f"{_line_text(n, line)}: {line.quantity:g} {line.unit.value} cannot be compared "
            f"with the {allowed} allowed"
        )
    if amount > item.quantity * (1 + 1e-9):
        return f"{_line_text(n, line)}: {line.quantity:g} {line.unit.value} exceeds the {allowed} allowed"
    return None


def goods_problems(entry: RegisterEntry, lines: Sequence[Goods]) -> list[str]:
    if not entry.goods:
        return []
    out = []
    allowed = "; ".join(i.label() for i in entry.goods)
    for n, line in enumerate(lines):
        items = [i for i in entry.goods if _item_covers(i, line)]
        if not items:
            out.append(f"{_line_text(n, line)} is not among the goods it covers ({allowed})")
            continue
        quantity = [_quantity_problem(i, line, n) for i in items]
        if all(q is not None for q in quantity):
            out.append(quantity[0])  # type: ignore[arg-type]
    if not lines:
        out.append(f"the event declares no goods to compare with {allowed}")
    return out


def holder_problem(entry: RegisterEntry, holder: Holder, parties: Sequence[Party]) -> str | None:
    for p in parties:
        if (
            p.name
            and names_match(holder.name, p.name)
            and (holder.country is None or p.country == holder.country)
        ):
            return None
        if (
            entry.kind == "notification"
            and holder.country is not None
            and p.role in SUPPLIER_ROLES
            and p.country == holder.country
        ):
            return None
    where = f" ({holder.country})" if holder.country else ""
    named = ", ".join(f"{p.name} ({p.role}, {p.country or 'no country'})" for p in parties)
    return f"no party matches the holder {holder.name}{where} (parties: {named or 'none'})"


def end_user_problem(end_user: str, parties: Sequence[Party]) -> str | None:
    users = [p for p in parties if p.role in END_USER_ROLES]
    if any(p.name and names_match(end_user, p.name) for p in users):
        return None
    named = ", ".join(p.name or "unnamed" for p in users)
    return f"the end user is not {end_user} (consignee / end user: {named or 'none given'})"


def check(
    entry: RegisterEntry | None,
    approval: str | None,
    ref: str | None,
    kind: str,
    rule_id: str,
    regime: str,
    event: Event | None,
    at: object = None,
) -> Check:
    """The status of a cited ``ref`` for one rule and, when ``event`` is given, every mismatch.

    ``approval`` is the entry's maker-checker state (``approved`` for entries that need none,
    e.g. the registers embedded in an old rule pack). ``at`` (default: the event's time) is
    the instant the dates are checked at.
    """
    if not ref or not ref.strip():
        return NONE
    ref = ref.strip()
    if entry is None:
        return Check("unknown", (f"{ref!r} is not in the register",))
    if entry.kind != kind:
        return Check(
            "unknown", (f"{ref!r} is registered as an {entry.kind}, cited as a {kind}_ref",)
        )
    if entry.regime != regime:
        return Check(
            "not_covering", (f"{ref!r} is a {entry.regime} entry, this is a {regime} measure",)
        )
    if entry.covers and rule_id not in entry.covers:
        return Check(
            "not_covering",
            (f"{ref!r} covers {', '.join(entry.covers)}, not {rule_id}",),
        )
    found: list[tuple[str, str]] = []
    if approval == "revoked":
        found.append(("revoked", "it has been revoked"))
    elif approval != "approved":
        found.append(("not_approved", "it has not been approved by a senior officer"))
    when = at if at is not None else (event.occurred_at if event is not None else None)
    if when is not None:
        dates = entry.in_force(when)  # type: ignore[arg-type]
        if dates == "not_yet_valid":
            found.append(("not_yet_valid", f"it is valid only from {entry.valid_from}"))
        elif dates == "expired":
            found.append(("expired", f"it expired (valid to {entry.valid_to})"))
    s = event.shipment if event is not None else None
    if s is not None:
        for p in goods_problems(entry, s.goods):
            found.append(("mismatch", p))
        dest = s.destination.country if s.destination is not None else None
        if entry.destination is not None and dest != entry.destination:
            found.append(
                (
                    "mismatch",
                    f"the destination is {dest or 'unknown'}, "
                    f"not {entry.destination} as registered",
                )
            )
        if entry.holder is not None:
            problem = holder_problem(entry, entry.holder, s.parties)
            if problem:
                found.append(("mismatch", problem))
        if entry.end_user:
            problem = end_user_problem(entry.end_user, s.parties)
            if problem:
                found.append(("mismatch", problem))
    if not found:
        return Check("valid")
    status = min((st for st, _ in found), key=STATUS_ORDER.index)
    return Check(status, tuple(p for _, p in found))
