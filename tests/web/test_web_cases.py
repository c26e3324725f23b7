"""The case queue and case page: occurrences joined, search, overdue badge, close as duplicate
naming the case (four eyes for critical), merge and split through the web."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
import web_seed
from sqlalchemy import select, update
from web_support import desk_app, logged_in, post_form

from engine.cases.tables import CaseAlertRow, CaseRow
from engine.storage.db import session_scope
from engine.storage.tables import AlertRow


@pytest.fixture
def as_role(db, login_as):
    return partial(logged_in, desk_app(), login_as, page="/cases")


def _post(client, url: str, **data):
    return post_form(client, url, follow_redirects=True, **data)


def _ship(event_id: str, imo: str, consignee: str = "Dunay Logistics LLC") -> dict:
    raw = web_seed.shipment(event_id, consignee=consignee)
    raw["shipment"]["vessel"] = {"name": "ANGARA " + event_id, "imo": imo}
    return raw


def _case(alert_id: int) -> int:
    with session_scope() as s:
        return s.scalar(select(CaseAlertRow.case_id).where(CaseAlertRow.alert_id == alert_id))


def test_queue_and_case_page_show_the_joined_occurrence(as_role) -> None:
    (a,) = web_seed.store(_ship("cw-1", "9179842"), [web_seed.violation("A")])
    (b,) = web_seed.store(_ship("cw-2", "9179842"), [web_seed.violation("B")])
    (other,) = web_seed.store(_ship("cw-3", "9000001", "Unrelated Co"), [web_seed.violation("A")])
    officer = as_role("officer")
    case_id = _case(a)
    assert _case(b) == case_id != _case(other)
    page = officer.get("/cases").get_data(as_text=True)
    assert f'/cases/{case_id}"' in page and f'/cases/{_case(other)}"' in page
    found = officer.get("/cases?q=9179842").get_data(as_text=True)
    assert f'/cases/{case_id}"' in found and f'/cases/{_case(other)}"' not in found
    detail = officer.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "cw-1" in detail and "cw-2" in detail
    assert "linked occurrence (same imo:9179842)" in detail
    assert f'/alerts/{a}"' in detail and f'/alerts/{b}"' in detail


def test_overdue_badge_after_the_severity_due_time(as_role, monkeypatch) -> None:
    monkeypatch.setenv("SANCTIONS_SLA_HOURS", "high=2")
    (a,) = web_seed.store(_ship("od-1", "9000002"), [web_seed.violation("A", severity="high")])
    (b,) = web_seed.store(_ship("od-2", "9000003"), [web_seed.violation("A", severity="high")])
    with session_scope() as s:
        s.execute(
            update(CaseRow)
            .where(CaseRow.id == _case(a))
            .values(opened_at=datetime.now(UTC) - timedelta(hours=3))
        )
    officer = as_role("officer")
    rows = officer.get("/cases?overdue=1").get_data(as_text=True)
    assert f'/cases/{_case(a)}"' in rows and f'/cases/{_case(b)}"' not in rows
    assert 'class="badge overdue"' in rows
    assert (
        "overdue"
        not in officer.get(f"/cases/{_case(b)}")
        .get_data(as_text=True)
        .split("<h2>Alerts")[0]
        .split("Due")[1]
    )


def test_close_as_duplicate_names_the_case_and_critical_needs_four_eyes(as_role) -> None:
    (a,) = web_seed.store(_ship("dup-1", "9000004"), [web_seed.violation("A", severity="critical")])
    (b,) = web_seed.store(_ship("dup-2", "9000005"), [web_seed.violation("A", severity="high")])
    officer = as_role("officer")
    refused = _post(
        officer, f"/cases/{_case(b)}/close", resolution="duplicate", note="same"
    ).get_data(as_text=True)
    assert "names the case it duplicates" in refused
    _post(
        officer,
        f"/cases/{_case(b)}/close",
        resolution="duplicate",
        duplicate_of=str(_case(a)),
        note="same voyage",
    )
    with session_scope() as s:
        case = s.get(CaseRow, _case(b))
        assert (case.status, case.resolution, case.duplicate_of) == (
            "closed",
            "duplicate",
            _case(a),
        )
    page = _post(
        officer,
        f"/cases/{_case(a)}/close",
        resolution="duplicate",
        duplicate_of=str(_case(b)),
        note="x",
    ).get_data(as_text=True)
    assert "wait for a second senior officer" in page
    with session_scope() as s:
        assert s.get(AlertRow, a).status == "pending_approval"
        assert s.get(CaseRow, _case(a)).status == "open"


def test_merge_and_split_from_the_case_page(as_role) -> None:
    (a,) = web_seed.store(_ship("ms-1", "9000006"), [web_seed.violation("A")])
    (b,) = web_seed.store(_ship("ms-2", "9000007"), [web_seed.violation("A")])
    ca, cb = _case(a), _case(b)
    officer = as_role("officer")
    assert "needs a note" in _post(officer, f"/cases/{cb}/merge", into=str(ca), note="").get_data(
        as_text=True
    )
    _post(officer, f"/cases/{cb}/merge", into=str(ca), note="same cargo")
    assert _case(b) == ca
    page = _post(officer, f"/cases/{ca}/split", alert_id=str(b), note="different buyer").get_data(
        as_text=True
    )
    assert "split out into case" in page
    assert _case(b) not in (ca, cb)
    auditor = as_role("auditor")
    assert (
        auditor.post(
            f"/cases/{ca}/merge", data={"csrf_token": auditor.token, "into": "1", "note": "x"}
        ).status_code
        == 403
    )


def test_ticked_rows_are_the_bulk_selection(as_role) -> None:
    ids = [
        web_seed.store(_ship(f"tk-{i}", f"900010{i}"), [web_seed.violation("A")])[0]
        for i in range(3)
    ]
    officer = as_role("officer")
    page = officer.get(f"/alerts/bulk?selected=1&action=assign&assign_to=me&alert_id={ids[1]}").text
    assert (
        f'value="{ids[1]}"' in page
        and f'value="{ids[0]}"' not in page
        and f'value="{ids[2]}"' not in page
    )
    nothing = officer.get(
        "/alerts/bulk?selected=1&action=assign&assign_to=me", follow_redirects=True
    ).text
    assert "Tick the rows to act on first." in nothing


def test_users_change_their_own_password(as_role) -> None:
    from werkzeug.security import check_password_hash

    from web.auth.accounts import get_user

    officer = as_role("officer", "olga")
    bad = _post(
        officer,
        "/account/password",
        current="nope",
        new="a new long password",
        repeat="a new long password",
    )
    assert "current password is wrong" in bad.text
    _post(
        officer,
        "/account/password",
        current="test-password-1",
        new="a new long password",
        repeat="a new long password",
    )
    user = get_user("olga")
    assert user is not None and check_password_hash(user.password_hash, "a new long password")
    assert officer.get("/cases").status_code == 200  # this browser stays logged in


def test_screening_evidence_reads_as_a_match_table_without_rule_syntax(as_role) -> None:
    from engine.models.decisions import Evidence

    v = web_seed.violation("AF", severity="high")
    v.evidence = [
        Evidence(path="shipment.parties[0]", value="DPRK", note="list_regime eq 'DPRK'"),
        Evidence(
            path="shipment.parties[0]",
            value="Korea Mining Devlopment Trading Corp",
            note="fuzzy name match [DPRK KPe.047]",
            screening={
                "reference": "KPe.047",
                "method": "name_fuzzy",
                "matched": "KOREA MINING DEVELOPMENT TRADING CORPORATION",
                "score": 0.93,
                "alignment": [
                    {
                        "query": "Devlopment",
                        "listed": "DEVELOPMENT",
                        "score": 0.9,
                        "how": "spelling",
                    }
                ],
            },
        ),
    ]
    (a,) = web_seed.store(_ship("mt-1", "9000020"), [v])
    html = as_role("officer").get(f"/alerts/{a}").text
    assert "list_regime eq" not in html and "list regime is &#39;DPRK&#39;" in html
    assert "Screening matches" in html and "0.93" in html and 'href="/lists/entry/KPe.047"' in html
    assert "Devlopment ↔ DEVELOPMENT (spelling)" in html


def test_audit_log_filters_by_action_and_case(as_role) -> None:
    (a,) = web_seed.store(_ship("au-1", "9000030"), [web_seed.violation("A")])
    (b,) = web_seed.store(_ship("au-2", "9000031"), [web_seed.violation("A")])
    officer = as_role("officer")
    _post(officer, f"/cases/{_case(b)}/merge", into=str(_case(a)), note="same cargo")
    _post(officer, f"/alerts/{b}/review")
    auditor = as_role("auditor")
    merged = auditor.get("/audit?action=merge_case").text
    assert "merge" in merged and "start review" not in merged.replace("_", " ")
    by_case = auditor.get(f"/audit?case={_case(a)}").text
    assert "absorb" in by_case and "start" in by_case
    assert "absorb" not in auditor.get(f"/audit?case={_case(a)}&to=2000-01-01").text
