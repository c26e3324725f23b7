"""Delistings beside alerts: an alert citing a list entry that a newer snapshot dropped says so on
its page and carries a badge in the queue; nothing is closed. Real UN list files (2026-02-27 has
QDe.137, 2026-05-08 no longer has it)."""

from __future__ import annotations

import re

import web_seed
from lists_support import list_file
from sqlalchemy import select

from engine.lists.importer import import_list
from engine.models.decisions import Evidence

REMOVED_TEXT = "QDe.137</a> (AL-NUSRAH FRONT FOR THE PEOPLE OF THE LEVANT) was removed from the list in the snapshot of 2026-05-08"


def _hit(reference: str, name: str, regime: str) -> Evidence:
    """Evidence shaped like a screening hit (as retro-screening and the asset-freeze rules write)."""
    return Evidence(
        path="shipment.parties[1].name",
        value={
            "reference": reference,
            "entry_name": name,
            "list_regime": regime,
            "method": "name_exact",
            "score": 1.0,
            "list_version": "sha-of-the-snapshot",
        },
        note=f"party name matches {reference}",
    )


def seed(event_id: str, reference: str, name: str, regime: str, consignee: str) -> int:
    v = web_seed.violation(f"asset-freeze-{regime}", regime=regime, severity="critical")
    v.evidence = [_hit(reference, name, regime)]
    (alert_id,) = web_seed.store(web_seed.shipment(event_id, consignee=consignee), [v])
    return alert_id


def badge_rows(html: str) -> set[int]:
    # (a reviewer's row starts with its bulk checkbox)
    rows = re.findall(
        r'<tr>\s*(?:<td><input [^>]*></td>\s*)?<td><a href="/alerts/(\d+)">\1</a></td>(.*?)</tr>',
        html,
        re.S,
    )
    return {int(i) for i, body in rows if 'class="tag delisted"' in body}


def test_delisted_entry_shown_on_open_alert_and_badged_in_queue(client) -> None:
    import_list(str(list_file("2026-02-27")), retro=False)
    nusra = seed(
        "e-nusra",
        "QDe.137",
        "AL-NUSRAH FRONT FOR THE PEOPLE OF THE LEVANT",
        "Al-Qaida",
        "Al-Nusrah Front for the People of the Levant",
    )
    ftb = seed("e-ftb", "KPe.047", "FOREIGN TRADE BANK (FTB)", "DPRK", "Foreign Trade Bank")

    # Only the older snapshot: QDe.137 is still listed, nothing is marked.
    page = client.get(f"/alerts/{nusra}").text
    assert "was removed from the list" not in page
    assert badge_rows(client.get("/alerts").text) == set()

    import_list(str(list_file("2026-05-08")), retro=False)
    page = client.get(f"/alerts/{nusra}").text
    assert REMOVED_TEXT + "; this alert stays open until a reviewer closes it." in page
    assert 'href="/lists/entry/QDe.137"' in page
    other = client.get(f"/alerts/{ftb}").text
    assert "was removed from the list" not in other  # KPe.047 is still listed in 2026-05-08

    assert badge_rows(client.get("/alerts").text) == {nusra}

    # Delistings close nothing.
    from engine.storage.db import session_scope
    from engine.storage.tables import AlertRow

    with session_scope() as s:
        assert s.scalar(select(AlertRow.status).where(AlertRow.id == nusra)) == "open"


def test_closed_alert_states_the_delisting_without_the_open_note(client) -> None:
    import_list(str(list_file("2026-02-27")), retro=False)
    import_list(str(list_file("2026-05-08")), retro=False)
    nusra = seed(
        "e-nusra",
        "QDe.137",
        "AL-NUSRAH FRONT FOR THE PEOPLE OF THE LEVANT",
        "Al-Qaida",
        "Al-Nusrah Front for the People of the Levant",
    )
    resp = client.post(
        f"/alerts/{nusra}/close",
        # (true positive: a critical duplicate now waits for a second senior officer, issue 14)
        data={
            "resolution": "true_positive",
            "note": "confirmed",
            "csrf_token": _csrf(client, nusra),
        },
    )
    assert resp.status_code in (302, 303)
    page = client.get(f"/alerts/{nusra}").text
    assert "state-closed" in page
    assert REMOVED_TEXT + " (last listed in the snapshot of 2026-02-27)." in page
    assert "stays open until a reviewer closes it" not in page


def _csrf(client, alert_id: int) -> str:
    html = client.get(f"/alerts/{alert_id}").text
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
