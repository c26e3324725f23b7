"""The sequencer: assigns journal positions after the fact, so workers never wait on the chain.

Workers write events, decisions and alerts as before (no lock, no shared counter). A sequencer
pass (the sweeper thread of every worker, ``sanctions audit seal``, or tests) finds journaled rows
without an entry, hashes their canonical form and appends entries ``seq = tail+1, ...``, each
chained to the previous one. Two passes racing both try to insert the same ``seq``: the primary
key lets one win and the other rolls back and tries again on its next pass.

A row committed late (its id lower than rows already journaled) is still found: each pass looks
back ``LOOKBACK`` ids below the highest journaled one (the anti-join is on an index). A row
inserted behind the application's back before the sequencer saw it is journaled like any other:
tamper evidence starts when a record is sequenced (seconds after commit), see docs/AUDIT.md.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, and_, exists, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from engine.audit.merkle import frontier_extend, frontier_root, frontier_valid
from engine.audit.records import JournalSource, record_sha256, sources
from engine.audit.tables import JournalEntryRow, JournalFrontierRow, JournalHeadRow
from engine.audit.verify_pack import ZERO_HASH, head_message, leaf_bytes, leaf_hash
from engine.storage.db import get_engine

log = logging.getLogger(__name__)

ENTRIES: Table = JournalEntryRow.__table__  # type: ignore[assignment]
HEADS: Table = JournalHeadRow.__table__  # type: ignore[assignment]
LOOKBACK = 20_000
PASS_LIMIT = 20_000


def _new_rows(conn: Connection, src: JournalSource, limit: int) -> list[Any]:
    t, key = src.table, src.table.c[src.key]
    if src.int_key:
        top = conn.scalar(select(func.max(ENTRIES.c.record_no)).where(ENTRIES.c.kind == src.kind))
        floor = -1 if top is None else int(top) - LOOKBACK
        journaled = exists().where(and_(ENTRIES.c.kind == src.kind, ENTRIES.c.record_no == key))
        q = select(t).where(key > floor, ~journaled).order_by(key).limit(limit)
    else:
        journaled = exists().where(and_(ENTRIES.c.kind == src.kind, ENTRIES.c.record_key == key))
        q = select(t).where(~journaled).order_by(key).limit(limit)
    return list(conn.execute(q))


def _tail(conn: Connection) -> tuple[int, str]:
    row = conn.execute(
        select(ENTRIES.c.seq, ENTRIES.c.entry_hash).order_by(ENTRIES.c.seq.desc()).limit(1)
    ).first()
    return (-1, ZERO_HASH) if row is None else (int(row[0]), str(row[1]))


def sequence_pass(limit: int = PASS_LIMIT) -> int:
    """Append entries for up to ``limit`` unjournaled rows; returns how many (0 if it lost a race)."""
    import hashlib

    now = datetime.now(UTC)
    try:
        with get_engine().begin() as conn:
            seq, prev = _tail(conn)
            rows: list[dict[str, Any]] = []
            for src in sources():
                if len(rows) >= limit:
                    break
                for row in _new_rows(conn, src, limit - len(rows)):
                    key = row._mapping[src.key]
                    seq += 1
                    digest = record_sha256(src.record(row))
                    entry = hashlib.sha256(
                        leaf_bytes(seq, src.kind, str(key), digest, prev)
                    ).hexdigest()
                    rows.append(
                        {
                            "seq": seq,
                            "kind": src.kind,
                            "record_key": str(key),
                            "record_no": key if src.int_key else None,
                            "record_sha256": digest,
                            "prev_hash": prev,
                            "entry_hash": entry,
                            "sequenced_at": now,
                        }
                    )
                    prev = entry
            if rows:
                conn.execute(ENTRIES.insert(), rows)
            return len(rows)
    except IntegrityError:
        log.info("another sequencer appended at the same time; retrying on the next pass")
        return 0


def sequence_all(max_passes: int = 1000) -> int:
    """Sequence until nothing is left (or ``max_passes``); returns entries appended."""
    total = 0
    for _ in range(max_passes):
        n = sequence_pass()
        total += n
        if n < PASS_LIMIT:
            if n == 0 and total == 0:
                # a lost race returns 0 too: one more try is enough to tell
                n = sequence_pass()
                total += n
            if n < PASS_LIMIT:
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
    """Sequence what is pending, then sign and store a tree head over the whole journal: the
    stored frontier of the previous head extended by the entries since (engine.audit.merkle)."""
    from engine.audit.signing import key_id, load_key, public_bytes

    key = load_key(key_path)
    sequence_all()
    with get_engine().begin() as conn:
        size, frontier = _start_frontier(conn)
        size = frontier_extend(frontier, size, leaves(conn, since=size))
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
    return head


def tick() -> None:
    """Periodic step (the sweeper thread): sequence, and sign a head when due and a key is set."""
    from engine.audit.signing import AuditSettings

    settings = AuditSettings()
    if not settings.sequence:
        return
    sequence_all()
    if settings.key_file is None:
        return
    with get_engine().connect() as conn:
        last = conn.execute(
            select(HEADS.c.tree_size, HEADS.c.created_at).order_by(HEADS.c.id.desc()).limit(1)
        ).first()
        size = conn.scalar(select(func.count()).select_from(ENTRIES)) or 0
    if last is not None:
        at = last[1] if last[1].tzinfo else last[1].replace(tzinfo=UTC)
        if last[0] == size or (datetime.now(UTC) - at).total_seconds() < settings.head_interval:
            return
    write_head(settings.key_file)
