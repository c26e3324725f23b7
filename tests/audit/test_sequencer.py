"""The sequencer's cheap path: what each pass reads (the rows above each kind's journaled mark
and in the gaps below it), the canonical form's faster code, and one sequencer at a time.

Rows "committed late" are written with explicit ids below ones already journaled, which is what
a transaction that took its id first and committed last leaves (PostgreSQL: a real one too)."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from audit_support import store_decided
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from engine.audit import sequencer
from engine.audit.checks import verify
from engine.audit.records import _value, canonical_json, record_sha256, source_for, sources
from engine.audit.sequencer import LOOKBACK, _Mark, sequence_all, tick
from engine.audit.verify_pack import leaf_bytes
from engine.storage.db import get_engine


def _add_accounts(ids: list[int]) -> None:
    with get_engine().begin() as conn:
        for i in ids:
            conn.execute(
                text(
                    "INSERT INTO users (id, username, password_hash, role, active, created_at)"
                    " VALUES (:i, :u, 'x', 'officer', :a, :t)"
                ),
                {"i": i, "u": f"user-{i}", "a": True, "t": datetime(2026, 1, 1, tzinfo=UTC)},
            )


def _journaled(kind: str) -> set[int]:
    with get_engine().connect() as conn:
        return {
            int(k)
            for k in conn.scalars(
                text("SELECT record_key FROM journal_entries WHERE kind = :k"), {"k": kind}
            )
        }


def _forget_marks() -> None:
    """A fresh process: the marks are rebuilt from the journal."""
    sequencer._state = None


@pytest.mark.parametrize("fresh_process", [False, True])
def test_rows_committed_late_within_the_look_back_are_journaled(
    db: None, fresh_process: bool
) -> None:
    _add_accounts([1, 2, 3, 10])  # 4..9: ids taken by transactions not committed yet
    assert sequence_all() == 4
    if fresh_process:
        _forget_marks()
    _add_accounts([7, 5])  # they commit now, below the highest journaled id
    assert sequence_all() == 2
    _add_accounts([11, 4])
    assert sequence_all() == 2
    assert _journaled("accounts") == {1, 2, 3, 4, 5, 7, 10, 11}
    assert verify().ok
    assert sequence_all() == 0


def test_each_pass_reads_the_kinds_bounds_off_their_indexes(db: None) -> None:
    """The statement every pass runs first reads each kind's lowest and highest id without
    scanning its table: a scan grows with the store, and ran on every sweep (SQLite scanned
    for min and max in one select). The bounds are the ids stored."""
    store_decided(3)
    with get_engine().connect() as conn:
        bounds = sequencer._bounds(conn)
        ids = conn.execute(text("SELECT min(id), max(id) FROM events")).one()
        assert bounds["events"] == tuple(ids) and ids[0] is not None
        assert bounds["accounts"][1] is None or bounds["accounts"][0] <= bounds["accounts"][1]
        if conn.dialect.name == "sqlite":
            sql = sequencer._BOUNDS_SQL["sqlite"]
            plan = [r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
            tables = {src.table.name for src in sources() if src.int_key}
            scans = [p for p in plan if p.startswith("SCAN ") and p.split()[1] in tables]
            assert not scans and any(p.startswith("SEARCH events") for p in plan)
        else:
            sql = sequencer._BOUNDS_SQL["postgresql"]
            plan = [r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql)]
            assert not [p for p in plan if "Seq Scan on events" in p]


def test_the_look_back_bounds_how_late_a_row_may_commit(db: None) -> None:
    """The documented limit: a row more than LOOKBACK ids below the mark is not looked for."""
    top = 3 * LOOKBACK
    _add_accounts([1, top])
    assert sequence_all() == 2
    _add_accounts([top - LOOKBACK + 1, top - LOOKBACK])
    sequence_all()
    assert _journaled("accounts") == {1, top - LOOKBACK + 1, top}
    _forget_marks()
    assert sequence_all() == 0  # the rebuilt marks draw the same line


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_no_row_within_the_look_back_is_ever_missed(
    db: None, data: st.DataObject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random ids committed in random batches and orders, a pass after each batch, the marks
    sometimes kept and sometimes rebuilt: afterwards every row within the look-back of the
    highest journaled id has exactly one entry (a small look-back, so the edge is exercised)."""
    from engine.storage.all_tables import clear_all

    monkeypatch.setattr(sequencer, "LOOKBACK", 30)
    monkeypatch.setattr(sequencer, "MAX_GAP_RANGES", 3)  # merged ranges too
    clear_all()
    _forget_marks()
    ids = data.draw(st.lists(st.integers(1, 120), min_size=1, max_size=40, unique=True))
    committed: set[int] = set()
    journaled: set[int] = set()
    while len(committed) < len(ids):
        rest = [i for i in ids if i not in committed]
        batch = rest[: data.draw(st.integers(1, len(rest)))]
        _add_accounts(batch)
        committed |= set(batch)
        if data.draw(st.booleans()):
            _forget_marks()
        sequence_all()
        now = _journaled("accounts")
        assert journaled <= now  # nothing journaled is journaled again or lost
        top = max(now)
        # every committed row within the look-back of the mark has its entry
        assert {i for i in committed if i > top - 30} <= now
        journaled = now
    with get_engine().connect() as conn:
        n = conn.scalar(text("SELECT count(*) FROM journal_entries WHERE kind = 'accounts'"))
    assert n == len(journaled)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-40, 200), min_size=1, max_size=60))
