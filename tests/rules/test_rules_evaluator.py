"""The Evaluator: decisions, evidence, reasons, confidence, exemptions, caps, wind-down."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.models.decisions import Decision
from engine.models.events import Event
from engine.models.screening import ScreeningHit
from engine.rules.evaluator import Evaluator
from engine.rules.exemptions import ExemptionRegister
from engine.rules.loader import load_pack
from engine.rules.oracle import Oracle
from engine.rules.schema import CapUsage, ExemptionEntry

ROOT = Path(__file__).resolve().parents[2]
ARMS = ROOT / "rules" / "dprk" / "arms"


@pytest.fixture(scope="module")
def arms(tmp_path_factory):
    pack = load_pack(_arms_dir(tmp_path_factory.mktemp("arms") / "rules"))
    ev = Evaluator(pack)
    yield ev
    ev.close()


def _arms_dir(root: Path) -> Path:
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(ARMS, root / "dprk" / "arms")
    return root


def najin(occurred="2023-09-07T06:00:00+09:00", **goods):
    return Event.model_validate({
        "event_id": f"najin-{occurred}", "event_type": "shipment", "occurred_at": occurred, "source": "t",
        "shipment": {
            "mode": "sea", "origin": {"country": "KP", "locode": "KPNJN", "name": "Najin"},
            "destination": {"country": "RU", "name": "Dunay"}, "vessel": {"name": "ANGARA", "flag": "RU"},
            "goods": [{"hs_code": "930690", "description": "artillery ammunition", "quantity": 300, "unit": "container", **goods}],
        },
    })  # fmt: skip


def test_najin_dunay_is_flagged_citing_1718_and_1874(arms):
    d = arms.evaluate(najin())
    assert d.status == "flagged"
    by_rule = {v.rule_id: v for v in d.violations}
    assert {"UNSCR-1718-OP8b", "UNSCR-1874-OP9"} <= set(by_rule)
    cited = {c.resolution for v in d.violations for c in v.citations}
    assert {"1718 (2006)", "1874 (2009)"} <= cited
    v = by_rule["UNSCR-1874-OP9"]
    paths = {(e.path, e.value) for e in v.evidence}
    assert ("shipment.goods[0].hs_code", "930690") in paths
    assert ("shipment.origin.country", "KP") in paths
    assert (
        "Najin (KP)" in v.reason and "Dunay (RU)" in v.reason and "on 2023-09-07" in v.reason
    )  # the date as the event states it
    assert v.severity == "critical" and v.regime == "DPRK"
    assert v.confidence == "medium"  # the rule's own confidence (paragraph number recalled)
    assert by_rule["UNSCR-1718-OP8b"].confidence == "high"
    assert d.rule_pack_version == arms.pack.version and d.engine_version


def test_all_three_demo_voyages_are_flagged(arms):
    demo = [
        Event.model_validate(e)
        for e in json.loads((ROOT / "demo" / "events.json").read_text())
        if e["event_id"].startswith("demo-tms:ANGARA")
    ]
    assert len(demo) == 3
    for d in arms.evaluate_many(demo):
        assert {"UNSCR-1718-OP8b", "UNSCR-1874-OP9"} <= {v.rule_id for v in d.violations}


def test_a_2002_shipment_breaches_nothing_that_did_not_exist(arms):
    d = arms.evaluate(najin("2002-09-07T06:00:00+09:00"))
    assert d.status == "clear" and d.violations == []


def test_effective_date_is_applied_to_the_utc_instant(arms):
    # 12 Jun 2009 06:00 in Pyongyang is 11 Jun 21:00 UTC: 1874 not yet in force.
    before = {v.rule_id for v in arms.evaluate(najin("2009-06-12T06:00:00+09:00")).violations}
    after = {v.rule_id for v in arms.evaluate(najin("2009-06-12T09:00:00+09:00")).violations}
    assert before == {"UNSCR-1718-OP8b"} and after == {"UNSCR-1718-OP8b", "UNSCR-1874-OP9"}


def test_confidence_levels_short_code_and_keyword(arms):
    short = arms.evaluate(najin(hs_code="93")).violations
    assert {v.confidence for v in short if v.rule_id == "UNSCR-1718-OP8b"} == {
        "high"
    }  # 93 is the prefix itself
    e = najin()
    e.shipment.goods[0].hs_code = None
    kw = {v.rule_id: v for v in arms.evaluate(e).violations}
    assert kw["UNSCR-1718-OP8b"].confidence == "low"
    assert any(ev.path == "shipment.goods[0].description" for ev in kw["UNSCR-1718-OP8b"].evidence)
    e.shipment.goods[0].description = "bicycles"
    assert arms.evaluate(e).status == "clear"


def test_short_declared_code_is_medium(arms):
    ev = najin(hs_code="89")  # measure names 8906.10 (warships); declared only chapter 89
    v = {x.rule_id: x for x in arms.evaluate(ev).violations}["UNSCR-1718-OP8b"]
    assert v.confidence == "medium"
    assert any("less specific" in (e.note or "") for e in v.evidence)


def test_evaluate_many_equals_evaluate(arms):
    events = [
        najin(),
        najin("2002-01-01T00:00:00Z"),
        najin(hs_code="8471"),
        najin("2016-03-02T00:00:00Z"),
    ]
    many = arms.evaluate_many(events)
    for e, d in zip(events, many, strict=True):
        one = arms.evaluate(e)
        assert d.model_dump(exclude={"evaluated_at"}) == one.model_dump(exclude={"evaluated_at"})
        Decision.model_validate(d.model_dump())  # decisions are valid contract objects


# -- engine features with rule files written for the test ---------------------------------------

RULE_TEMPLATE = """
id: {id}
regime: DPRK
title: test rule {id}
summary: A rule written by the test suite to exercise one engine feature.
citation: {{resolution: "2397 (2017)", paragraph: "5"}}
effective_from: 2018-01-01
severity: high
confidence: high
applies_to: [shipment]
{extra}
reason: "{{description}} to {{destination}} ({{citation}}); exemption {{exemption_status}}; total {{cap_total}} of {{cap_amount}} {{cap_unit}}"
examples:
  fire:
    - {{event_id: f, event_type: shipment, occurred_at: "2019-01-01T00:00:00Z", source: t, shipment: {{origin: {{country: CN}}, destination: {{country: KP}}, goods: [{{hs_code: "271019", quantity: 10, unit: bbl}}]}}}}
  clear:
    - {{event_id: c, event_type: shipment, occurred_at: "2019-01-01T00:00:00Z", source: t, shipment: {{origin: {{country: CN}}, destination: {{country: JP}}, goods: [{{hs_code: "271019", quantity: 10, unit: bbl}}]}}}}
