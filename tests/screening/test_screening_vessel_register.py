"""The designated-vessel register encoded from shared/data/un-vessels: every episode screened only
on its own dates. Expectations are read from the shared CSV with the csv module, independently of
the encoder and the register parser."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path

import pytest
from conftest import SHARED

from engine.config import PROJECT_ROOT
from engine.models.events import Event
from engine.screening.service import Screener
from engine.screening.vessel_csv import encode
from engine.screening.vessels import load_register

REGISTER = PROJECT_ROOT / "rules" / "vessels" / "designated-vessels.yaml"
CSV = SHARED / "data" / "un-vessels" / "designated-vessels.csv"
# at module level a missing ../shared must skip the module, not fail its collection
pytestmark = pytest.mark.skipif(not CSV.exists(), reason=f"shared reference data not found: {CSV}")


@cache
def rows() -> list[dict[str, str]]:
    return list(csv.DictReader(Path(CSV).open(encoding="utf-8")))


@cache
def screener() -> Screener:
    return Screener([], load_register(REGISTER))


def movement(day: date, name: str | None = None, imo: str | None = None) -> Event:
    vessel = {"name": name or "UNNAMED", **({"imo": imo} if imo else {})}
    return Event.model_validate(
        {
            "event_id": f"mv-{day}",
            "event_type": "vessel_movement",
            "occurred_at": datetime.combine(day, time(12), UTC).isoformat(),
            "source": "test",
            "vessel_movement": {"kind": "port_call", "vessel": vessel, "port": {"country": "CN"}},
        }
    )


def refs(day: date, **vessel: str) -> dict[str, object]:
    return {h.reference: h for h in screener().screen(movement(day, **vessel))}


def test_the_committed_register_is_the_encoding_of_the_shared_table() -> None:
    assert REGISTER.read_text(encoding="utf-8") == encode(Path(CSV).read_text(encoding="utf-8"))
    reg = load_register(REGISTER)
    assert len(reg.vessels) == len(rows()) == 71
    for v, r in zip(reg.vessels, rows(), strict=True):
        assert (v.name, v.imo or "", v.regime) == (r["name"], r["imo"], r["regime"])
        assert str(v.designated_on or "") == r["designated_on"]
        assert str(v.removed_on or "") == r["removed_on"]
        assert v.confidence == r["confidence"]
        # every entry not read in a UN document says so
        assert bool(v.unverified) == (r["confidence"] != "V"), v.name


def test_every_episode_with_an_imo_counts_only_on_its_own_dates() -> None:
    by_imo: dict[str, list[dict[str, str]]] = {}
    for r in rows():
        if r["imo"] and r["designated_on"]:
            by_imo.setdefault(r["imo"], []).append(r)

    def designated(imo: str, day: date) -> bool | None:
        """None: an episode that has ended on a day the table does not give (U rows)."""
        for r in by_imo[imo]:
            start = date.fromisoformat(r["designated_on"])
            end = date.fromisoformat(r["removed_on"]) if r["removed_on"] else None
            ended_unknown = end is None and bool(r["removal_basis"])
            if start <= day and ended_unknown:
                return None
            if start <= day and (end is None or day < end):
                return True
        return False

    checked = 0
    for imo, episodes in by_imo.items():
        for r in episodes:
            start = date.fromisoformat(r["designated_on"])
            days = [start - timedelta(days=1), start, start + timedelta(days=10)]
            if r["removed_on"]:
                end = date.fromisoformat(r["removed_on"])
                days += [end - timedelta(days=1), end, end + timedelta(days=400)]
            for day in days:
                hit = any(
                    k.endswith(f"IMO{imo}") for k in refs(day, name="SOMETHING ELSE", imo=imo)
                )
                expected = designated(imo, day)
                if expected is not None:
                    assert hit == expected, (r["name"], imo, day)
                checked += 1
    assert checked >= 200


def test_the_four_annex_iii_vessels_removed_on_21_march_2016() -> None:
    removed = [r for r in rows() if r["removed_on"] == "2016-03-21"]
    assert {r["name"] for r in removed} == {"JH 86", "JIN TAI", "JIN TENG", "GRAND KARO"}
    for r in removed:
        assert refs(date(2016, 3, 20), imo=r["imo"]), r["name"]
        assert not refs(date(2016, 3, 21), imo=r["imo"]), r["name"]
        assert refs(date(2016, 3, 10), name=r["name"]) != {}, r["name"]
        assert refs(date(2017, 1, 1), name=r["name"]) == {}, r["name"]


def test_a_removal_known_only_by_month_is_flagged_then_marked_then_clear() -> None:
    # DAWNLIGHT: removed from Annex III "on a Saturday in December 2016", exact date not found
    r = next(r for r in rows() if r["name"] == "DAWNLIGHT")
    assert not r["removed_on"] and "December 2016" in r["removal_basis"]
    before = refs(date(2016, 11, 30), imo=r["imo"])
    assert [h.designation_status for h in before.values()] == ["listed"]
    inside = list(refs(date(2016, 12, 15), imo=r["imo"]).values())
    assert [h.designation_status for h in inside] == ["removal_window"]
    assert inside[0].designation_window == [date(2016, 12, 1), date(2016, 12, 31)]
    assert "between 2016-12-01 and 2016-12-31" in inside[0].explanation
    assert refs(date(2017, 1, 1), imo=r["imo"]) == {}


def test_same_hull_two_episodes() -> None:
    # EVER BRIGHT 88 (Annex III, removed Dec 2016) is FAN KE (designated 30 Mar 2018)
    first = refs(date(2016, 6, 1), imo="8914934")
    assert [h.entry_name for h in first.values()] == ["EVER BRIGHT 88"]
    assert refs(date(2017, 6, 1), imo="8914934") == {}
    second = refs(date(2018, 4, 1), imo="8914934")
    assert [h.entry_name for h in second.values()] == ["FAN KE"]


def test_time_limited_libya_designation_distya_ameya() -> None:
    r = next(r for r in rows() if r["name"] == "DISTYA AMEYA")
    assert (r["designated_on"], r["removed_on"]) == ("2016-04-27", "2016-05-12")
    assert refs(date(2016, 4, 26), name="DISTYA AMEYA") == {}
    on = list(refs(date(2016, 4, 27), name="Distya Ameya").values())
    assert [(h.list_regime, h.entry_kind) for h in on] == [("Libya", "vessel")]
    assert refs(date(2016, 5, 11), name="DISTYA AMEYA")
    assert refs(date(2016, 5, 12), name="DISTYA AMEYA") == {}
    # its former name is the same hull
    assert refs(date(2016, 5, 1), name="KASSOS")


def test_a_vessel_without_dates_is_recorded_not_screened() -> None:
    r = next(r for r in rows() if r["name"] == "LYNN S")
    assert not r["designated_on"]
    assert any(v.name == "LYNN S" for v in load_register(REGISTER).vessels)
    assert refs(date(2017, 8, 15), name="LYNN S") == {}


def test_libya_designated_vessel_decision_respects_its_dates() -> None:
    from engine.rules.evaluator import Evaluator
    from engine.rules.loader import load_pack

    evaluator = Evaluator(load_pack(), screener=screener())

    def loading(day: str) -> Event:
        return Event.model_validate(
            {
                "event_id": f"ly-{day}",
                "event_type": "shipment",
                "occurred_at": f"{day}T10:00:00Z",
                "source": "test",
                "shipment": {
                    "mode": "sea",
                    "origin": {"country": "LY"},
                    "destination": {"country": "MT"},
                    "goods": [{"hs_code": "270900", "description": "crude petroleum"}],
                    "parties": [{"role": "shipper", "name": "Some Trader"}],
                    "vessel": {"name": "DISTYA AMEYA", "flag": "IN"},
                },
            }
        )

    during = evaluator.evaluate(loading("2016-05-01"))
    assert "UNSCR-2146-OP10" in {v.rule_id for v in during.violations}
    after = evaluator.evaluate(loading("2016-06-01"))
    assert "UNSCR-2146-OP10" not in {v.rule_id for v in after.violations}
