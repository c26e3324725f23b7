"""The journal: every kind of record is chained; edits, deletions and reorders made directly in
the database (raw SQL, behind the application's back) are caught and name the record."""

from __future__ import annotations

from pathlib import Path

import pytest
from audit_support import sql_exec, store_decided, store_desk_records
from sqlalchemy import text

from engine.audit.checks import verify
from engine.audit.sequencer import sequence_all, write_head
from engine.audit.signing import generate_key, public_key
from engine.storage.db import get_engine


@pytest.fixture
def journal(db: None, tmp_path: Path) -> dict[str, object]:
    key = tmp_path / "audit.key"
    generate_key(key)
    store_decided(6)
    ids = store_desk_records()
    appended = sequence_all()
    head = write_head(key)
    return {"key": key, "ids": ids, "appended": appended, "head": head}


def _first_problem(journal: dict[str, object]) -> str:
    report = verify(public_key=public_key(journal["key"]))  # type: ignore[arg-type]
    assert not report.ok
    return str(report.problems[0])


def test_intact_journal_verifies_and_covers_every_kind(journal: dict[str, object]) -> None:
    report = verify(public_key=public_key(journal["key"]))  # type: ignore[arg-type]
    assert report.ok, report.problems
    with get_engine().connect() as conn:
        entries = conn.scalar(text("SELECT count(*) FROM journal_entries"))
    # the rule pack, 6 events, 6 decisions, 2 alerts, one of each desk / register / account
    # kind, and the case each alert was filed into (its change, case, case event, case alert)
    assert entries == 1 + 6 + 6 + 2 + 5 + 2 * 4
    assert report.entries == entries and report.heads == 1
    with get_engine().connect() as conn:
        kinds = set(conn.scalars(text("SELECT DISTINCT kind FROM journal_entries")))
    assert kinds == {
        "events",
        "decisions",
        "alerts",
        "review_actions",
        "alert_notes",
        "accounts",
        "api_keys",
        "register_changes",
        "rule_packs",
        "case_changes",
        "cases",
        "case_events",
        "case_alerts",
    }
    assert sequence_all() == 0  # nothing is journaled twice


@pytest.mark.parametrize(
    ("kind", "stmt"),
    [
        ("events", "UPDATE events SET source = 'forged' WHERE id = :id"),
        ("decisions", "UPDATE decisions SET status = 'rejected' WHERE id = :id"),
        ("alerts", "UPDATE alerts SET severity = 'low' WHERE id = :id"),
        ("review_actions", "UPDATE audit_log SET actor = 'someone-else' WHERE id = :id"),
        ("alert_notes", "UPDATE alert_notes SET body = 'never seen' WHERE id = :id"),
        ("accounts", "UPDATE users SET username = 'mallory' WHERE id = :id"),
        ("api_keys", "UPDATE api_keys SET key_hash = 'f' WHERE id = :id"),
        ("register_changes", "UPDATE register_changes SET actor = 'x' WHERE version = :id"),
    ],
)
def test_edited_record_is_named(journal: dict[str, object], kind: str, stmt: str) -> None:
    ids: dict[str, int] = journal["ids"]  # type: ignore[assignment]
    if kind in ("events", "decisions"):
        with get_engine().connect() as conn:
            table = kind
            rid = conn.scalar(text(f"SELECT max(id) FROM {table}"))
    else:
        rid = ids[kind]
    sql_exec(stmt, id=rid)
    problem = _first_problem(journal)
    assert f"({kind} {rid})" in problem and "record altered" in problem


def test_deleted_record_is_named(journal: dict[str, object]) -> None:
    ids: dict[str, int] = journal["ids"]  # type: ignore[assignment]
    sql_exec("DELETE FROM alert_notes WHERE id = :id", id=ids["alert_notes"])
    assert f"(alert_notes {ids['alert_notes']}): record deleted" in _first_problem(journal)


def test_deleted_decision_is_named(journal: dict[str, object]) -> None:
    with get_engine().connect() as conn:
        rid = conn.scalar(
            text("SELECT id FROM decisions WHERE status = 'clear' ORDER BY id LIMIT 1")
        )
    sql_exec("DELETE FROM decisions WHERE id = :id", id=rid)
    assert f"(decisions {rid}): record deleted" in _first_problem(journal)


def test_reordered_events_are_named(journal: dict[str, object]) -> None:
    """Two events' bodies swapped between rows (the order of the records rewritten)."""
    with get_engine().connect() as conn:
        a, b = conn.scalars(text("SELECT id FROM events ORDER BY id LIMIT 2")).all()
        ha, hb = (
            conn.scalar(text("SELECT sha256 FROM events WHERE id = :i"), {"i": i}) for i in (a, b)
        )
    sql_exec("UPDATE events SET sha256 = :h WHERE id = :i", h=hb, i=a)
    sql_exec("UPDATE events SET sha256 = :h WHERE id = :i", h=ha, i=b)
    report = verify(public_key=public_key(journal["key"]))  # type: ignore[arg-type]
    named = [str(p) for p in report.problems]
    assert f"(events {a}): record altered" in named[0]
    assert any(f"(events {b}): record altered" in p for p in named)


def test_reordered_journal_entries_break_the_chain(journal: dict[str, object]) -> None:
    sql_exec("UPDATE journal_entries SET seq = -1 WHERE seq = 2")
    sql_exec("UPDATE journal_entries SET seq = 2 WHERE seq = 3")
    sql_exec("UPDATE journal_entries SET seq = 3 WHERE seq = -1")
    problem = _first_problem(journal)
    assert problem.startswith("entry 2 ") and "prev_hash" in problem