def test_mark_gaps_are_the_unjournaled_ids_of_the_window(added: list[int]) -> None:
    lookback = sequencer.LOOKBACK
    seen: set[int] = set()
    mark = _Mark()
    for no in added:
        mark.add(no)
        seen.add(no)
    top = max(seen)
    expected = {i for i in range(top - lookback + 1, top + 1)} - seen
    got: set[int] = set()
    for lo, hi in mark.gaps:
        assert lo <= hi
        got |= set(range(lo, hi + 1))
    assert got == expected and mark.top == top
    assert mark.gaps == sorted(mark.gaps)
    rebuilt = _Mark.build(sorted(i for i in seen if i > top - lookback))
    assert rebuilt.gaps == mark.gaps and rebuilt.top == mark.top
    merged = mark.ranges()
    assert len(merged) <= sequencer.MAX_GAP_RANGES
    assert all(any(lo <= i <= hi for lo, hi in merged) for i in expected)


def test_a_transaction_that_commits_after_a_later_one_is_journaled(db: None) -> None:
    """PostgreSQL: ids come from a sequence at insert; the first transaction commits last."""
    if get_engine().dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: ids always commit in order")
    row = {"p": "x", "r": "officer", "a": True, "t": datetime(2026, 1, 1, tzinfo=UTC)}
    insert = text(
        "INSERT INTO users (username, password_hash, role, active, created_at)"
        " VALUES (:u, :p, :r, :a, :t) RETURNING id"
    )
    with get_engine().connect() as first:
        tx = first.begin()
        early = first.execute(insert, {**row, "u": "early"}).scalar_one()
        with get_engine().begin() as second:
            late = second.execute(insert, {**row, "u": "late"}).scalar_one()
        assert sequence_all() == 1 and _journaled("accounts") == {late}
        tx.commit()
    assert early < late
    assert sequence_all() == 1 and _journaled("accounts") == {early, late}


def test_only_one_sequencer_runs_at_a_time(db: None, broker_url: str) -> None:
    """tick() (the sweeper thread of every worker) skips while another holds the journal's
    lock, and sequences once it is free."""
    import redis

    client = redis.Redis.from_url(broker_url.replace("redis+socket://", "unix://"))
    store_decided(2)
    lock = client.lock(sequencer.LOCK_KEY, timeout=60)
    assert lock.acquire(blocking=False)
    try:
        tick()
        with get_engine().connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM journal_entries")) == 0
    finally:
        lock.release()
    tick()
    with get_engine().connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM journal_entries")) == 1 + 2 + 2 + 1 + 4


# --- the canonical form: the faster code gives the documented bytes ---------------------------


def _documented(v: object) -> object:
    """docs/AUDIT.md section 1, written out plainly."""
    if isinstance(v, datetime):
        v = v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
        return v.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bytes):
        return {"sha256": hashlib.sha256(v).hexdigest()}
    return v


def _documented_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1000, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.none()
    )
    | st.datetimes(
        min_value=datetime(1000, 1, 2),
        max_value=datetime(9998, 12, 31),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5))]
        ),
    )
)
def test_datetimes_are_written_as_documented(v: datetime) -> None:
    assert _value(v) == _documented(v)


@pytest.mark.parametrize(
    "v",
    [
        datetime(2024, 3, 12, 9, 30),
        datetime(2024, 3, 12, 9, 30, 0, 1),
        datetime(2024, 3, 12, 0, 0, tzinfo=UTC),
        datetime(2024, 3, 12, 9, 30, 0, 999999, tzinfo=UTC),
        datetime(2024, 3, 12, 18, 30, tzinfo=timezone(timedelta(hours=9))),
    ],
)
def test_a_zero_microsecond_is_written_out(v: datetime) -> None:
    # isoformat leaves a zero microsecond out; the canonical form always has six digits
    assert _value(v) == _documented(v)
    assert len(str(_value(v))) == 27


