"""How journal entries are keyed (migration 1503_journal_keys): one unique index per kind of
key, the lookups that use it, and the migration up and down over a journal that has entries."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from audit_support import run_migration_script, store_decided
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.audit.proofs import inclusion
from engine.audit.sequencer import ENTRIES, entries_of, sequence_all
from engine.storage.db import get_engine


def _insert(conn: object, seq: int, kind: str, key: str, no: int | None) -> None:
    conn.execute(  # type: ignore[attr-defined]
        ENTRIES.insert().values(
            seq=seq,
            kind=kind,
            record_key=key,
            record_no=no,
            record_sha256="a" * 64,
            prev_hash="b" * 64,
            entry_hash="c" * 64,
        )
    )


def test_a_record_cannot_be_journaled_twice_by_either_kind_of_key(db: None) -> None:
    with get_engine().begin() as conn:
        _insert(conn, 0, "events", "7", 7)
        _insert(conn, 1, "rule_packs", "2024.1", None)
        _insert(conn, 2, "rule_packs", "2024.2", None)  # another text key: no conflict
        _insert(conn, 3, "decisions", "7", 7)  # the same number in another kind
    for seq, kind, key, no in ((4, "events", "7", 7), (5, "rule_packs", "2024.1", None)):
        with pytest.raises(IntegrityError), get_engine().begin() as conn:
            _insert(conn, seq, kind, key, no)
    with get_engine().connect() as conn:
        assert conn.scalar(select(ENTRIES.c.seq).order_by(ENTRIES.c.seq.desc())) == 3


def test_entries_are_found_by_their_kinds_key(db: None) -> None:
    store_decided(3, flagged_every=1000)
    sequence_all()
    with get_engine().connect() as conn:
        decisions = conn.execute(
            select(ENTRIES.c.record_key).where(ENTRIES.c.kind == "decisions")
        ).scalars()
        keys = sorted(decisions, key=int)
        found = conn.execute(
            select(ENTRIES.c.record_key).where(entries_of("decisions", [keys[0], keys[2], "x"]))
        ).scalars()
        assert sorted(found, key=int) == [keys[0], keys[2]]  # "x" is no decision's id
        packs = conn.execute(
            select(ENTRIES.c.record_key).where(ENTRIES.c.kind == "rule_packs")
        ).scalars()
        pack = next(iter(packs))
        assert conn.scalars(
            select(ENTRIES.c.kind).where(entries_of("rule_packs", [pack]))
        ).all() == ["rule_packs"]
    with pytest.raises(LookupError, match="not journaled"):
        inclusion("decisions", "not-a-number")


def test_lookups_use_the_unique_indexes_on_sqlite(db: None) -> None:
    """The partial index is used only where the query says record_no IS NULL: entries_of
    does, so a text key is not a scan of every entry."""
    if get_engine().dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    with get_engine().connect() as conn:
        for kind, keys, index in (
            ("decisions", ["1", "2"], "uq_journal_entries_kind_no"),
            ("rule_packs", ["2024.1"], "uq_journal_entries_kind_text_key"),
        ):
            q = select(ENTRIES.c.seq).where(entries_of(kind, keys))
            sql = str(q.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
            assert f"INDEX {index} (" in plan, plan


_MIGRATION = textwrap.dedent(
    """
    from alembic import command
    from sqlalchemy import inspect, text
    from engine.storage.db import alembic_config, get_engine

    def shape(conn):
        i = inspect(conn)
        # PostgreSQL lists a unique constraint's own index too: not counted twice
        return (sorted((x["name"], bool(x["unique"])) for x in i.get_indexes("journal_entries")
                       if not x.get("duplicates_constraint")),
                sorted(u["name"] for u in i.get_unique_constraints("journal_entries")))

    cfg = alembic_config()
    command.upgrade(cfg, "1502_journal_passes")
    rows = [(0, "rule_packs", "2024.1", None), (1, "events", "1", 1), (2, "decisions", "1", 1),
            (3, "events", "2", 2)]
    with get_engine().begin() as conn:
        at = "'2024-03-12 09:00:00.000000'"
        if conn.dialect.name != "sqlite":
            at = f"CAST({at} AS TIMESTAMP)"
        for r in rows:
            conn.execute(text(
                "INSERT INTO journal_entries VALUES (:s, :k, :rk, :no, :h, :h, :h, " + at + ")"),
                dict(s=r[0], k=r[1], rk=r[2], no=r[3], h="a" * 64))
    command.upgrade(cfg, "1503_journal_keys")
    with get_engine().connect() as conn:
        print(shape(conn))
        print(conn.execute(text(
            "SELECT seq, kind, record_key, record_no FROM journal_entries ORDER BY seq")).all())
    try:
        with get_engine().begin() as conn:
            conn.execute(text("UPDATE journal_entries SET record_no = 1 WHERE seq = 3"))
        print("duplicate accepted")
    except Exception as e:
        print(type(e).__name__)
    command.downgrade(cfg, "1502_journal_passes")
    with get_engine().connect() as conn:
        print(shape(conn))
        print(conn.execute(text("SELECT count(*) FROM journal_entries")).scalar())
    """
)


def test_the_migration_keeps_the_entries_and_goes_back(tmp_path: Path) -> None:
    lines = run_migration_script(_MIGRATION, tmp_path)
    assert lines[0] == (
        "([('uq_journal_entries_kind_no', True), ('uq_journal_entries_kind_text_key', True)], [])"
    )
    assert lines[1] == (
        "[(0, 'rule_packs', '2024.1', None), (1, 'events', '1', 1), (2, 'decisions', '1', 1)"
        ", (3, 'events', '2', 2)]"
    )
    assert lines[2] == "IntegrityError"
    assert lines[3] == (
        "([('ix_journal_entries_kind_no', False)], ['uq_journal_entries_kind_key'])"
    )
    assert lines[4] == "4"
