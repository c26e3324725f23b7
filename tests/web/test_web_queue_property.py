"""The queue's SQL filter and sort agree with a plain Python reference on random alert sets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import web_seed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

REGIMES = ["DPRK", "Iran", "Libya"]
SEVERITIES = ["critical", "high", "medium", "low"]
STATES = ["open", "in_review", "escalated", "pending_approval", "closed"]
ASSIGNEES = [None, "olga", "sam"]
RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1}
BASE = datetime(2025, 1, 1, 12, tzinfo=UTC)

alert_st = st.fixed_dictionaries(
    {
        "regime": st.sampled_from(REGIMES),
        "severity": st.sampled_from(SEVERITIES),
        "status": st.sampled_from(STATES),
        "assignee": st.sampled_from(ASSIGNEES),
        "origin": st.sampled_from(["live", "retro_screening"]),
        "day": st.integers(0, 20),
    }
)
filter_st = st.fixed_dictionaries(
    {
        "regime": st.sampled_from(["", *REGIMES]),
        "severity": st.sampled_from(["", *SEVERITIES]),
        "status": st.sampled_from(["", "active", *STATES]),
        "assignee": st.sampled_from(["", "-", "olga", "sam"]),
        "origin": st.sampled_from(["", "live", "retro_screening"]),
        "from": st.one_of(st.just(""), st.integers(0, 20)),
        "to": st.one_of(st.just(""), st.integers(0, 20)),
        "sort": st.sampled_from(["created", "severity", "regime", "status", "id"]),
        "dir": st.sampled_from(["asc", "desc"]),
    }
)


def _reference(alerts: list[dict], f: dict) -> list[int]:
    def keep(a: dict) -> bool:
        day = (BASE + timedelta(days=a["day"])).date()
        return all(
            [
                not f["regime"] or a["regime"] == f["regime"],
                not f["severity"] or a["severity"] == f["severity"],
                not f["status"]
                or (
                    a["status"] != "closed"
                    if f["status"] == "active"
                    else a["status"] == f["status"]
                ),
                not f["assignee"]
                or (
                    a["assignee"] is None
                    if f["assignee"] == "-"
                    else a["assignee"] == f["assignee"]
                ),
                not f["origin"] or a["origin"] == f["origin"],
                f["from"] == "" or day >= date(2025, 1, 1) + timedelta(days=f["from"]),
                f["to"] == "" or day <= date(2025, 1, 1) + timedelta(days=f["to"]),
            ]
        )

    key = {
        "created": lambda a: (a["day"], a["id"]),
        "severity": lambda a: (RANK[a["severity"]], a["id"]),
        "regime": lambda a: (a["regime"], a["id"]),
        "status": lambda a: (a["status"], a["id"]),
        "id": lambda a: (a["id"], a["id"]),
    }[f["sort"]]
    rows = sorted((a for a in alerts if keep(a)), key=key, reverse=f["dir"] == "desc")
    return [a["id"] for a in rows]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(alerts=st.lists(alert_st, min_size=0, max_size=12), f=filter_st)
def test_sql_filter_matches_reference(db, alerts: list[dict], f: dict) -> None:
    from sqlalchemy import delete

    from engine.storage.db import session_scope
    from engine.storage.tables import AlertRow, DecisionRow, EventRow
    from web.alerts import AlertFilter

    with session_scope() as s:
        s.execute(delete(AlertRow))
        s.execute(delete(DecisionRow))
        s.execute(delete(EventRow))
    web_seed.store(web_seed.shipment("prop-1"), [])
    with session_scope() as s:
        for i, a in enumerate(alerts):
            created = BASE + timedelta(days=a["day"], minutes=i)  # distinct, so the order is total
            row = AlertRow(
                event_id="prop-1",
                rule_id=f"rule-{i}",
                regime=a["regime"],
                severity=a["severity"],
                title="t",
                citation="c",
                violation={},
                origin=a["origin"],
                status=a["status"],
                assignee=a["assignee"],
                occurred_at=BASE,
                created_at=created,
                updated_at=created,
            )
            s.add(row)
            s.flush()
            a["id"] = row.id
            a["day"] = a["day"] + i / 10_000  # created order = (day, insertion)
    args = MultiDict(
        {
            k: (
                ""
                if v == ""
                else (date(2025, 1, 1) + timedelta(days=v)).isoformat()
                if k in ("from", "to")
                else v
            )
            for k, v in f.items()
        }
    )
    query = AlertFilter.from_args(args)
    with session_scope() as s:
        got = list(s.scalars(query.select().with_only_columns(AlertRow.id)))
    assert got == _reference(alerts, f)