"""


def write_rule(root: Path, rule_id: str, extra: str) -> None:
    d = root / "test"
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{rule_id}.yaml").write_text(RULE_TEMPLATE.format(id=rule_id, extra=extra))


def petrol(ref=None, when="2019-01-01T00:00:00Z", qty=10, notif=None):
    s = {
        "origin": {"country": "CN"},
        "destination": {"country": "KP", "name": "Nampo"},
        "goods": [{"hs_code": "271019", "description": "diesel", "quantity": qty, "unit": "bbl"}],
    }
    if ref:
        s["exemption_ref"] = ref
    if notif:
        s["notification_ref"] = notif
    return Event.model_validate(
        {
            "event_id": f"p-{ref}-{when}-{notif}",
            "event_type": "shipment",
            "occurred_at": when,
            "source": "t",
            "shipment": s,
        }
    )


REGISTER = ExemptionRegister([
    ExemptionEntry(ref="OK-1", kind="exemption", regime="DPRK", covers=["T-EXEMPT"], valid_from="2018-06-01", valid_to="2019-06-30"),
    ExemptionEntry(ref="OTHER", kind="exemption", regime="DPRK", covers=["SOMETHING-ELSE"], valid_from="2018-06-01"),
    ExemptionEntry(ref="N-1", kind="notification", regime="DPRK", valid_from="2017-01-01"),
])  # fmt: skip


@pytest.fixture(scope="module")
def feature_pack(tmp_path_factory):
    root = tmp_path_factory.mktemp("rules")
    write_rule(
        root,
        "T-EXEMPT",
        "when:\n  fact: goods\n  all: [{to: KP}, {goods: {hs: ['2710']}}]\n  unless: [{exemption: valid}]",
    )
    write_rule(
        root,
        "T-CAP",
        "when:\n  fact: goods\n  all: [{to: KP}, {goods: {hs: ['2710']}}]\ncap: {amount: 500000, unit: bbl, period: calendar_year}",
    )
    write_rule(
        root,
        "T-WIND",
        "wind_down: {until: 2019-01-31, requires: notification}\nwhen:\n  fact: goods\n  all: [{to: KP}, {goods: {hs: ['2710']}}]",
    )
    return load_pack(root)


class Caps:
    def __init__(self, usage):
        self.value = usage
        self.calls = []

    def usage(self, rule_id, cap, event, line):
        self.calls.append((rule_id, line))
        return self.value


@pytest.mark.parametrize(
    ("ref", "when", "fires", "reason_part"),
    [
        (None, "2019-01-01T00:00:00Z", True, "exemption none"),
        ("OK-1", "2019-01-01T00:00:00Z", False, None),
        ("OK-1", "2019-07-01T00:00:00Z", True, "expired (valid to 2019-06-30)"),
        ("OK-1", "2018-05-31T23:59:59Z", True, "not yet valid"),
        ("NOPE", "2019-01-01T00:00:00Z", True, "not in the exemption register"),
        ("OTHER", "2019-01-01T00:00:00Z", True, "does not cover this measure"),
    ],
)
def test_exemption_statuses(feature_pack, ref, when, fires, reason_part):
    ev = Evaluator(feature_pack, exemptions=REGISTER)
    d = ev.evaluate(petrol(ref, when))
    v = {x.rule_id: x for x in d.violations}.get("T-EXEMPT")
    assert (v is not None) == fires
    if reason_part:
        assert reason_part in v.reason
    assert Oracle(feature_pack, exemptions=REGISTER).fired_rules(petrol(ref, when)) >= (
        {"T-EXEMPT"} if fires else set()
    )


def test_cap_uses_the_running_total_from_the_ledger(feature_pack):
    caps = Caps(CapUsage(prior=499_995, this=10))
    d = Evaluator(feature_pack, caps=caps, exemptions=REGISTER).evaluate(petrol())
    v = {x.rule_id: x for x in d.violations}["T-CAP"]
    assert v.confidence == "high" and "total 500005 of 500000 bbl" in v.reason
    assert ("T-CAP", 0) in caps.calls
    caps.value = CapUsage(prior=400_000, this=10)
    assert "T-CAP" not in {
        x.rule_id for x in Evaluator(feature_pack, caps=caps).evaluate(petrol()).violations
    }


def test_unknown_running_total_is_flagged_low_never_silently_passed(feature_pack):
    d = Evaluator(feature_pack).evaluate(petrol())
    v = {x.rule_id: x for x in d.violations}["T-CAP"]
    assert v.confidence == "low" and "could not be computed" in v.reason


def test_wind_down_clears_notified_contracts_until_the_end_of_the_day(feature_pack):
    ev = Evaluator(feature_pack, exemptions=REGISTER)
    fired = lambda e: "T-WIND" in {x.rule_id for x in ev.evaluate(e).violations}  # noqa: E731
    assert not fired(petrol(when="2019-01-31T23:59:59Z", notif="N-1"))
    assert fired(petrol(when="2019-02-01T00:00:00Z", notif="N-1"))
    assert fired(petrol(when="2019-01-15T00:00:00Z"))  # no notification
    late = {
        x.rule_id: x
        for x in ev.evaluate(petrol(when="2019-02-01T00:00:00Z", notif="N-1")).violations
    }["T-WIND"]
    assert "wind-down period ended on 2019-01-31" in late.reason


def test_screener_hits_and_fuzzy_confidence(tmp_path):
    root = _arms_dir(tmp_path / "rules")
    (root / "test").mkdir()
    (root / "test" / "T-HIT.yaml").write_text(
        RULE_TEMPLATE.format(
            id="T-HIT",
            extra="when:\n  fact: hit\n  all: [{where: {list_regime: DPRK, entry_kind: [entity, individual]}}]",
        )
    )
    pack = load_pack(root)

    class Screener:
        def __init__(self, method):
            self.method = method

        def screen(self, event):
            return [ScreeningHit(path="shipment.parties[0]", role="consignee", queried="FTB", list_regime="DPRK", reference="KPe.047",
                                 entry_name="Foreign Trade Bank", entry_kind="entity", matched="FTB", method=self.method,
                                 score=0.9, explanation="name matched", list_version="L1")]  # fmt: skip

        def version_at(self, when):
            return "L1"

    for method, conf in (("bic", "high"), ("name_fuzzy", "medium")):
        d = Evaluator(pack, screener=Screener(method)).evaluate(petrol())
        v = {x.rule_id: x for x in d.violations}["T-HIT"]
        assert v.confidence == conf and d.list_version == "L1"
        assert any(
            e.path == "shipment.parties[0]" and "KPe.047" in (e.note or "") for e in v.evidence
        )


def test_prefilter_skips_events_no_rule_can_match_and_keeps_the_rest(arms):
    clean = najin(hs_code="8471")
    clean.shipment.origin.country = "DE"
    clean.shipment.origin.locode = None
    assert arms.facts_of(clean) == []  # nothing reaches the engine for a plainly clear event
    assert arms.evaluate(clean).status == "clear"
    facts = arms.facts_of(najin())
    assert [f.kind for f in facts] == ["goods"] and facts[0].fields["from__KP"] is True
    unfiltered = Evaluator(arms.pack, prefilter=False)
    assert unfiltered.match(unfiltered.facts_of(najin())) == arms.match(facts)
