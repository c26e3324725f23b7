"""Helpers for the audit tests: records of every journaled kind, written the way the product
writes them (the pipeline's repository for events/decisions/alerts; rows of the desk, register
and account tables as their areas insert them)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from engine.models.decisions import Citation, Decision, Violation
from engine.models.events import Event
from engine.storage import repository
from engine.storage.db import get_engine


def sql_scalar(stmt: str, **params: object) -> Any:
    """The first column of the first row of raw SQL (what a tamper test reads back)."""
    with get_engine().connect() as conn:
        return conn.execute(text(stmt), params).scalar()


def sql_exec(stmt: str, **params: object) -> None:
    """Raw SQL in its own transaction: an edit behind the application's back."""
    with get_engine().begin() as conn:
        conn.execute(text(stmt), params)


def shipment(event_id: str, occurred: str = "2024-03-12T10:00:00+00:00") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "shipment",
        "occurred_at": occurred,
        "source": "audit-test",
        "shipment": {
            "mode": "sea",
            "origin": {"country": "JP", "name": "Yokohama"},
            "destination": {"country": "US", "name": "Long Beach"},
            "goods": [{"hs_code": "847130", "description": "laptops", "quantity": 2}],
        },
    }


def store_decided(n: int, flagged_every: int = 3) -> list[str]:
    """Store ``n`` events with decisions (every ``flagged_every``-th flagged, with an alert)."""
    from engine.rules.loader import pack_version
    from engine.storage.db import session_scope
    from engine.storage.tables import RulePackRow

    run = uuid.uuid4().hex[:8]
    files = {"rules/test.yaml": f"id: test.rule  # {run}\n"}
    version = pack_version(files)
    with session_scope() as s:
        s.add(RulePackRow(version=version, files=files, created_at=datetime.now(UTC)))
    raws = [shipment(f"audit-{run}-{i}") for i in range(n)]
    items = [(r, Event.model_validate(r), repository.sha256_of(r)) for r in raws]
    repository.store_events(items)
    now = datetime.now(UTC)
    decisions = []
    for i, r in enumerate(raws):
        flagged = i % flagged_every == 0
        violations = (
            [
                Violation(
                    rule_id="test.rule",
                    regime="DPRK",
                    title="test measure",
                    severity="high",
                    citations=[Citation(resolution="1718 (2006)", paragraph="8")],
                    reason="test reason",
                )
            ]
            if flagged
            else []
        )
        decisions.append(
            Decision(
                event_id=r["event_id"],
                status="flagged" if flagged else "clear",
                violations=violations,
                rule_pack_version=version,
                engine_version="test",
                evaluated_at=now,
            )
        )
    occurred = {i.event_id: i.occurred_at for _, i, _ in items}
    repository.save_decisions(decisions, occurred)
    return [r["event_id"] for r in raws]


def store_desk_records() -> dict[str, Any]:
    """A review action, a note, an account, an API key and a register change."""
    from sqlalchemy import select

    from engine.registers.tables import RegisterChangeRow
    from engine.storage.db import session_scope
    from engine.storage.desk_tables import AlertNoteRow, ApiKeyRow, AuditRow, UserRow
    from engine.storage.tables import AlertRow

    tag = uuid.uuid4().hex[:8]
    with session_scope() as s:
        alert_id = s.scalar(select(AlertRow.id).order_by(AlertRow.id).limit(1))
        user = UserRow(username=f"u-{tag}", password_hash="x", role="officer")
        key = ApiKeyRow(
            name=f"k-{tag}", prefix=tag, key_hash=tag * 8, scopes=["events:write"], created_by="a"
        )
        s.add_all([user, key])
        s.flush()
        # the assignment the review action records, in its transaction (as the desk does)
        alert = s.get(AlertRow, alert_id)
        assert alert is not None
        alert.assignee = f"u-{tag}"
        action = AuditRow(
            actor=f"u-{tag}",
            action="alert.assign",
            target_type="alert",
            target_id=str(alert_id),
            alert_id=alert_id,
            before={"assignee": None},
            after={"assignee": f"u-{tag}"},
        )
        note = AlertNoteRow(alert_id=alert_id, kind="comment", author=f"u-{tag}", body="seen")
        version = (
            s.scalar(
                select(RegisterChangeRow.version)
                .order_by(RegisterChangeRow.version.desc())
                .limit(1)
            )
            or 0
        ) + 1
        change = RegisterChangeRow(
            version=version,
            ref=f"EX-{tag}",
            action="create",
            actor=f"u-{tag}",
            state={"status": "pending"},
        )
        s.add_all([action, note, change])
        s.flush()
        return {
            "accounts": user.id,
            "api_keys": key.id,
            "review_actions": action.id,
            "alert_notes": note.id,
            "register_changes": version,
            "alerts": alert_id,
        }


def run_migration_script(script: str, tmp_path: Path) -> list[str]:
    """Runs ``script`` (migrations up and down, printing what it finds) in a fresh interpreter
    over a database of its own: a new SQLite file in ``tmp_path``, or a new schema of the test
    PostgreSQL database, dropped afterwards. Returns the lines it printed; fails on its error."""
    env = dict(os.environ)
    schema = None
    if env.get("DATABASE_URL", "").startswith("postgres"):
        schema = env["SANCTIONS_DB_SCHEMA"] = f"mig_{uuid.uuid4().hex[:10]}"
    else:
        env["SANCTIONS_DATA_DIR"] = str(tmp_path)
    try:
        out = subprocess.run(
            [sys.executable, "-c", script],
            cwd=Path(__file__).resolve().parent.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.splitlines()
    finally:
        if schema:
            with get_engine().begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def sqlite_stored_datetime(value: datetime) -> str:
    """The text SQLAlchemy stores for a datetime column on SQLite (what the rows hold)."""
    from sqlalchemy import DateTime
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    write = DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)
    assert write is not None
    return str(write(value))
