"""Cases, the allowlist and account roles in the journal: the changes made through the
application verify; a row edited, deleted or moved directly in the database is named."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from audit_support import sql_exec
from replay_support import ingest_and_decide
from sqlalchemy import text

from engine.audit.checks import verify
from engine.audit.sequencer import write_head
from engine.audit.signing import generate_key, public_key
from engine.storage.db import get_engine, session_scope


def _arms(event_id: str, imo: str, day: int) -> dict[str, Any]:
    return {
        "event_id": event_id, "event_type": "shipment", "source": "t",
        "occurred_at": f"2024-02-{day:02d}T06:00:00Z",
        "shipment": {"mode": "sea", "vessel": {"name": "ANGARA", "imo": imo, "flag": "RU"},
                     "origin": {"country": "KP", "name": "Najin"},
                     "destination": {"country": "RU", "name": "Dunay"},
                     "goods": [{"hs_code": "930690", "description": "artillery ammunition"}]},
    }  # fmt: skip


@pytest.fixture
def desk(db: None, tmp_path: Path) -> dict[str, Any]:
    """Cases opened, absorbing an occurrence, merged, split and closed; an allowlist entry
    recorded, approved, re-opened and revoked; an account whose role changed."""
    from engine.allowlist import store
    from engine.cases.actions import merge, split, sync
    from web.auth.accounts import create_user, set_role
    from web.desk.workflow import Actor, close

    key = tmp_path / "audit.key"
    generate_key(key)
    for name in ("sam", "sue"):
        create_user(name, "long enough password", "senior_officer", actor="pytest")
    create_user("olga", "long enough password", "officer", actor="pytest")
    set_role("olga", "auditor", actor="sam")
    # two voyages of one hull: one case, the second an absorbed occurrence; a third hull apart
    ingest_and_decide([_arms("c-1", "9123453", 1), _arms("c-2", "9123453", 2)])
    ingest_and_decide([_arms("c-3", "9135793", 3), _arms("c-4", "9176187", 4)])
    with get_engine().connect() as conn:
        cases = conn.scalars(text("SELECT id FROM cases ORDER BY id")).all()
    assert len(cases) == 3
    with session_scope() as s:
        merge(s, cases[2], cases[1], "sam", "same operator")
    with session_scope() as s:
        alerts = (
            s.execute(
                text("SELECT alert_id FROM case_alerts WHERE case_id = :c ORDER BY alert_id"),
                {"c": cases[1]},
            )
            .scalars()
            .all()
        )
        new = split(s, cases[1], [alerts[-1]], "sam", "different operator").id
    with session_scope() as s:
        # closed at the desk (its review action is the alert's history; the case closes with it)
        for alert_id in s.execute(
            text("SELECT alert_id FROM case_alerts WHERE case_id = :c"), {"c": new}
        ).scalars():
            close(s, alert_id, Actor("sam", "senior_officer"), "true_positive", "confirmed")
        sync(s, new, "sam")
    entry = store.add(
        list_reference="KPe.902", party_name="Acme Ocean Trading Corp", country="ae",
        reason="customer since 2009", expires_on=date(2099, 1, 1), actor="sam",
    )  # fmt: skip
    store.approve(entry.id, "sue")
    store.reopen_amended(["KPe.902"])
    store.approve(entry.id, "sue")
    revoked = store.add(
        list_reference="KPe.903", party_name="Other Co", country="ae",
        reason="not them", expires_on=date(2099, 1, 1), actor="sam",
    )  # fmt: skip
    store.revoke(revoked.id, "sue", "mistaken")
    write_head(key)
    return {"key": key, "cases": cases, "new": new, "entry": entry.id}


def _problems(desk: dict[str, Any]) -> list[str]:
    return [str(p) for p in verify(public_key=public_key(desk["key"])).problems]


def test_application_changes_verify_and_are_journaled(desk: dict[str, Any]) -> None:
    assert _problems(desk) == []
    with get_engine().connect() as conn:
        kinds = dict(
            conn.execute(text("SELECT kind, count(*) FROM journal_entries GROUP BY kind")).all()
        )
        actions = conn.scalars(text("SELECT action FROM case_changes ORDER BY id")).all()
        states = conn.scalars(text("SELECT status FROM cases ORDER BY id")).all()
    for kind in ("case_changes", "cases", "case_events", "case_alerts", "case_keys",
                 "allowlist_changes", "allowlist_entries", "accounts", "review_actions"):  # fmt: skip
        assert kinds.get(kind), kind
    # opened, an occurrence absorbed, merged, split, closed
    assert {"open", "absorb", "merged", "absorb_case", "split", "split_into", "close"} <= set(
        actions
    )
    assert "merged" in states and "closed" in states
    assert kinds["allowlist_changes"] == 6  # record, approve, re-open, approve; record, revoke


@pytest.mark.parametrize(
    ("kind", "stmt", "named"),
    [
        ("cases", "UPDATE cases SET status = 'open', closed_at = NULL WHERE id = :new",
         "case changed outside the application: closed_at"),
        ("cases", "UPDATE cases SET severity = 'low' WHERE id = :new", "severity is 'low'"),
        ("case_alerts", "UPDATE case_alerts SET case_id = :first WHERE case_id = :new",
         "journaled in case"),
        ("case_events", "UPDATE case_events SET role = 'occurrence' WHERE case_id = :first",
         "journaled first"),
        ("case_changes", "UPDATE case_changes SET actor = 'mallory' WHERE action = 'merged'",
         "record altered"),
        ("case_changes", "DELETE FROM case_changes WHERE action = 'split'", "record deleted"),
        ("case_keys", "DELETE FROM case_keys WHERE case_id = :first", "record deleted"),
        ("allowlist_entries", "UPDATE allowlist_entries SET status = 'approved' WHERE"
         " status = 'revoked'", "status is 'approved', journaled 'revoked'"),
        ("allowlist_entries", "UPDATE allowlist_entries SET reason = 'x' WHERE id = :entry",
         "record altered"),
        ("allowlist_changes", "UPDATE allowlist_changes SET actor = 'x' WHERE action ="
         " 'approve'", "record altered"),
        ("accounts", "UPDATE users SET role = 'admin' WHERE username = 'olga'",
         "role is 'admin', journaled 'auditor'"),
        ("accounts", "UPDATE users SET active = false WHERE username = 'sue'",
         "active is False, journaled True"),
    ],
)  # fmt: skip
def test_edited_or_deleted_rows_are_named(
    desk: dict[str, Any], kind: str, stmt: str, named: str
) -> None:
    params = {"new": desk["new"], "first": desk["cases"][0], "entry": desk["entry"]}
    sql_exec(stmt, **{k: v for k, v in params.items() if f":{k}" in stmt})
    problems = _problems(desk)
    assert problems, "not caught"
    assert f"({kind} " in problems[0] and named in problems[0], problems[0]


def test_reordered_case_history_is_named(desk: dict[str, Any]) -> None:
    """Two history rows' states swapped (the order of a case's changes rewritten)."""
    with get_engine().connect() as conn:
        a, b = conn.execute(
            text("SELECT id, state FROM case_changes WHERE case_id = :c ORDER BY id LIMIT 2"),
            {"c": desk["cases"][0]},
        ).all()
    from sqlalchemy import update

    from engine.cases.change_tables import CaseChangeRow
    from engine.storage.base import JSONType  # noqa: F401 - the column's type binds the JSON

    with get_engine().begin() as conn:
        t = CaseChangeRow.__table__
        conn.execute(update(t).where(t.c.id == a[0]).values(state=b[1]))
        conn.execute(update(t).where(t.c.id == b[0]).values(state=a[1]))
    problems = _problems(desk)
    assert f"(case_changes {a[0]}): record altered" in problems[0]
