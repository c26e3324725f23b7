"""Rows holding a value no writer of the product stores (text in a SQLite datetime column, bytes
that are not UTF-8 in a text one), put there behind its back: the sequencer journals them as
unreadable and goes on, and ``audit verify`` names them instead of failing on them. PostgreSQL's
types refuse such values, so those tests run on SQLite; the database-error cases run on both."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from audit_support import sql_exec, sql_scalar, store_decided
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from engine.audit import sequencer
from engine.audit.checks import verify
from engine.audit.export import UnreadableRecords, export_pack
from engine.audit.records import UNREADABLE_SHA256, is_unreadable
from engine.audit.sequencer import sequence_all
from engine.storage.db import get_engine

sqlite_only = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="PostgreSQL's column types refuse values they cannot give back",
)


def _add_account(i: int, created_at: str = "2026-01-01 00:00:00.000000") -> None:
    sql_exec(
        "INSERT INTO users (id, username, password_hash, role, active, created_at)"
        " VALUES (:i, :u, 'x', 'officer', 1, :t)",
        i=i,
        u=f"user-{i}",
        t=created_at,
    )


def _entries(kind: str) -> dict[str, str]:
    with get_engine().connect() as conn:
        rows = conn.execute(
            text("SELECT record_key, record_sha256 FROM journal_entries WHERE kind = :k"),
            {"k": kind},
        )
        return {str(k): str(d) for k, d in rows}


@sqlite_only
def test_a_row_that_cannot_be_read_does_not_stop_the_journal(db: None) -> None:
    _add_account(1)
    _add_account(2, created_at="not a date")
    _add_account(3)
    assert sequence_all() == 3
    entries = _entries("accounts")
    assert set(entries) == {"1", "2", "3"}
    assert entries["2"] == UNREADABLE_SHA256
    assert UNREADABLE_SHA256 not in (entries["1"], entries["3"])
    _add_account(4)
    assert sequence_all() == 1  # and after it, as before
    report = verify()
    assert [(p.kind, p.key) for p in report.problems] == [("accounts", "2")]
    assert "record unreadable" in report.problems[0].message
    assert "not a date" in report.problems[0].message


@sqlite_only
@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE users SET created_at = 'garbage' WHERE id = 1",
        "UPDATE users SET username = CAST(x'ff00fe' AS TEXT) WHERE id = 1",  # not UTF-8
    ],
)
def test_a_journaled_row_edited_into_an_unreadable_value_is_named(db: None, edit: str) -> None:
    _add_account(1)
    _add_account(2)
    assert sequence_all() == 2
    sql_exec(edit)
    report = verify()
    records = [p for p in report.problems if p.key is not None]
    assert [(p.kind, p.key) for p in records] == [("accounts", "1")]
    assert records[0].message.startswith("record unreadable")
    # the accounts' state check reads the username too, and says it could not
    rest = [(p.kind, p.message.split(" (")[0]) for p in report.problems if p.key is None]
    assert rest in ([], [("accounts", "state check could not read its rows")])


@sqlite_only
def test_an_unreadable_value_in_a_mutable_column_is_named_too(db: None) -> None:
    """alerts.closed_at is not hashed but read by the alerts' state check: both report."""
    store_decided(3, flagged_every=1)
    assert sequence_all() > 0
    alert = int(sql_scalar("SELECT min(id) FROM alerts"))
    sql_exec("UPDATE alerts SET closed_at = 'tomorrow' WHERE id = :i", i=alert)
    report = verify()
    named = {(p.kind, p.key) for p in report.problems}
    assert ("alerts", str(alert)) in named
    assert any(p.kind == "alerts" and "could not read" in p.message for p in report.problems)
    others = [p for p in report.problems if p.kind != "alerts"]
    assert others == []


def test_a_database_error_is_not_taken_for_an_unreadable_row(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A locked or failing database aborts the pass (retried on the next tick): no row is
    journaled as unreadable because the database could not be read."""
    store_decided(2)

    def locked(*_args: object) -> None:
        raise OperationalError("SELECT ...", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(sequencer._Reader, "append", locked)
    with pytest.raises(OperationalError):
        sequence_all()
    assert sql_scalar("SELECT count(*) FROM journal_entries") == 0
    monkeypatch.undo()
    assert sequence_all() > 0
    assert verify().ok


def test_what_counts_as_unreadable() -> None:
    decode = sqlite3.OperationalError("Could not decode to UTF-8 column 'username' with text 'x'")
    assert is_unreadable(OperationalError("SELECT", {}, decode))
    assert is_unreadable(ValueError("Invalid isoformat string: 'garbage'"))
    assert is_unreadable(TypeError("'int' object is not subscriptable"))
    locked = sqlite3.OperationalError("database is locked")
    assert not is_unreadable(OperationalError("SELECT", {}, locked))
    assert not is_unreadable(KeyError("id"))


@sqlite_only
def test_an_export_of_a_period_with_an_unreadable_row_says_so_and_writes_nothing(
    db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from click.testing import CliRunner

    from engine.audit.cli import audit_cli
    from engine.audit.signing import generate_key

    key = tmp_path / "audit.key"
    generate_key(key)
    store_decided(3)
    assert sequence_all() > 0
    event = int(sql_scalar("SELECT min(id) FROM events"))
    sql_exec("UPDATE events SET received_at = 'yesterday' WHERE id = :i", i=event)
    out = tmp_path / "pack.zip"
    with pytest.raises(UnreadableRecords, match="audit verify"):
        export_pack(
            out, datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC), key_path=key
        )
    assert not out.exists()
    monkeypatch.setenv("SANCTIONS_AUDIT_KEY_FILE", str(key))
    done = CliRunner().invoke(
        audit_cli, ["export", "--from", "2024-01-01", "--to", "2025-01-01", "--out", str(out)]
    )
    assert done.exit_code == 1, done.output
    assert "cannot be read" in done.output and "Traceback" not in done.output
    assert not out.exists()


@sqlite_only
def test_an_export_job_from_the_web_app_fails_with_the_same_message_and_no_pack(
    db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web app's export runs as a job (engine.audit.jobs): it ends failed, with the reason
    and the way to name the row on the job, and no pack for auditors to download."""
    from engine.audit.jobs import JOBS, request_job, run_job
    from engine.audit.signing import generate_key
    from engine.config import get_settings

    key = tmp_path / "audit.key"
    generate_key(key)
    monkeypatch.setenv("SANCTIONS_AUDIT_KEY_FILE", str(key))
    store_decided(3)
    assert sequence_all() > 0
    event = int(sql_scalar("SELECT min(id) FROM events"))
    sql_exec("UPDATE events SET received_at = 'yesterday' WHERE id = :i", i=event)
    packs = get_settings().resolved_data_dir / "audit-packs"
    before = sorted(packs.iterdir()) if packs.exists() else []  # other tests' packs
    job = request_job("export", {"from": "2024-01-01", "to": "2025-01-01"}, "auditor", start=False)
    assert run_job(job) == "failed"
    with get_engine().connect() as conn:
        row = conn.execute(JOBS.select().where(JOBS.c.id == job)).one()
    assert row.status == "failed" and row.file is None and row.finished_at is not None
    assert row.error.startswith("UnreadableRecords: ")
    assert "cannot be read" in row.error and "audit verify" in row.error
    assert (sorted(packs.iterdir()) if packs.exists() else []) == before
