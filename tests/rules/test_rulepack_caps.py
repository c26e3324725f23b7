"""The caps ledger: running totals per cap period, derived from stored events, unit conversion,
ordering, replay cut-off, and the rules that use it (refined petroleum, crude, 2017 coal)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rulepack_support import repo_pack

from engine.models.events import Event
from engine.rules.caps import CapsLedger, MemoryEvents, StoredEvents, convert


def supply(
    eid: str,
    when: str,
    qty: float,
    unit: str = "bbl",
    hs: str = "271019",
    dest: str = "KP",
    origin: str = "CN",
    notification: str | None = "N-1",
    desc: str = "diesel",
) -> Event:
    return Event.model_validate({
        "event_id": eid, "event_type": "shipment", "occurred_at": when, "source": "test",
        "shipment": {"origin": {"country": origin}, "destination": {"country": dest},
                     "goods": [{"hs_code": hs, "description": desc, "quantity": qty, "unit": unit}] if hs else
                              [{"description": desc, "quantity": qty, "unit": unit}],
                     "notification_ref": notification},
    })  # fmt: skip


def ledger(events: list[Event]) -> CapsLedger:
    return CapsLedger(repo_pack().rules, MemoryEvents(list(events)))


def test_three_supplies_cross_the_refined_petroleum_cap_on_the_third() -> None:
    rule = repo_pack().rule("UNSCR-2397-OP5")
    evs = [supply("a", "2019-02-01T00:00:00Z", 200_000), supply("b", "2019-05-01T00:00:00Z", 200_000),
           supply("c", "2019-09-01T00:00:00Z", 150_000)]  # fmt: skip
    led = ledger(evs)
    totals = [led.usage(rule.id, rule.cap, e, 0) for e in evs]
    assert [u.prior for u in totals] == [0, 200_000, 400_000]
    assert [u.total > rule.cap.amount for u in totals] == [False, False, True]


def test_order_of_arrival_does_not_change_the_total_and_other_years_do_not_count() -> None:
    rule = repo_pack().rule("UNSCR-2397-OP5")
    late = supply("z-late", "2019-12-31T23:00:00Z", 10)
    evs = [late, supply("x", "2019-03-01T00:00:00Z", 300_000), supply("y", "2018-12-31T23:59:59Z", 400_000),
           supply("w", "2019-04-01T00:00:00Z", 300_000, dest="JP")]  # fmt: skip
    u = ledger(evs).usage(rule.id, rule.cap, late, 0)
    assert u.prior == 300_000  # 2018 and the supply to Japan are not counted


def test_tonnes_convert_to_barrels_and_mixed_units_add_up() -> None:
    rule = repo_pack().rule("UNSCR-2397-OP5")
    evs = [supply("t", "2019-01-05T00:00:00Z", 1000, "t"), supply("m", "2019-01-06T00:00:00Z", 100, "m3"),
           supply("l", "2019-01-07T00:00:00Z", 158_987, "l")]  # fmt: skip
    u = ledger(evs).usage(rule.id, rule.cap, evs[2], 0)
    assert u.prior == pytest.approx(1000 * 7.45 + 100 * 6.28981)
    assert u.this == pytest.approx(1000.0)


def test_crude_cap_uses_the_resolution_ratio_and_a_rolling_window() -> None:
    rule = repo_pack().rule("UNSCR-2397-OP4")
    evs = [supply("c1", "2019-01-10T00:00:00Z", 300_000, "t", hs="270900", desc="crude oil"),
           supply("c2", "2019-11-10T00:00:00Z", 225_001, "t", hs="270900", desc="crude oil"),
           supply("c3", "2020-02-01T00:00:00Z", 10, "t", hs="270900", desc="crude oil")]  # fmt: skip
    led = ledger(evs)
    u2 = led.usage(rule.id, rule.cap, evs[1], 0)
    assert u2.total > 4_000_000  # 525,001 t is over the 525,000 t limit: the same cap in barrels
    u3 = led.usage(rule.id, rule.cap, evs[2], 0)
    assert u3.prior == pytest.approx(225_001 * 4_000_000 / 525_000)  # c1 fell out of the 12 months


def test_coal_cap_in_dollars_uses_line_values_and_unknown_units_are_none() -> None:
    rule = repo_pack().rule("UNSCR-2321-OP26-2017-USD")
    ev = Event.model_validate({
        "event_id": "coal", "event_type": "shipment", "occurred_at": "2017-03-01T00:00:00Z", "source": "t",
        "shipment": {"origin": {"country": "KP"}, "destination": {"country": "CN"},
                     "goods": [{"hs_code": "270112", "description": "anthracite", "quantity": 5, "unit": "pcs",
                                "value": {"amount": 1_000_000, "currency": "USD"}},
                               {"hs_code": "270112", "description": "anthracite", "quantity": 5, "unit": "pcs"}]},
    })  # fmt: skip
    led = ledger([ev])
    assert led.usage(rule.id, rule.cap, ev, 0).this == 1_000_000
    assert led.usage(rule.id, rule.cap, ev, 1) is None  # no USD value: total unknown -> flagged low
    t_rule = repo_pack().rule("UNSCR-2321-OP26-2017-T")
    assert led.usage(t_rule.id, t_rule.cap, ev, 0) is None  # pieces cannot become tonnes


def test_convert_factors() -> None:
    g = supply("g", "2019-01-01T00:00:00Z", 1, "bbl").shipment.goods[0]
    assert convert(g, "l") == pytest.approx(158.987)
    assert convert(g, "t") == pytest.approx(1 / 7.45)


def test_stored_events_ledger_matches_memory_and_replay_cuts_at_receipt(db) -> None:
    from engine.storage.repository import sha256_of, store_events

    rule = repo_pack().rule("UNSCR-2397-OP5")
    evs = [supply("s1", "2019-02-01T00:00:00Z", 200_000), supply("s2", "2019-05-01T00:00:00Z", 200_000),
           supply("s3", "2019-09-01T00:00:00Z", 150_000)]  # fmt: skip
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    for i, e in enumerate(evs):
        raw = e.model_dump(mode="json", exclude_none=True)
        store_events([(raw, e, sha256_of(raw))], received_at=t0 + timedelta(hours=i))
    live = CapsLedger(repo_pack().rules, StoredEvents())
    assert live.usage(rule.id, rule.cap, evs[2], 0).prior == 400_000
    assert live.usage(rule.id, rule.cap, evs[2], 0) == ledger(evs).usage(
        rule.id, rule.cap, evs[2], 0
    )
    # replay of s3 as decided when only s1 had been received: s2 arrived later, so it does not count
    replay = live.replaying(t0 + timedelta(minutes=30))
    assert replay.usage(rule.id, rule.cap, evs[2], 0).prior == 200_000


def test_default_evaluator_counts_stored_supplies_against_the_cap(db) -> None:
    """The worker's evaluator finds the caps ledger by itself and reads the events table."""
    from engine.rules.evaluator import default_evaluator, reset_default_evaluator
    from engine.storage.repository import sha256_of, store_events

    reset_default_evaluator()
    evs = [
        supply("d1", "2019-02-01T00:00:00Z", 300_000),
        supply("d2", "2019-06-01T00:00:00Z", 250_000),
    ]
    for e in evs:
        raw = e.model_dump(mode="json", exclude_none=True)
        store_events([(raw, e, sha256_of(raw))])
    ev = default_evaluator()
    try:
        first, second = ev.evaluate_many(evs)
        assert "UNSCR-2397-OP5" not in {v.rule_id for v in first.violations}
        over = [v for v in second.violations if v.rule_id == "UNSCR-2397-OP5"]
        assert over and "550000" in over[0].reason.replace(",", "").replace(".0", "")
    finally:
        reset_default_evaluator()
