"""The sequencer's passes (journal_passes): what ``audit verify --from/--to`` finds a period's
entries by, and migration 1502_journal_passes, which built them from the entries' own times."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from audit_support import run_migration_script, store_decided
from sqlalchemy import select, text

from engine.audit.checks import verify
from engine.audit.sequencer import ENTRIES, PASSES, sequence_pass
from engine.storage.db import get_engine


def test_each_pass_records_the_entries_it_appended_and_their_time(db: None) -> None:
    counts = []
    for n in (2, 3, 1):  # three passes, each over what was stored just before it
        store_decided(n, flagged_every=1000)  # an event and its decision each, no alert
        counts.append(sequence_pass())
    with get_engine().connect() as conn:
        passes = conn.execute(select(PASSES).order_by(PASSES.c.first_seq)).all()
        entries = conn.execute(select(ENTRIES.c.seq, ENTRIES.c.sequenced_at)).all()
    assert [p.last_seq - p.first_seq + 1 for p in passes] == counts
    assert counts[0] >= 4 and counts[1] >= 6 and counts[2] >= 2  # rule pack, events, decisions
    assert passes[0].first_seq == 0
    assert [p.first_seq for p in passes[1:]] == [p.last_seq + 1 for p in passes[:-1]]
    for p in passes:
        assert {at for seq, at in entries if p.first_seq <= seq <= p.last_seq} == {p.sequenced_at}


def test_a_period_is_the_entries_of_the_passes_in_it(db: None) -> None:
    store_decided(2, flagged_every=1000)
    first = sequence_pass()
    store_decided(3, flagged_every=1000)
    second = sequence_pass()
    store_decided(1, flagged_every=1000)
    third = sequence_pass()
    with get_engine().connect() as conn:
        times = conn.scalars(select(PASSES.c.sequenced_at).order_by(PASSES.c.first_seq)).all()
    assert len(times) == 3
    tick = timedelta(microseconds=1)
    assert verify(since=times[1], until=times[2]).entries == second
    assert verify(since=times[1]).entries == second + third
    assert verify(until=times[1]).entries == first
    assert verify(since=times[0] - tick, until=times[2] + tick).entries == first + second + third
    assert verify(since=times[2] + tick).entries == 0
    report = verify(since=times[1], until=times[2])
    assert report.ok, report.problems


def test_an_entry_deleted_at_the_start_of_a_period_is_still_reported(db: None) -> None:
    """The period's first seq comes from its pass, not from the entries left: deleting the
    period's first entry cannot move the period past it."""
    store_decided(2, flagged_every=1000)
    sequence_pass()
    store_decided(2, flagged_every=1000)
    sequence_pass()
    with get_engine().begin() as conn:
        start, at = conn.execute(
            select(PASSES.c.first_seq, PASSES.c.sequenced_at).order_by(PASSES.c.first_seq.desc())
        ).first()
        conn.execute(text("DELETE FROM journal_entries WHERE seq = :s"), {"s": start})
    report = verify(since=at)
    assert not report.ok
    assert any(f"expected position {start}:" in p.message for p in report.problems), report.problems


def test_seq_is_the_rowid_on_sqlite(db: None) -> None:
    """No separate primary-key b-tree and no automatic index: the two unique indexes by which
    entries are found (an integer key's, and the partial one of text keys) are the only ones."""
    if get_engine().dialect.name != "sqlite":
        pytest.skip("SQLite's rowid; PostgreSQL keeps its primary-key index")
    with get_engine().connect() as conn:
        indexes = conn.execute(text("PRAGMA index_list(journal_entries)")).all()
        # (name, unique, origin c: CREATE INDEX / u: UNIQUE / pk, partial)
        found = sorted((str(r[1]), int(r[2]), str(r[3]), int(r[4])) for r in indexes)
        table = conn.scalar(
            text("SELECT sql FROM sqlite_master WHERE type='table' AND name='journal_entries'")
        )
    assert found == [
        ("uq_journal_entries_kind_no", 1, "c", 0),
        ("uq_journal_entries_kind_text_key", 1, "c", 1),
    ]
    assert "seq INTEGER NOT NULL" in table


_MIGRATION = textwrap.dedent(
    """
    from alembic import command
    from sqlalchemy import inspect, select, text
    from engine.storage.db import alembic_config, get_engine
    from engine.audit.tables import JournalPassRow as P

    cfg = alembic_config()
    command.upgrade(cfg, "1501_audit_jobs")
    rows = [(s, "events", str(s), s, "a" * 64, "b" * 64, "c" * 64, at)
            for s, at in [(0, "2024-03-12 09:00:00.000001"), (1, "2024-03-12 09:00:00.000001"),
                          (2, "2024-03-12 10:00:00.000000"), (3, "2024-03-12 10:00:00.000000"),
                          (4, "2024-03-12 10:00:00.000000"), (5, "2024-03-13 08:00:00.500000")]]
    with get_engine().begin() as conn:
        at = ":h" if conn.dialect.name == "sqlite" else "CAST(:h AS TIMESTAMP)"
        for r in rows:
            conn.execute(text(
                f"INSERT INTO journal_entries VALUES (:a, :b, :c, :d, :e, :f, :g, {at})"),
                dict(zip("abcdefgh", r)))
    command.upgrade(cfg, "1502_journal_passes")
    with get_engine().connect() as conn:
        print(sorted((p.first_seq, p.last_seq, p.sequenced_at.replace(tzinfo=None).isoformat(
            sep=" ", timespec="microseconds")) for p in conn.execute(select(P.__table__))))
        print(conn.execute(text(
            "SELECT count(*), min(seq), max(seq) FROM journal_entries")).one())
        print(sorted(i["name"] for i in inspect(conn).get_indexes("journal_entries")
                     if i["name"].startswith("ix_")))
    command.downgrade(cfg, "1501_audit_jobs")
    with get_engine().connect() as conn:
        print(sorted(i["name"] for i in inspect(conn).get_indexes("journal_entries")
                     if i["name"].startswith("ix_")))
        print(conn.execute(text("SELECT count(*) FROM journal_entries")).scalar())
    """
)


def test_the_migration_builds_the_passes_from_the_entries_and_goes_back(tmp_path: Path) -> None:
    lines = run_migration_script(_MIGRATION, tmp_path)
    assert lines[0] == (
        "[(0, 1, '2024-03-12 09:00:00.000001'), (2, 4, '2024-03-12 10:00:00.000000'), "
        "(5, 5, '2024-03-13 08:00:00.500000')]"
    )
    assert lines[1] == "(6, 0, 5)"
    assert lines[2] == "['ix_journal_entries_kind_no']"
    assert lines[3] == "['ix_journal_entries_kind_no', 'ix_journal_entries_sequenced_at']"
    assert lines[4] == "6"
