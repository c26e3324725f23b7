"""Audit-log export for auditors: the filtered log as CSV (formula-protected, ISO 8601 UTC) and
JSON Lines; officers and senior officers cannot export; the export is itself logged."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from engine.storage.db import session_scope
from engine.storage.desk_tables import AuditRow


@pytest.fixture
def app(db):
    from web import create_app

    return create_app({"TESTING": True})


def _seed() -> None:
    with session_scope() as s:
        s.add_all(
            [
                AuditRow(
                    at=datetime(2026, 11, 30, 8, 15, 0, tzinfo=UTC),
                    actor="alice",
                    action="close",
                    target_type="alert",
                    target_id="7",
                    alert_id=None,
                    before={"status": "open"},
                    after={"status": "closed"},
                    note='=HYPERLINK("http://evil.example","x")',
                ),
                AuditRow(
                    at=datetime(2026, 12, 1, 23, 59, 59, tzinfo=UTC),
                    actor="bob",
                    action="merge_case",
                    target_type="case",
                    target_id="3",
                    note="@SUM(A1)",
                ),
                AuditRow(
                    at=datetime(2026, 12, 2, 0, 0, 1, tzinfo=UTC),
                    actor="alice",
                    action="assign",
                    target_type="alert",
                    target_id="8",
                    note="plain",
                ),
            ]
        )


def _client(app, login_as, role: str):
    c = app.test_client()
    login_as(c, role)
    return c


def test_csv_export_is_filtered_protected_and_iso(app, login_as) -> None:
    _seed()
    auditor = _client(app, login_as, "auditor")
    res = auditor.get("/audit.csv?actor=alice")
    assert res.status_code == 200 and res.mimetype == "text/csv"
    assert 'filename="audit-log-' in res.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(res.get_data(as_text=True))))
    assert rows[0][:4] == ["id", "at", "actor", "action"]
    body = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert [(r["actor"], r["action"], r["at"]) for r in body] == [
        ("alice", "close", "2026-11-30T08:15:00Z"),
        ("alice", "assign", "2026-12-02T00:00:01Z"),
    ]
    assert body[0]["note"] == '\'=HYPERLINK("http://evil.example","x")'
    assert json.loads(body[0]["before"]) == {"status": "open"}
    # a date range: the whole "to" day is included, the next day is not
    ranged = auditor.get("/audit.csv?from=2026-12-01&to=2026-12-01").get_data(as_text=True)
    ranged_rows = list(csv.reader(io.StringIO(ranged)))[1:]
    assert [(r[2], r[3]) for r in ranged_rows] == [("bob", "merge_case")]
    assert ranged_rows[0][-1] == "'@SUM(A1)"


def test_jsonl_export_and_the_export_is_logged(app, login_as) -> None:
    _seed()
    admin = _client(app, login_as, "admin")
    res = admin.get("/audit.jsonl?action=close")
    assert res.status_code == 200 and res.mimetype == "application/jsonl"
    lines = [json.loads(x) for x in res.get_data(as_text=True).splitlines()]
    assert len(lines) == 1
    assert lines[0]["note"] == '=HYPERLINK("http://evil.example","x")'  # data, not a cell
    assert lines[0]["at"] == "2026-11-30T08:15:00Z" and lines[0]["after"] == {"status": "closed"}
    # the export is recorded, and an export of everything does not contain itself
    everything = admin.get("/audit.jsonl").get_data(as_text=True).splitlines()
    actions = [json.loads(x)["action"] for x in everything]
    assert actions.count("export_audit_log") == 1  # the first export, not this one
    with session_scope() as s:
        marks = (
            s.query(AuditRow)
            .filter(AuditRow.action == "export_audit_log")
            .order_by(AuditRow.id)
            .all()
        )
        assert [(m.actor, m.target_id, m.after) for m in marks] == [
            ("admin", "jsonl", {"action": "close"}),
            ("admin", "jsonl", None),
        ]


def test_only_auditors_and_admins_export(app, login_as) -> None:
    _seed()
    senior = _client(app, login_as, "senior_officer")
    page = senior.get("/audit?actor=alice").get_data(as_text=True)
    assert "alice" in page and "/audit.csv" not in page
    assert senior.get("/audit.csv").status_code == 403
    assert _client(app, login_as, "officer").get("/audit.jsonl").status_code == 403
    auditor_page = (
        _client(app, login_as, "auditor").get("/audit?actor=alice").get_data(as_text=True)
    )
    assert "/audit.csv?actor=alice" in auditor_page and "/audit.jsonl?actor=alice" in auditor_page
