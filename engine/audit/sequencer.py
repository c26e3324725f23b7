"""The sequencer: assigns journal positions after the fact, so workers never wait on the chain.

Workers write events, decisions and alerts as before (no lock, no shared counter). A sequencer
pass (the sweeper thread of every worker, ``sanctions audit seal``, or tests) finds journaled rows
without an entry, hashes their canonical form and appends entries ``seq = tail+1, ...``, each
chained to the previous one. Two passes racing both try to insert the same ``seq``: the primary
key lets one win and the other rolls back and tries again on its next pass.

A row committed late (its id lower than rows already journaled) is still found: each pass looks
back ``LOOKBACK`` ids below the highest journaled one. The process keeps, per kind, that highest
journaled id and the ids below it (within the look-back) that have no entry: the gaps a late row
can only fill (``_Marks``, kept up to date from the entries each pass appends or reads). A pass
then reads the rows above the mark and the rows in the gaps, not the whole look-back window. A
row inserted behind the application's back before the sequencer saw it is journaled like any
other: tamper evidence starts when a record is sequenced (seconds after commit), see
docs/AUDIT.md.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    String,
    Table,
    Text,
    and_,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from engine.audit import fast_canonical
from engine.audit.merkle import frontier_extend, frontier_root, frontier_valid
from engine.audit.records import (
    UNREADABLE_SHA256,
    JournalSource,
    canonical_json,
    is_unreadable,
    loads_json,
    source_for,
    sources,
)
from engine.audit.speedups import speedups as _speedups
from engine.audit.tables import JournalEntryRow, JournalFrontierRow, JournalHeadRow, JournalPassRow
from engine.audit.verify_pack import ZERO_HASH, head_message, leaf_bytes, leaf_hash
from engine.storage.db import get_engine

log = logging.getLogger(__name__)

ENTRIES: Table = JournalEntryRow.__table__  # type: ignore[assignment]
HEADS: Table = JournalHeadRow.__table__  # type: ignore[assignment]
PASSES: Table = JournalPassRow.__table__  # type: ignore[assignment]

LOOKBACK = 20_000
PASS_LIMIT = 20_000
MAX_GAP_RANGES = 32  # gap ranges read per kind and pass; closer ones are merged beyond that
LOCK_KEY = "sanctions:journal:lock"


def entries_of(kind: str, keys: list[str]) -> Any:
    """The condition on journal entries that selects kind ``kind``'s records ``keys`` (as
    record_key holds them), by the unique index that holds them (tables.JournalEntryRow):
    record_no for an integer-keyed kind, record_key where record_no is NULL for the others.
    A key of an integer-keyed kind that is not an integer selects nothing."""
    try:
        src = source_for(kind)
    except KeyError:
        src = None
    if src is not None and src.int_key:
        nos = []
        for k in keys:
            try:
                nos.append(int(k))
            except ValueError:
                continue
        return and_(ENTRIES.c.kind == kind, ENTRIES.c.record_no.in_(nos))
    return _text_keyed(kind, ENTRIES.c.record_key.in_(keys))


def _text_keyed(kind: str, key_condition: Any) -> Any:
    """Entries of a kind keyed by text whose record_key meets ``key_condition``. The partial
    index holds them only where record_no is NULL, and SQLite uses it only for a query that says
    so."""
    return and_(ENTRIES.c.kind == kind, ENTRIES.c.record_no.is_(None), key_condition)


class _Mark:
    """One kind's highest journaled id and the unjournaled id ranges within the look-back below
    it (sorted, disjoint, inclusive): the only places a row not yet journaled can be."""

    def __init__(self, top: int | None = None, gaps: list[tuple[int, int]] | None = None) -> None:
        self.top = top
        self.gaps = gaps or []

    @classmethod
    def build(cls, journaled: list[int]) -> _Mark:
        """From the journaled ids (ascending) of the window below and at the highest."""
        if not journaled:
            return cls()
        top = journaled[-1]
        gaps, lo = [], top - LOOKBACK + 1
        for no in journaled:
            if no > lo:
                gaps.append((lo, no - 1))
            lo = no + 1
        return cls(top, gaps)

    def add(self, no: int) -> None:
        """``no`` was journaled."""
        if self.top is None or no > self.top:
            lo = no - LOOKBACK + 1 if self.top is None else max(self.top + 1, no - LOOKBACK + 1)
            if lo <= no - 1:
                self.gaps.append((lo, no - 1))
            self.top = no
            self._trim()
            return
        i = bisect.bisect_right(self.gaps, no, key=lambda g: g[0]) - 1
        if i < 0 or not self.gaps[i][0] <= no <= self.gaps[i][1]:
            return
        lo, hi = self.gaps.pop(i)
        self.gaps[i:i] = [r for r in ((lo, no - 1), (no + 1, hi)) if r[0] <= r[1]]

    def add_many(self, nos: list[int]) -> None:
        """Each of ``nos`` was journaled: ``add`` for each, with a shortcut for the common run
        of ids one above the mark (a pass appends thousands)."""
        for no in nos:
            if self.top is not None and no == self.top + 1:
                self.top = no
            else:
                self.add(no)
        self._trim()

    def _trim(self) -> None:
        """Drops the gaps below the look-back window of the mark."""
        if self.top is None:
            return
        floor = self.top - LOOKBACK + 1
        while self.gaps and self.gaps[0][1] < floor:
            self.gaps.pop(0)
        if self.gaps and self.gaps[0][0] < floor:
            self.gaps[0] = (floor, self.gaps[0][1])

    def ranges(self) -> list[tuple[int, int]]:
        """The gaps, the closest merged until at most MAX_GAP_RANGES remain (a merged range
        spans journaled ids too: the query keeps its anti-join)."""
        gaps = list(self.gaps)
        if len(gaps) <= MAX_GAP_RANGES:
            return gaps
        seps = sorted(b[0] - a[1] for a, b in zip(gaps, gaps[1:], strict=False))
        limit = seps[len(gaps) - MAX_GAP_RANGES - 1]
        out = [gaps[0]]
        for lo, hi in gaps[1:]:
            if lo - out[-1][1] <= limit:
                out[-1] = (out[-1][0], hi)
            else:
                out.append((lo, hi))
        return out


class _Marks:
    """The marks of every kind as of journal entry ``seq`` (whose hash is ``entry_hash``), for
    one database; rebuilt from the journal when it does not continue that entry."""

    def __init__(self, db: str, seq: int, entry_hash: str, marks: dict[str, _Mark]) -> None:
        self.db, self.seq, self.entry_hash, self.marks = db, seq, entry_hash, marks

    def mark(self, kind: str) -> _Mark:
        return self.marks.setdefault(kind, _Mark())


_state: _Marks | None = None
_pass_lock = threading.Lock()  # one pass at a time in a process (the marks are shared)


class _Tree:
    """This process's Merkle frontier of the journal up to its tail entry (seq ``size - 1``,
    entry_hash ``tail``). Kept once this process has written a head and extended by each pass
    it commits (one more hash an entry, and the frontier's merges), so the next head does not
    read back every entry since the last one (about 3.6 us an entry). Dropped when the journal
    does not continue it (another process appended, another database): the next head rebuilds
    it from the stored frontier, as without it."""

    def __init__(self, db: str, size: int, frontier: list[bytes], tail: str) -> None:
        self.db, self.size, self.frontier, self.tail = db, size, frontier, tail

    def continues(self, seq: int, entry_hash: str) -> bool:
        return self.size == seq + 1 and self.tail == entry_hash and self.db == _db_id()


_tree: _Tree | None = None


def _db_id() -> str:
    from engine.config import get_settings

    return f"{get_engine().url}|{get_settings().db_schema or ''}"


def _build_marks(conn: Connection, seq: int, entry_hash: str) -> _Marks:
    marks: dict[str, _Mark] = {}
    for src in sources():
        if not src.int_key:
            continue
        top = conn.scalar(select(func.max(ENTRIES.c.record_no)).where(ENTRIES.c.kind == src.kind))
        if top is None:
            continue
        nos = conn.scalars(
            select(ENTRIES.c.record_no)
            .where(ENTRIES.c.kind == src.kind, ENTRIES.c.record_no > int(top) - LOOKBACK)
            .order_by(ENTRIES.c.record_no)
        ).all()
        marks[src.kind] = _Mark.build([int(n) for n in nos])
    return _Marks(_db_id(), seq, entry_hash, marks)


def _current_marks(conn: Connection, seq: int, entry_hash: str) -> _Marks:
    """The marks as of the journal's tail ``seq``: the kept ones brought up to date with the
    entries appended since (by other processes), or rebuilt when the journal is not the one
    they were kept for (another database, a journal emptied or rewritten)."""
    global _state
    state = _state
    if state is not None and state.db == _db_id() and seq >= state.seq:
        if seq == state.seq:
            if entry_hash == state.entry_hash:
                return state
        else:
            new = conn.execute(
                select(ENTRIES.c.seq, ENTRIES.c.kind, ENTRIES.c.record_no, ENTRIES.c.prev_hash)
                .where(ENTRIES.c.seq > state.seq, ENTRIES.c.seq <= seq)
                .order_by(ENTRIES.c.seq)
            ).all()
            if (
                len(new) == seq - state.seq
                and new[0].seq == state.seq + 1
                and new[0].prev_hash == state.entry_hash
            ):
                for e in new:
                    if e.record_no is not None:
                        state.mark(e.kind).add(int(e.record_no))
                state.seq, state.entry_hash = seq, entry_hash
                return state
    _state = _build_marks(conn, seq, entry_hash)
    return _state


class _Reader:
    """How a pass reads one kind's rows: only the journaled columns (and the key), JSON ones as
    their text, each row made into its canonical record and hashed in one step. The text is
    decoded and the record encoded by orjson where that gives the canonical bytes
    (``fast_canonical``), else by ``loads_json`` and ``canonical_json``."""

    def __init__(self, src: JournalSource) -> None:
        names = list(src.columns) + ([] if src.key in src.columns else [src.key])
        dialect = get_engine().dialect
        pg = dialect.name == "postgresql"
        converters = dict(src._converters)
        self.cols: list[Any] = []
        self.fns: list[Callable[[Any], Any] | None] = []
        self.fast: list[Callable[[Any], Any] | None] = []  # the same values, for orjson
        for name in names:
            col = src.table.c[name]
            read = _sqlite_datetime_reader(col, dialect)
            if read is not None and name in src.columns:
                # SQLite's text as it is, made canonical without parsing it; the slow path
                # reads it as SQLAlchemy does (a text it refuses is an unreadable row)
                self.cols.append(type_coerce(col, Text).label(name))
                self.fns.append(_then(read, converters[name]))
                self.fast.append(fast_canonical.sqlite_datetime)
            elif not isinstance(col.type, JSON):
                self.cols.append(col)
                self.fns.append(converters.get(name))
                py = _python_type(col)
                fast = converters.get(name)
                if name in src.columns and py is float:
                    fast = fast_canonical.finite
                self.fast.append(fast)
            else:  # jsonb's text as the driver would get it; SQLite stores the text
                self.cols.append((cast(col, Text) if pg else type_coerce(col, Text)).label(name))
                self.fns.append(loads_json)
                # orjson.loads itself where the column cannot be SQL NULL (its error is a
                # ValueError, caught as NotFast is)
                self.fast.append(fast_canonical.loads if col.nullable else orjson.loads)
        self.names = tuple(names[: len(src.columns)])
        self.key_at = names.index(src.key)
        self.kind, self.int_key = src.kind, src.int_key
        # each journaled column's converter for the fast path (None: the value as read)
        self.converters = tuple(self.fast[: len(self.names)])

    def append(self, conn: Connection, q: Any, chain: _Chain) -> None:
        """Appends an entry to ``chain`` for each row of ``q``: its key, record_sha256 (the hash
        of what ``src.record(row)`` gives; a key read only as the key is past the journaled
        columns: zip stops before it) and chain link, in one step per row. Each record is
        hashed as soon as it is built and dropped, and nothing a pass keeps per row is a
        container: a pass holding tens of thousands of records (nested dicts and lists from the
        JSON columns) kept the garbage collector walking them, costing about as much CPU as
        building them (issue 15)."""
        names, fns, converters, k = self.names, self.fns, self.converters, self.key_at
        encode, record_bytes, sha256 = canonical_json, fast_canonical.record_bytes, hashlib.sha256
        kind, int_key, rows, leaves, link = self.kind, self.int_key, chain.rows, chain.leaves, _link
        seq, prev = chain.seq, chain.prev
        # the leaf written out (link) for integer keys and hex digests, which need no escaping;
        # prev is a digest too, but the first one is read from the journal's tail
        plain_kind = int_key and _plain(kind)
        plain = plain_kind and _plain(prev)
        for row in conn.execute(q):
            key = row[k]
            try:  # orjson: the same bytes, or NotFast where they might differ
                data = record_bytes(row, names, converters)
            except (fast_canonical.NotFast, orjson.JSONDecodeError):
                data = encode(
                    {n: v if f is None else f(v) for n, f, v in zip(names, fns, row, strict=False)}
                )
            if plain and type(key) is int:
                seq += 1
                prev = link(data, seq, kind, key, prev, rows, leaves)
            else:  # a text key, or a first prev that needs escaping: leaf_bytes decides
                chain.seq, chain.prev = seq, prev
                chain.link(kind, key, sha256(data).hexdigest(), int_key)
                seq, prev = chain.seq, chain.prev
            plain = plain_kind
        chain.seq, chain.prev = seq, prev


def _link_py(
    data: bytes,
    seq: int,
    kind: str,
    key: int,
    prev: str,
    rows: list[tuple[Any, ...]],
    leaves: list[bytes] | None,
) -> str:
    """Appends to ``rows`` (and its leaf hash to ``leaves``) the entry ``seq`` of record bytes
    ``data`` with integer key ``key``, ``kind`` and ``prev`` being texts JSON writes as they
    are (``_plain``), and returns its entry hash. ``leaf_bytes`` written out: the same bytes
    (tests/audit/test_sequencer.py). The C version (``_speedups.link``) is what runs where it is
    built; this is the reference it is tested against."""
    digest = hashlib.sha256(data).hexdigest()
    leaf = (
        f'{{"key":"{key}","kind":"{kind}","prev":"{prev}","record_sha256":"{digest}","seq":{seq}}}'
    ).encode()
    entry = hashlib.sha256(leaf).hexdigest()
    if leaves is not None:
        leaves.append(leaf_hash(leaf))
    rows.append((seq, kind, str(key), key, digest, prev, entry))
    return entry


_link: Callable[..., str] = _link_py if _speedups is None else _speedups.link


class _Chain:
    """The entries a pass appends: rows in ``_ENTRY_COLUMNS`` order (without sequenced_at),
    and the tail they end at."""

    def __init__(self, seq: int, prev: str, leaves: bool = False) -> None:
        self.seq, self.prev = seq, prev
        self.rows: list[tuple[Any, ...]] = []
        # the entries' Merkle leaf hashes, when this process keeps the tree (_Tree)
        self.leaves: list[bytes] | None = [] if leaves else None

    def state(self) -> tuple[int, str, int]:
        return self.seq, self.prev, len(self.rows)

    def restore(self, state: tuple[int, str, int]) -> None:
        """Back to ``state``: the entries appended since are dropped."""
        self.seq, self.prev, n = state
        del self.rows[n:]
        if self.leaves is not None:
            del self.leaves[n:]

    def link(self, kind: str, key: Any, digest: str, int_key: bool) -> None:
        """One entry, as ``_Reader.append`` links each row (the slow path)."""
        self.seq += 1
        leaf = leaf_bytes(self.seq, kind, str(key), digest, self.prev)
        entry = hashlib.sha256(leaf).hexdigest()
        if self.leaves is not None:
            self.leaves.append(leaf_hash(leaf))
        self.rows.append(
            (self.seq, kind, str(key), key if int_key else None, digest, self.prev, entry)
        )
        self.prev = entry


def _read(
    conn: Connection, reader: _Reader, key: Any, where: list[Any], limit: int, chain: _Chain
) -> None:
    """``reader.append`` of the rows ``where`` selects, in key order, up to ``limit``. Should a
    row not be readable (a value no writer of the product stores, put there behind its back:
    text in a datetime column of SQLite, say), the rows are read one by one, and that row is
    journaled as unreadable (``UNREADABLE_SHA256``) so that the journal goes on past it and
    ``audit verify`` names it; it is logged as an error too."""
    state = chain.state()
    try:
        reader.append(conn, select(*reader.cols).where(*where).order_by(key).limit(limit), chain)
        return
    except Exception as e:
        if not is_unreadable(e):
            raise
        chain.restore(state)
    for k in conn.scalars(select(key).where(*where).order_by(key).limit(limit)).all():
        state = chain.state()
        try:
            reader.append(conn, select(*reader.cols).where(key == k), chain)
        except Exception as e:
            if not is_unreadable(e):
                raise
            chain.restore(state)
            log.error(
                "journal: %s %s cannot be read (%s); journaled as unreadable", reader.kind, k, e
            )
            chain.link(reader.kind, k, UNREADABLE_SHA256, reader.int_key)


_PROBE = datetime(2001, 2, 3, 4, 5, 6, 7, tzinfo=UTC)


def _sqlite_datetime_reader(col: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """SQLAlchemy's reading of a datetime column's stored text on SQLite, where it stores the
    layout ``fast_canonical.sqlite_datetime`` takes (checked by writing a value); else None."""
    if dialect.name != "sqlite" or _python_type(col) is not datetime:
        return None
    impl = col.type.dialect_impl(dialect)
    write = impl.bind_processor(dialect)
    read = impl.result_processor(dialect, None)
    if write is None or read is None or write(_PROBE) != "2001-02-03 04:05:06.000007":
        return None
    if read("2001-02-03 04:05:06.000007") != _PROBE.replace(tzinfo=None):
        return None
    return read


def _then(first: Callable[[Any], Any], then: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """``then(first(value))`` (``first`` alone where there is nothing after it)."""
    if then is None:
        return first
    return lambda value: then(first(value))


def _python_type(col: Any) -> Any:
    try:
        return col.type.python_type
    except NotImplementedError:
        return object


def _new_rows(
    conn: Connection,
    src: JournalSource,
    limit: int,
    marks: _Marks,
    chain: _Chain,
    ids: tuple[int | None, int | None] | None = None,
) -> None:
    """Appends to ``chain`` the entries of up to ``limit`` unjournaled rows of ``src``, in key
    order (the gaps below the mark first). ``ids``: the kind's lowest and highest id as
    ``_bounds`` read them, if it did; then nothing is read that they show cannot be there."""
    mark = marks.marks.get(src.kind)
    if ids is not None and _nothing_to_read(mark, ids):
        return
    key = src.table.c[src.key]
    reader = _Reader(src)
    if not src.int_key:
        journaled = exists().where(_text_keyed(src.kind, ENTRIES.c.record_key == key))
        _read(conn, reader, key, [~journaled], limit, chain)
        return
    # Above the mark (or with no mark: no entry of the kind yet) no row has an entry, as of the
    # tail the marks are current for: no anti-join there (an index probe a row). Should another
    # sequencer append meanwhile, it took the seq this pass inserts at, and this pass rolls back.
    if mark is None or mark.top is None:
        _read(conn, reader, key, [], limit, chain)
        return
    journaled = exists().where(and_(ENTRIES.c.kind == src.kind, ENTRIES.c.record_no == key))
    before = len(chain.rows)
    ranges = mark.ranges()
    if ranges:  # rows committed late, below the mark
        within = or_(*(key.between(lo, hi) for lo, hi in ranges))
        _read(conn, reader, key, [within, ~journaled], limit, chain)
    left = limit - (len(chain.rows) - before)
    if left > 0 and (ids is None or ids[1] is None or ids[1] > mark.top):
        _read(conn, reader, key, [key > mark.top], left, chain)


_BOUNDS_SQL: dict[str, str] = {}


def _bounds(conn: Connection) -> dict[str, tuple[int | None, int | None]]:
    """Each integer-keyed kind's lowest and highest id, in one statement (compiled once per
    dialect), so that a pass need not query a kind with nothing to read: most kinds, most passes.
    An idle pass otherwise cost two statements a kind, 12 ms for 23 kinds. min and max in
    subqueries of their own: SQLite reads a lone min() or max() off the index's end, but scans
    the whole table for both in one select (3 ms for 20,000 events, growing with the store)."""
    sql = _BOUNDS_SQL.get(conn.dialect.name)
    if sql is None:
        parts = [
            select(
                literal(src.kind, String()).label("kind"),
                select(func.min(src.table.c[src.key])).scalar_subquery().label("lo"),
                select(func.max(src.table.c[src.key])).scalar_subquery().label("hi"),
            )
            for src in sources()
            if src.int_key
        ]
        q = union_all(*parts)
        sql = str(q.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        _BOUNDS_SQL[conn.dialect.name] = sql
    return {
        str(k): (None if lo is None else int(lo), None if hi is None else int(hi))
        for k, lo, hi in conn.exec_driver_sql(sql)
    }


def _nothing_to_read(mark: _Mark | None, bounds: tuple[int | None, int | None]) -> bool:
    """Whether a kind's rows all lie at or below its mark and none in its gaps (those below its
    lowest id cannot fill: the window's start below the first id, say), so a pass would read
    nothing of it. Rows committed after the bounds were read are found by the next pass."""
    lo, hi = bounds
    if hi is None:  # no rows
        return True
    if mark is None or mark.top is None or hi > mark.top:
        return False
    return not mark.gaps or (lo is not None and lo > mark.gaps[-1][1])


def _tail(conn: Connection) -> tuple[int, str]:
    row = conn.execute(
        select(ENTRIES.c.seq, ENTRIES.c.entry_hash).order_by(ENTRIES.c.seq.desc()).limit(1)
    ).first()
    return (-1, ZERO_HASH) if row is None else (int(row[0]), str(row[1]))


_ENTRY_COLUMNS = (
    "seq",
    "kind",
    "record_key",
    "record_no",
    "record_sha256",
    "prev_hash",
    "entry_hash",
    "sequenced_at",
)


def _insert_entries(conn: Connection, rows: list[tuple[Any, ...]], now: datetime) -> None:
    """One executemany of the compiled insert, its parameters (tuples in ``_ENTRY_COLUMNS``
    order, without sequenced_at) as the driver takes them: what ``conn.execute(insert, rows)``
    does without processing every value of every row (only ``sequenced_at`` needs it, and it is
    the same for the whole pass)."""
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        _copy_entries(conn, rows, now)
        return
    compiled = ENTRIES.insert().compile(dialect=conn.dialect)
    to_db = ENTRIES.c.sequenced_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    at = to_db(now) if to_db else now
    params: list[Any]
    if compiled.positional:
        names = list(compiled.positiontup or [])
        if names == list(_ENTRY_COLUMNS):
            params = [(*r, at) for r in rows]
        else:
            order = [_ENTRY_COLUMNS.index(n) for n in names]
            params = [tuple((*r, at)[i] for i in order) for r in rows]
    else:
        params = [dict(zip(_ENTRY_COLUMNS, (*r, at), strict=True)) for r in rows]
    conn.exec_driver_sql(str(compiled), params)


def _copy_entries(conn: Connection, rows: list[tuple[Any, ...]], now: datetime) -> None:
    """PostgreSQL: the entries by COPY, in the pass's transaction. psycopg's executemany sends
    a statement per row, which cost about 10 us of the sequencer's CPU per entry, COPY about 2.
    A seq another sequencer took first fails it as the insert would (IntegrityError)."""
    import psycopg

    cols = ", ".join(_ENTRY_COLUMNS)
    raw = conn.connection.driver_connection
    assert raw is not None
    try:
        with raw.cursor() as cur:
            # sequenced_at as an insert stores it (converted by the session's time zone; COPY
            # would drop the offset instead)
            at = cur.execute("SELECT CAST(%s AS TIMESTAMP)", (now,)).fetchone()[0]
            with cur.copy(f"COPY {ENTRIES.name} ({cols}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row((*r, at))
    except psycopg.IntegrityError as e:
        raise IntegrityError(f"COPY {ENTRIES.name}", None, e) from e


def _plain(text: str) -> bool:
    """A text JSON writes as it is, between quotes (a kind's name: checked once per pass)."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


def sequence_pass(limit: int = PASS_LIMIT) -> int:
    """Append entries for up to ``limit`` unjournaled rows; returns how many (0 if it lost a race)."""
    return _pass(limit)[0]


def _pass(limit: int) -> tuple[int, bool]:
    """(entries appended, whether another sequencer appended first and this pass rolled back)."""
    global _state, _tree
    now = datetime.now(UTC)
    with _pass_lock:
        try:
            with get_engine().begin() as conn:
                seq, prev = _tail(conn)
                marks = _current_marks(conn, seq, prev)
                tree = _tree if _tree is not None and _tree.continues(seq, prev) else None
                _tree = tree
                chain = _Chain(seq, prev, leaves=tree is not None)
                bounds = _bounds(conn)
                for src in sources():
                    if len(chain.rows) >= limit:
                        break
                    ids = bounds.get(src.kind)  # integer-keyed kinds only
                    _new_rows(conn, src, limit - len(chain.rows), marks, chain, ids)
                rows = chain.rows
                if rows:
                    _insert_entries(conn, rows, now)
                    conn.execute(
                        PASSES.insert().values(
                            first_seq=rows[0][0], last_seq=chain.seq, sequenced_at=now
                        )
                    )
        except IntegrityError:
            _state = _tree = None  # rebuilt from what the winner wrote
            log.info("another sequencer appended at the same time; retrying on the next pass")
            return 0, True
        except BaseException:
            _state = _tree = None
            raise
        appended: dict[str, list[int]] = {}
        for r in rows:  # committed: the marks follow
            if r[3] is not None:
                appended.setdefault(r[1], []).append(int(r[3]))
        for kind, nos in appended.items():
            marks.mark(kind).add_many(nos)
        marks.seq, marks.entry_hash = chain.seq, chain.prev
        if tree is not None and chain.leaves:
            tree.size = frontier_extend(tree.frontier, tree.size, chain.leaves)
            tree.tail = chain.prev
        return len(rows), False


def sequence_all(max_passes: int = 1000) -> int:
    """Sequence until nothing is left (or ``max_passes``); returns entries appended."""
    total = 0
    for _ in range(max_passes):
        n, lost = _pass(PASS_LIMIT)
        total += n
        if n < PASS_LIMIT and not lost:
            break
    return total


def leaves(conn: Connection, upto: int | None = None, since: int = 0) -> list[bytes]:
    """Merkle leaf hashes of the entries ``since <= seq < upto`` (seq order), recomputed from
    the stored fields."""
    q = select(
        ENTRIES.c.seq,
        ENTRIES.c.kind,
        ENTRIES.c.record_key,
        ENTRIES.c.record_sha256,
        ENTRIES.c.prev_hash,
    ).order_by(ENTRIES.c.seq)
    if upto is not None:
        q = q.where(ENTRIES.c.seq < upto)
    if since:
        q = q.where(ENTRIES.c.seq >= since)
    return [leaf_hash(leaf_bytes(int(s), k, rk, rs, p)) for s, k, rk, rs, p in conn.execute(q)]


FRONTIERS: Table = JournalFrontierRow.__table__  # type: ignore[assignment]


def _start_frontier(conn: Connection) -> tuple[int, list[bytes]]:
    """The newest stored frontier whose root is the signed root of the head of its size (a
    frontier edited behind our back is not used: the journal is read from the start instead)."""
    rows = conn.execute(
        select(FRONTIERS.c.tree_size, FRONTIERS.c.nodes)
        .order_by(FRONTIERS.c.tree_size.desc())
        .limit(3)
    ).all()
    for size, nodes in rows:
        try:
            frontier = [bytes.fromhex(h) for h in nodes]
        except (TypeError, ValueError):
            continue
        if not frontier_valid(frontier, int(size)):
            continue
        signed = conn.scalars(select(HEADS.c.root_hash).where(HEADS.c.tree_size == size)).all()
        if frontier_root(frontier).hex() in signed:
            return int(size), frontier
        log.warning("journal frontier of size %s does not match its signed head; not used", size)
    return 0, []


def write_head(key_path: Any = None) -> dict[str, Any]:
    """Sequence what is pending, then sign and store a tree head over the whole journal: this
    process's frontier where it continues the journal (``_Tree``), else the stored frontier of
    the previous head extended by the entries since (engine.audit.merkle)."""
    from engine.audit.signing import key_id, load_key, public_bytes

    global _tree
    key = load_key(key_path)
    sequence_all()
    with _pass_lock, get_engine().begin() as conn:
        seq, tail = _tail(conn)
        if _tree is not None and _tree.continues(seq, tail):
            size, frontier = _tree.size, list(_tree.frontier)
        else:
            size, frontier = _start_frontier(conn)
            # up to the tail read above: an entry appended since is in the next head
            size = frontier_extend(frontier, size, leaves(conn, upto=seq + 1, since=size))
        root = frontier_root(frontier).hex()
        ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        sig = key.sign(head_message(size, root, ts)).hex()
        now = datetime.now(UTC)
        head = {
            "tree_size": size,
            "root_hash": root,
            "timestamp": ts,
            "key_id": key_id(public_bytes(key)),
            "signature": sig,
            "created_at": now,
        }
        head["id"] = conn.execute(HEADS.insert().values(**head).returning(HEADS.c.id)).scalar_one()
        have = conn.scalar(select(FRONTIERS.c.tree_size).where(FRONTIERS.c.tree_size == size))
        if have is None:
            conn.execute(
                FRONTIERS.insert().values(
                    tree_size=size, nodes=[n.hex() for n in frontier], created_at=now
                )
            )
    _tree = _Tree(_db_id(), size, frontier, tail)
    return head


def tick() -> None:
    """Periodic step (the sweeper thread): sequence, and sign a head when due and a key is set."""
    from engine.audit.signing import AuditSettings

    settings = AuditSettings()
    if not settings.sequence:
        return
    from engine.pipeline.broker import try_lock

    # one worker at a time sequences (racing passes all but one roll back: wasted work); without
    # Redis the primary key on seq still lets only one of racing passes commit
    with try_lock(LOCK_KEY, 600, start=False) as held:
        if held is None:
            log.debug("another worker is sequencing the journal; skipped")
            return
        sequence_all()
        if settings.key_file is None:
            return
        with get_engine().connect() as conn:
            last = conn.execute(
                select(HEADS.c.tree_size, HEADS.c.created_at).order_by(HEADS.c.id.desc()).limit(1)
            ).first()
            size = _tail(conn)[0] + 1  # seq runs 0, 1, ...: no count over the whole journal
        if last is not None:
            at = last[1] if last[1].tzinfo else last[1].replace(tzinfo=UTC)
            if last[0] == size or (datetime.now(UTC) - at).total_seconds() < settings.head_interval:
                return
        write_head(settings.key_file)