def test_deleted_journal_entry_is_named(journal: dict[str, object]) -> None:
    sql_exec("DELETE FROM journal_entries WHERE seq = 4")
    problem = _first_problem(journal)
    assert problem.startswith("entry 5 ") and "expected position 4" in problem


def test_rewritten_chain_is_caught_by_the_signed_head(journal: dict[str, object]) -> None:
    """Someone edits a decision and recomputes its entry and every later link: the chain walks
    clean, but the signed root no longer matches."""
    import hashlib

    from engine.audit.records import record_sha256, source_for
    from engine.audit.verify_pack import leaf_bytes

    with get_engine().connect() as conn:
        rid = conn.scalar(text("SELECT min(id) FROM decisions"))
    sql_exec("UPDATE decisions SET status = 'clear', violations = '[]' WHERE id = :id", id=rid)
    src = source_for("decisions")
    with get_engine().begin() as conn:
        row = conn.execute(src.table.select().where(src.table.c.id == rid)).one()
        conn.execute(
            text(
                "UPDATE journal_entries SET record_sha256 = :h WHERE kind = 'decisions'"
                " AND record_key = :k"
            ),
            {"h": record_sha256(src.record(row)), "k": str(rid)},
        )
        entries = conn.execute(
            text("SELECT seq, kind, record_key, record_sha256 FROM journal_entries ORDER BY seq")
        ).all()
        prev = "0" * 64
        for seq, kind, key, digest in entries:
            h = hashlib.sha256(leaf_bytes(seq, kind, key, digest, prev)).hexdigest()
            conn.execute(
                text("UPDATE journal_entries SET prev_hash = :p, entry_hash = :h WHERE seq = :s"),
                {"p": prev, "h": h, "s": seq},
            )
            prev = h
    report = verify(public_key=public_key(journal["key"]))  # type: ignore[arg-type]
    assert [p.message for p in report.problems if p.seq is not None] == []
    assert any("signed root does not match" in p.message for p in report.problems)


def test_forged_head_signature_is_caught(journal: dict[str, object], tmp_path: Path) -> None:
    other = tmp_path / "other.key"
    generate_key(other)
    assert any("bad signature" in p.message for p in verify(public_key=public_key(other)).problems)


@pytest.mark.parametrize("fresh_process", [False, True])
def test_heads_extend_the_stored_frontier_and_match_the_full_recomputation(
    journal: dict[str, object], fresh_process: bool
) -> None:
    """A new head extends the frontier this process kept since its last head, or in a fresh
    process the previous head's stored frontier by the entries since; either way its root is
    the MTH of the whole journal recomputed from every leaf. A frontier edited in the database
    is not used (its root no longer matches its signed head), and the head is still right."""
    from engine.audit import sequencer
    from engine.audit.sequencer import leaves
    from engine.audit.verify_pack import merkle_root

    first: dict[str, object] = journal["head"]  # type: ignore[assignment]
    for round_ in range(3):
        store_decided(2 + round_)
        if fresh_process:
            sequencer._tree = None
        head = write_head(journal["key"])
        with get_engine().connect() as conn:
            full = merkle_root(leaves(conn)).hex()
            sizes = conn.scalars(text("SELECT tree_size FROM journal_frontiers")).all()
        assert head["root_hash"] == full and head["tree_size"] > first["tree_size"]  # type: ignore[operator]
        assert head["tree_size"] in sizes
    with get_engine().connect() as conn:
        newest = conn.scalar(text("SELECT max(tree_size) FROM journal_frontiers"))
    sql_exec(
        "UPDATE journal_frontiers SET nodes = :n WHERE tree_size = :s",
        n='["' + "ab" * 32 + '"]',
        s=newest,
    )
    store_decided(1)
    sequencer._tree = None  # a fresh process reads the stored frontier
    head = write_head(journal["key"])
    with get_engine().connect() as conn:
        assert head["root_hash"] == merkle_root(leaves(conn)).hex()
    assert verify(public_key=public_key(journal["key"])).ok  # type: ignore[arg-type]


def test_a_kept_tree_another_process_appended_behind_is_not_used(
    journal: dict[str, object],
) -> None:
    """Entries appended by another sequencer (here: a pass while this process's tree is set
    aside) leave the kept tree behind the journal: the next head is rebuilt from the stored
    frontier and still covers every entry."""
    from engine.audit import sequencer
    from engine.audit.sequencer import leaves
    from engine.audit.verify_pack import merkle_root

    kept = sequencer._tree
    assert kept is not None and kept.size == journal["head"]["tree_size"]  # type: ignore[index]
    store_decided(2)
    sequencer._tree = None
    assert sequence_all() > 0  # "another process": this one's tree does not follow
    sequencer._tree = kept
    head = write_head(journal["key"])
    with get_engine().connect() as conn:
        assert head["root_hash"] == merkle_root(leaves(conn)).hex()
        assert head["tree_size"] == conn.scalar(text("SELECT count(*) FROM journal_entries"))
    assert sequencer._tree is not None and sequencer._tree.size == head["tree_size"]


def test_the_next_head_does_not_read_back_the_entries_this_process_appended(
    journal: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.audit import sequencer
    from engine.audit.verify_pack import merkle_root

    store_decided(3)

    def no_read_back(*_a: object, **_k: object) -> list[bytes]:
        raise AssertionError("the head read the journal's entries back")

    monkeypatch.setattr(sequencer, "leaves", no_read_back)
    head = write_head(journal["key"])
    monkeypatch.undo()
    with get_engine().connect() as conn:
        assert head["root_hash"] == merkle_root(sequencer.leaves(conn)).hex()
    assert verify(public_key=public_key(journal["key"])).ok  # type: ignore[arg-type]
