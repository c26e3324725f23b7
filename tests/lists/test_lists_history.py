"""Designation history from the six real snapshots: who was listed on a day between them.

Expected days come from the files themselves (LISTED_ON, dateGenerated, presence), never from the
code under test; the screener is asked by name and identifier as an onboarding would.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache

import pytest
from lists_support import FILES, parsed

from engine.lists.history import SnapshotFile, build_history, reconstruction_version
from engine.models.events import Event
from engine.screening.designations import from_files
from engine.screening.service import Screener

DAYS = sorted(FILES)


def _files(days=DAYS) -> list[SnapshotFile]:
    return [
        SnapshotFile(parsed(d).sha256, parsed(d).date_generated, parsed(d).entries) for d in days
    ]


@cache
def history():
    return build_history(_files())


@cache
def screener() -> Screener:
    return Screener([from_files(_files())])


def onboarding(at: str, name: str, bic: str | None = None) -> Event:
    entity = {"id": "c-1", "action": "onboard", "name": name, "kind": "organization"}
    if bic:
        entity["identifiers"] = {"bic": bic}
    return Event.model_validate(
        {
            "event_id": f"onb-{at}",
            "event_type": "entity",
            "occurred_at": at,
            "source": "test",
            "entity": entity,
        }
    )


def _generated(day: str) -> date:
    return parsed(day).date_generated.date()


def test_ftb_onboardings_between_snapshots_are_flagged_from_its_listing_date() -> None:
    ftb = next(e for e in parsed("2026-05-08").entries if e.reference == "KPe.047")
    assert ftb.listed_on == date(2017, 8, 5)
    assert all(e.reference != "KPe.047" for e in parsed("2017-07-03").entries)
    for at in ("2018-02-01T09:00:00Z", "2020-01-15T09:00:00Z", "2021-03-01T09:00:00Z"):
        for ev in (
            onboarding(at, "Foreign Trade Bank of the DPRK", "FTBDKPPY"),
            onboarding(at, "FOREIGN TRADE BANK"),
        ):
            hits = screener().screen(ev)
            assert [h.reference for h in hits] == ["KPe.047"], (at, hits)
            assert hits[0].designation_status == "listed"
            assert hits[0].listed_on == date(2017, 8, 5)
            assert "listed on 2017-08-05" in hits[0].explanation
            assert hits[0].list_version == history().version
    # the day before its listing it was not designated
    assert screener().screen(onboarding("2017-08-04T09:00:00Z", "FOREIGN TRADE BANK")) == []


def test_every_entry_listed_between_two_snapshots_counts_from_its_listing_date() -> None:
    checked = 0
    for before, after in zip(DAYS, DAYS[1:], strict=False):
        known = {e.reference for e in parsed(before).entries}
        lo, hi = _generated(before), _generated(after)
        for e in parsed(after).entries:
            if e.reference in known or not e.listed_on or not lo < e.listed_on <= hi:
                continue
            on, day_before = e.listed_on, e.listed_on - timedelta(days=1)
            at = datetime.combine(on, datetime.min.time(), UTC).replace(hour=12)
            found = screener().screen_name(e.name, at)
            assert e.reference in {h.reference for h in found}, (e.reference, e.name, on)
            h = next(h for h in found if h.reference == e.reference)
            assert h.designation_status == "listed"
            earlier = screener().screen_name(e.name, at - timedelta(days=1))
            assert e.reference not in {h.reference for h in earlier}, (e.reference, day_before)
            checked += 1
    assert checked >= 100  # 2017->2020 alone lists dozens of DPRK entries


def test_an_entry_removed_between_two_snapshots_is_flagged_then_marked_then_clear() -> None:
    name = "AL-NUSRAH FRONT FOR THE PEOPLE OF THE LEVANT"
    assert any(e.reference == "QDe.137" for e in parsed("2026-02-27").entries)
    assert all(e.reference != "QDe.137" for e in parsed("2026-05-08").entries)
    lo, hi = _generated("2026-02-27"), _generated("2026-05-08")

    def hits(at: str):
        return [h for h in screener().screen(onboarding(at, name)) if h.reference == "QDe.137"]

    before = hits("2026-01-15T00:00:00Z")
    assert before and before[0].designation_status == "listed"
    inside = hits("2026-04-01T00:00:00Z")
    assert inside and inside[0].designation_status == "removal_window"
    assert inside[0].designation_window == [lo, hi]
    assert f"between {lo}" in inside[0].explanation and str(hi) in inside[0].explanation
    assert hits("2026-05-09T00:00:00Z") == []
    assert hits("2027-01-01T00:00:00Z") == []


def test_every_removal_between_consecutive_snapshots_has_its_window() -> None:
    by_key = history().by_key()
    checked = 0
    for before, after in zip(DAYS, DAYS[1:], strict=False):
        now = {e.reference for e in parsed(after).entries}
        lo, hi = _generated(before), _generated(after)
        later = {e.reference for d in DAYS[DAYS.index(after) :] for e in parsed(d).entries}
        for e in parsed(before).entries:
            if e.reference in now or e.reference in later:
                continue  # still (or again) listed
            h = by_key[e.reference]
            assert h.standing(lo).status == "listed", e.reference
            mid = lo + (hi - lo) / 2
            st = h.standing(mid)
            assert st.status == "removal_window" and st.window is not None, e.reference
            assert st.window[1] == hi and st.window[0] >= lo
            assert h.standing(hi).status == "not_listed"
            checked += 1
    assert checked >= 100  # 126 entries leave between 2017 and 2020 alone


def test_renumbered_dataid_is_not_a_removal() -> None:
    # KPe.068 changed DATAID between 2020 and 2024 and stayed listed throughout
    ids = {e.dataid for d in DAYS for e in parsed(d).entries if e.reference == "KPe.068"}
    assert len(ids) == 2
    h = history().by_key()["KPe.068"]
    for day in (date(2019, 1, 1), date(2022, 6, 1), date(2026, 6, 1)):
        assert h.standing(day).status == "listed"


def test_a_corrected_listing_date_counts_from_the_earlier_day() -> None:
    old = next(e for e in parsed("2017-07-03").entries if e.reference == "TAi.004")
    new = next(e for e in parsed("2026-05-08").entries if e.reference == "TAi.004")
    assert new.listed_on < old.listed_on
    h = history().by_key()["TAi.004"]
    assert h.start == new.listed_on
    assert h.standing(new.listed_on).status == "listed"
    assert h.standing(new.listed_on - timedelta(days=1)).status == "not_listed"
    assert (old.listed_on, _generated("2017-07-03")) in h.listed_on_values


def test_a_regime_list_that_lapsed_and_came_back() -> None:
    # Iran entries: in 2017 and 2020, absent in 2024 and 2025 (2231 termination), back in 2026
    h = history().by_key()["IRi.001"]
    assert h.standing(date(2019, 1, 1)).status == "listed"
    gap = h.standing(date(2022, 1, 1))
    assert gap.status == "removal_window"
    assert gap.window == (_generated("2020-11-30"), _generated("2024-09-26"))
    assert h.standing(date(2025, 1, 1)).status == "not_listed"
    back = h.standing(date(2025, 10, 1))
    assert back.status == "listing_window"
    assert back.window == (_generated("2025-04-19"), _generated("2026-02-27"))
    assert h.standing(date(2026, 3, 1)).status == "listed"


def test_amendment_days_narrow_a_removal_window() -> None:
    from dataclasses import replace

    real = next(e for e in parsed("2017-07-03").entries if e.reference == "KPe.001")
    amended = replace(real, fields={**real.fields, "LAST_DAY_UPDATED": ["2019-05-05"]})
    files = [
        SnapshotFile("a" * 64, datetime(2017, 7, 4, tzinfo=UTC), [real]),
        SnapshotFile("b" * 64, datetime(2021, 1, 1, tzinfo=UTC), []),
        SnapshotFile("c" * 64, datetime(2023, 1, 1, tzinfo=UTC), [amended]),
    ]
    # off the list in 2021, back in 2023 carrying an amendment of 2019: listed on that day, so
    # its removal lies after it
    h = build_history(files).by_key()["KPe.001"]
    assert h.standing(date(2019, 5, 5)).status == "listed"
    assert h.standing(date(2020, 1, 1)).window == (date(2019, 5, 5), date(2021, 1, 1))
    assert h.standing(date(2022, 1, 1)).window == (date(2021, 1, 1), date(2023, 1, 1))


def test_reconstruction_version_is_the_set_of_snapshots() -> None:
    shas = [parsed(d).sha256 for d in DAYS]
    assert history().version == reconstruction_version(list(reversed(shas)))
    assert reconstruction_version(shas[:1]) != shas[0]
    assert build_history(_files(DAYS[:2])).version != history().version


@pytest.mark.parametrize("day", ["2010-01-01", "2016-01-01"])
def test_events_older_than_every_snapshot_use_the_listing_dates(day: str) -> None:
    # KPe.001 KOMID listed 2009-04-24: designated in 2010, whatever snapshots were imported
    hits = screener().screen_name(
        "KOREA MINING DEVELOPMENT TRADING CORPORATION",
        datetime.fromisoformat(day + "T00:00:00+00:00"),
    )
    assert "KPe.001" in {h.reference for h in hits}
    assert (
        screener().screen_name(
            "KOREA MINING DEVELOPMENT TRADING CORPORATION", datetime(2009, 4, 1, tzinfo=UTC)
        )
        == []
    )
