"""Dashboard figures from real rows: open matrix, alerts per week (SVG), median time to close."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import web_seed
from sqlalchemy import update


def test_dashboard_figures(db, login_as) -> None:
    from engine.storage.db import session_scope
    from engine.storage.tables import AlertRow
    from web import create_app
    from web.desk.dashboard import alerts_per_week, median_time_to_close

    now = datetime.now(UTC)
    a_old = web_seed.store(
        web_seed.shipment("d-1"),
        [web_seed.violation("dprk-coal", severity="high")],
        created_at=now - timedelta(weeks=3),
    )[0]
    web_seed.store(
        web_seed.shipment("d-2"),
        [web_seed.violation("iran-arms", regime="Iran", severity="critical")],
        created_at=now - timedelta(weeks=1),
    )[0]
    closed1 = web_seed.store(
        web_seed.shipment("d-3"),
        [web_seed.violation("dprk-coal", severity="low")],
        created_at=now - timedelta(days=5),
    )[0]
    closed2 = web_seed.store(
        web_seed.shipment("d-4"),
        [web_seed.violation("dprk-coal", severity="low")],
        created_at=now - timedelta(days=5),
    )[0]
    closed3 = web_seed.store(
        web_seed.shipment("d-5"),
        [web_seed.violation("dprk-coal", severity="low")],
        created_at=now - timedelta(days=5),
    )[0]
    web_seed.najin_dunay()  # created now, critical DPRK, open
    with session_scope() as s:
        for alert_id, hours in ((closed1, 2), (closed2, 10), (closed3, 30)):
            s.execute(
                update(AlertRow)
                .where(AlertRow.id == alert_id)
                .values(
                    status="closed",
                    resolution="duplicate",
                    closed_at=now - timedelta(days=5) + timedelta(hours=hours),
                )
            )
        assert median_time_to_close(s) == timedelta(hours=10)
        weeks = dict(alerts_per_week(s, now))

    # Expected week keys from the ISO calendar (Monday 00:00 UTC), not from the code under test.
    def monday(t: datetime) -> datetime:
        year, week, _day = t.isocalendar()
        return datetime.combine(date.fromisocalendar(year, week, 1), time(0), tzinfo=UTC)

    five_days_ago_same_week = monday(now - timedelta(days=5)) == monday(now)
    assert weeks[monday(now)] == 1 + (3 if five_days_ago_same_week else 0)
    assert weeks[monday(now - timedelta(weeks=3))] == 1
    assert sum(weeks.values()) == 6

    app = create_app({"TESTING": True})
    client = app.test_client()
    login_as(client, "auditor")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "10 h 0 min" in html  # median
    assert f"#{a_old} " in html  # oldest open
    assert re.search(r'<span class="big">3</span> open alerts', html)
    dprk_row = re.search(r">DPRK</a></th>(.*?)</tr>", html, re.S).group(1)
    assert re.findall(r"<td>(?:<a [^>]*>)?(\d+)", dprk_row) == ["1", "1", "0", "0", "2"]
    assert "<svg" in html and html.count("<rect") == 12 and "Alerts raised per week" in html
    iran_row = re.search(r">Iran</a></th>(.*?)</tr>", html, re.S).group(1)
    assert re.findall(r"<td>(?:<a [^>]*>)?(\d+)", iran_row) == ["1", "0", "0", "0", "1"]