def test_dates_before_year_1000_fall_back_to_the_documented_form() -> None:
    v = datetime(999, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert _value(v) == _documented(v)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 2**40),
    st.text(),
    st.text(),
    st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    st.text(),
)
def test_leaf_bytes_are_the_canonical_json_of_the_entry(
    seq: int, kind: str, key: str, digest: str, prev: str
) -> None:
    expected = {"kind": kind, "key": key, "prev": prev, "record_sha256": digest, "seq": seq}
    try:
        want = _documented_json(expected)
    except UnicodeEncodeError:  # lone surrogates: neither form can be written
        with pytest.raises(UnicodeEncodeError):
            leaf_bytes(seq, kind, key, digest, prev)
        return
    assert leaf_bytes(seq, kind, key, digest, prev) == want


def test_every_sequenced_record_hashes_as_documented(db: None) -> None:
    """Each journaled row, read whole and canonicalised by the documented rules, gives the
    record_sha256 the (column-selecting, converter-caching) sequencer stored."""
    from audit_support import store_desk_records

    store_decided(5)
    store_desk_records()
    sequence_all()
    checked = 0
    with get_engine().connect() as conn:
        stored = {
            (k, rk): h
            for k, rk, h in conn.execute(
                text("SELECT kind, record_key, record_sha256 FROM journal_entries")
            )
        }
        for src in sources():
            for row in conn.execute(src.table.select()):
                m = row._mapping
                record = {c: _documented(m[c]) for c in src.columns}
                digest = hashlib.sha256(_documented_json(record)).hexdigest()
                assert stored[(src.kind, str(m[src.key]))] == digest
                assert record_sha256(src.record(row)) == digest
                checked += 1
    assert checked == len(stored)


def test_canonical_json_is_the_documented_encoding() -> None:
    rnd = random.Random(15)
    value = {
        "é": [1, 2.5, None, True, '\u2028\x00"\\'],
        "b": {"z": 1, "a": [{}, []]},
        str(rnd.random()): -0.0,
    }
    assert canonical_json(value) == _documented_json(value)
    assert source_for("events").record({c: None for c in source_for("events").columns})


def test_entries_store_their_time_as_every_other_row_does(db: None) -> None:
    """The entries are inserted without the per-value processing: their time must still be
    stored in the column's own format (the --from/--to filters compare it)."""
    from sqlalchemy import func, select

    from engine.audit.sequencer import ENTRIES

    store_decided(3)
    before = datetime.now(UTC) - timedelta(seconds=1)
    appended = sequence_all()
    after = datetime.now(UTC) + timedelta(seconds=1)
    with get_engine().connect() as conn:
        at = conn.scalar(select(ENTRIES.c.sequenced_at).limit(1))
        same = conn.scalar(
            select(func.count()).select_from(ENTRIES).where(ENTRIES.c.sequenced_at == at)
        )
        within = conn.scalar(
            select(func.count())
            .select_from(ENTRIES)
            .where(ENTRIES.c.sequenced_at >= before, ENTRIES.c.sequenced_at < after)
        )
    assert same == within == appended > 0
    assert verify(since=before, until=after).entries == appended
    assert verify(since=after).entries == 0


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=12,
    ),
    st.sampled_from(["", " ", "\n", "\t "]),
    st.sampled_from(["", " ", "\n", " x"]),
)
def test_json_columns_decode_as_json_loads_does(value: object, lead: str, tail: str) -> None:
    from engine.audit.records import loads_json

    text_ = lead + json.dumps(value) + tail
    try:
        want = json.loads(text_)
    except json.JSONDecodeError:
        with pytest.raises(json.JSONDecodeError):
            loads_json(text_)
        return
    assert loads_json(text_) == want
    assert json.dumps(loads_json(text_)) == json.dumps(want)
    if not isinstance(want, str):  # decoded already (a driver that parses JSON itself)
        assert loads_json(want) is want


