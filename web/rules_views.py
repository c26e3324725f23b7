"""The measures pages: every encoded UN Security Council measure of the rule pack in force.

``/rules`` lists them by regime (citation, dates, plain-language summary, confidence note, example
counts); ``/rules/<rule_id>`` shows one measure in full, with its condition as written in the rule
file and its fire/clear examples. The pages read the pack files only; they never evaluate rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Blueprint, abort, render_template

from engine.rules.loader import RulePack, parse_yaml
from engine.rules.schema import FixedPeriod, Rule
from web.auth.access import READERS, roles_required
from web.pack_cache import PACKS, CachedPack

rules_bp = Blueprint("rules", __name__, url_prefix="/rules")

REGIME_NAMES = {
    "DPRK": "DPRK (1718)", "Iran": "Iran (1737)", "Libya": "Libya (1970)", "Somalia": "Somalia / Al-Shabaab (2713)",
    "Yemen": "Yemen (2140)", "SouthSudan": "South Sudan (2206)", "DRC": "DRC (1533)", "CAR": "Central African Republic (2127)",
    "Sudan": "Sudan (1591)", "Haiti": "Haiti (2653)", "Iraq": "Iraq (1518)", "GB": "Guinea-Bissau (2048)",
    "Al-Qaida": "ISIL (Da'esh) and Al-Qaida (1267)", "Taliban": "Taliban (1988)",
}  # fmt: skip


def _current() -> CachedPack:
    """The pack on disk (Settings.rules_dir), parsed once per process and again only when its
    files change (web.pack_cache); what the pages derive from it is kept with it."""
    from engine.config import get_settings

    return PACKS.current(get_settings().rules_dir)


def _when(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return value.isoformat()


@dataclass
class MeasureView:
    rule: Rule
    path: str
    regime_name: str

    @property
    def dates(self) -> str:
        r = self.rule
        text = f"from {_when(r.effective_from)}"
        if r.effective_to is not None:
            text += f" to {_when(r.effective_to)}"
        return text

    @property
    def suspended(self) -> list[str]:
        return [
            f"{_when(w.from_)} – {_when(w.to)}" + (f": {w.note}" if w.note else "")
            for w in self.rule.suspended
        ]

    @property
    def cap(self) -> str | None:
        c = self.rule.cap
        if c is None:
            return None
        period = (
            c.period
            if isinstance(c.period, str)
            else f"{_when(c.period.from_)} – {_when(c.period.to)}"
        )
        if isinstance(c.period, FixedPeriod):
            period = f"fixed period {period}"
        return f"{c.amount:,.0f} {c.unit.value} per {period.replace('_', ' ')}"


def _views(pack: RulePack) -> list[MeasureView]:
    path_of = {}
    for path in pack.files:
        if path.endswith(".yaml") and "/" in path:
            path_of[path.rsplit("/", 1)[1].removesuffix(".yaml")] = path
    order = list(REGIME_NAMES)
    views = [
        MeasureView(r, path_of.get(r.id, ""), REGIME_NAMES.get(r.regime, r.regime))
        for r in pack.rules
    ]
    views.sort(
        key=lambda v: (
            order.index(v.rule.regime) if v.rule.regime in order else 99,
            _when(v.rule.effective_from),
            v.rule.id,
        )
    )
    return views


@rules_bp.get("")
@rules_bp.get("/")
@roles_required(*READERS)
def index() -> Any:
    cached = _current()
    pack = cached.pack
    views = cached.derive("views", _views)
    groups: dict[str, list[MeasureView]] = {}
    for v in views:
        groups.setdefault(v.regime_name, []).append(v)
    return render_template("rules/index.html", groups=groups, pack=pack, total=len(views))


def _example_rows(raw_examples: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    rows = []
    for item in raw_examples.get(kind) or []:
        ctx = item if "event" in item else {"event": item}
        ev = ctx["event"]
        rows.append({
            "event_id": ev.get("event_id"), "event_type": ev.get("event_type"), "occurred_at": str(ev.get("occurred_at")),
            "note": ctx.get("note"), "hits": len(ctx.get("hits") or []), "exemptions": len(ctx.get("exemptions") or []),
            "cap_usage": ctx.get("cap_usage"), "json": json.dumps(ctx, indent=2, default=str, ensure_ascii=False),
        })  # fmt: skip
    return rows


@rules_bp.get("/<rule_id>")
@roles_required(*READERS)
def detail(rule_id: str) -> Any:
    cached = _current()
    pack = cached.pack
    view = next((v for v in cached.derive("views", _views) if v.rule.id == rule_id), None)
    if view is None:
        abort(404)

    def _page(pack: RulePack) -> dict[str, Any]:
        text = pack.files.get(view.path, "")
        raw = parse_yaml(text) if text else {}
        examples = raw.get("examples") or {}
        return {
            "when_text": _yaml_block(raw.get("when")) if raw else "",
            "fire": _example_rows(examples, "fire"), "clear": _example_rows(examples, "clear"),
        }  # fmt: skip

    # The registers live in the store (changed by officers at any time): read them per request.
    entries = (
        []
        if not view.rule.uses_register("exemption") and not view.rule.uses_register("notification")
        else _register_entries(view.rule)
    )
    return render_template(
        "rules/detail.html",
        v=view,
        r=view.rule,
        pack=pack,
        entries=entries,
        **cached.derive(("detail", rule_id), _page),
    )


def _register_entries(rule: Rule) -> list[Any]:
    """Entries of the stored registers that may lift this rule (any state; the page says which)."""
    from engine.registers import store

    return [
        s
        for s in store.entries(regime=rule.regime)
        if not s.entry.covers or rule.id in s.entry.covers
    ]


def _yaml_block(value: Any) -> str:
    import yaml

    return (
        yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=100)
        if value is not None
        else ""
    )