def test_a_pass_that_lost_the_race_for_a_seq_rolls_back_whole(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another sequencer appended after this pass read the tail: its insert of a taken seq
    fails (executemany on SQLite, COPY on PostgreSQL), nothing of the pass stays, and the next
    pass appends after the winner."""
    store_decided(3)
    first = sequence_all()
    with get_engine().connect() as conn:
        stale = conn.execute(
            text("SELECT seq, entry_hash FROM journal_entries ORDER BY seq DESC LIMIT 1 OFFSET 1")
        ).one()
    store_decided(2)
    monkeypatch.setattr(sequencer, "_tail", lambda conn: (int(stale[0]), str(stale[1])))
    assert sequencer._pass(sequencer.PASS_LIMIT) == (0, True)
    with get_engine().connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM journal_entries")) == first
    monkeypatch.undo()
    assert sequence_all() > 0
    report = verify()
    assert report.ok and report.entries > first


def test_rows_another_sequencer_journaled_after_this_pass_read_the_tail_are_not_journaled_twice(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above its mark a pass reads rows without asking the journal whether they have an entry:
    none had, as of the tail it read. Rows another process journaled after that are read again,
    and the pass's insert fails on the seq that process took: nothing is journaled twice."""
    store_decided(2)
    sequence_all()
    with get_engine().connect() as conn:
        tail = conn.execute(
            text("SELECT seq, entry_hash FROM journal_entries ORDER BY seq DESC LIMIT 1")
        ).one()
    mine = sequencer._state  # this process's marks, current as of that tail
    store_decided(2)
    _add_accounts([1, 2])
    sequencer._state = sequencer._tree = None  # another process: its own marks
    other = sequence_all()
    assert other > 0
    sequencer._state = mine
    monkeypatch.setattr(sequencer, "_tail", lambda conn: (int(tail[0]), str(tail[1])))
    assert sequencer._pass(sequencer.PASS_LIMIT) == (0, True)
    monkeypatch.undo()
    assert sequence_all() == 0
    with get_engine().connect() as conn:
        twice = conn.scalar(
            text(
                "SELECT count(*) FROM (SELECT kind, record_key FROM journal_entries"
                " GROUP BY kind, record_key HAVING count(*) > 1) AS d"
            )
        )
    assert twice == 0
    assert _journaled("accounts") == {1, 2}
    assert verify().ok


def test_entries_after_an_edited_tail_link_to_it_as_leaf_bytes_writes_it(db: None) -> None:
    """The pass writes leaf bytes out itself for hex links; a tail hash edited into something
    JSON must escape takes leaf_bytes, so the entries after it are sound and only the edited
    entry is reported."""
    from audit_support import sql_exec, sql_scalar

    store_decided(2)
    sequence_all()
    last = int(sql_scalar("SELECT max(seq) FROM journal_entries"))
    sql_exec("UPDATE journal_entries SET entry_hash = :h WHERE seq = :s", h='x"\\é', s=last)
    _add_accounts([9001, 9002])  # an integer-keyed kind: the pass's own leaf bytes
    assert sequence_all() == 2
    with get_engine().connect() as conn:
        prev, seq, kind, key, digest, entry = conn.execute(
            text(
                "SELECT prev_hash, seq, kind, record_key, record_sha256, entry_hash"
                " FROM journal_entries WHERE seq = :s"
            ),
            {"s": last + 1},
        ).one()
    assert prev == 'x"\\é'
    assert hashlib.sha256(leaf_bytes(seq, kind, key, digest, prev)).hexdigest() == entry
    problems = verify().problems
    assert problems and {p.seq for p in problems} == {last}


def test_a_pass_with_nothing_new_reads_no_kind_it_need_not(db: None) -> None:
    """One statement gives every integer-keyed kind's lowest and highest id: a kind with nothing
    above its mark and no gap its rows could fill is not queried. What is left of an idle pass is
    the journal's tail, those bounds and the one kind keyed by text (its anti-join)."""
    from sqlalchemy import event

    from engine.audit.sequencer import sequence_pass

    store_decided(4)
    _add_accounts([1, 2, 3, 10])  # a gap (4..9) that a late commit may still fill
    assert sequence_all() > 0
    statements: list[str] = []

    def seen(_conn: object, _cur: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(get_engine(), "before_cursor_execute", seen)
    try:
        assert sequence_pass() == 0
        idle = list(statements)
        _add_accounts([5])
        statements.clear()
        assert sequence_pass() == 1
    finally:
        event.remove(get_engine(), "before_cursor_execute", seen)
    texts = [s for s in sources() if not s.int_key]
    # tail, bounds, the text-keyed kinds, and the gap of accounts (its rows could fill it)
    assert len(idle) == 2 + len(texts) + 1, "\n\n".join(idle)
    assert sum(s.startswith("SELECT users.") for s in idle) == 1  # its gaps only
    assert _journaled("accounts") == {1, 2, 3, 5, 10}
