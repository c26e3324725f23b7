"""``sanctions audit verify``: walk the journal and report the first broken link with its record.

Checked, in seq order: positions are contiguous (a deleted or reordered entry breaks them), each
entry's ``prev_hash`` is the previous entry's hash and its own hash is SHA-256 of its leaf (an
edited entry breaks the chain), and each journaled record still exists with the same canonical
form (an edited, deleted or swapped row is named by kind and key). Then every signed tree head:
its root is recomputed from the entries (a rewritten chain no longer matches the signed root)
and its Ed25519 signature is checked against the public key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from engine.audit.merkle import frontier_extend, frontier_root
from engine.audit.records import is_unreadable, record_sha256, source_for
from engine.audit.sequencer import ENTRIES, HEADS, PASSES, entries_of, leaves
from engine.audit.verify_pack import leaf_bytes, verify_head
from engine.storage.db import get_engine

CHUNK = 5000


@dataclass(frozen=True)
class Problem:
    seq: int | None
    kind: str | None
    key: str | None
    message: str

    def __str__(self) -> str:
        where = f"entry {self.seq}" if self.seq is not None else "journal"
        what = f" ({self.kind} {self.key})" if self.kind else ""
        return f"{where}{what}: {self.message}"


@dataclass
class VerifyReport:
    entries: int
    heads: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def _range(conn: Connection, since: datetime | None, until: datetime | None) -> tuple[int, int]:
    """The lowest and highest seq of the entries sequenced in [since, until): from the passes'
    rows, each the time of all its entries (engine.audit.tables.JournalPassRow)."""
    if since is None and until is None:
        q = select(func.min(ENTRIES.c.seq), func.max(ENTRIES.c.seq))
    else:
        q = select(func.min(PASSES.c.first_seq), func.max(PASSES.c.last_seq))
    if since is not None:
        q = q.where(PASSES.c.sequenced_at >= since)
    if until is not None:
        q = q.where(PASSES.c.sequenced_at < until)
    lo, hi = conn.execute(q).one()
    return (0, -1) if lo is None else (int(lo), int(hi))


def _chunks(conn: Connection, lo: int, hi: int) -> Iterator[list[Any]]:
    start = lo
    while start <= hi:
        rows = list(
            conn.execute(
                select(ENTRIES)
                .where(ENTRIES.c.seq >= start, ENTRIES.c.seq <= hi)
                .order_by(ENTRIES.c.seq)
                .limit(CHUNK)
            )
        )
        if not rows:
            return
        yield rows
        start = int(rows[-1].seq) + 1


def _digests(conn: Connection, src: Any, keys: list[Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The record hash of each of ``keys``' rows, and the rows that cannot be read with the
    reason: a value no writer of the product stores (text in a datetime column of SQLite,
    say), put there behind its back. Read together, else one by one to name them."""
    col = src.table.c[src.key]
    try:
        rows = conn.execute(select(src.table).where(col.in_(keys))).all()
        return {str(r._mapping[src.key]): record_sha256(src.record(r)) for r in rows}, {}
    except Exception as e:
        if not is_unreadable(e):
            raise
    found: dict[str, str] = {}
    unreadable: dict[str, str] = {}
    for key in keys:
        try:
            row = conn.execute(select(src.table).where(col == key)).first()
            if row is not None:
                found[str(key)] = record_sha256(src.record(row))
        except Exception as e:
            if not is_unreadable(e):
                raise
            unreadable[str(key)] = f"record unreadable ({type(e).__name__}: {e})"
    return found, unreadable


def _check_records(conn: Connection, rows: list[Any]) -> list[Problem]:
    by_kind: dict[str, list[Any]] = {}
    for r in rows:
        by_kind.setdefault(r.kind, []).append(r)
    out: list[Problem] = []
    for kind, entries in by_kind.items():
        try:
            src = source_for(kind)
        except KeyError:
            out += [Problem(e.seq, kind, e.record_key, "unknown record kind") for e in entries]
            continue
        keys = [int(e.record_key) if src.int_key else e.record_key for e in entries]
        found, unreadable = _digests(conn, src, keys)
        for e in entries:
            digest = found.get(e.record_key)
            if e.record_key in unreadable:
                out.append(Problem(e.seq, kind, e.record_key, unreadable[e.record_key]))
            elif digest is None:
                out.append(Problem(e.seq, kind, e.record_key, "record deleted"))
            elif digest != e.record_sha256:
                out.append(
                    Problem(
                        e.seq,
                        kind,
                        e.record_key,
                        f"record altered (sha256 {digest} != journaled {e.record_sha256})",
                    )
                )
    return out


def _check_states(conn: Connection, within: tuple[int, int] | None = None) -> list[Problem]:
    """Mutable rows against the state their journaled history ends in (engine.audit.states);
    with ``within`` (lo, hi), only the rows whose own journal entry is at a position in it (the
    rows a verify of a period covers: their whole history is still what they are held to)."""
    from engine.audit.states import state_checks

    out: list[Problem] = []
    for check in state_checks():
        try:
            found = list(check.check(conn))
        except Exception as e:
            if not is_unreadable(e):  # a value stored behind the product's back, else raise
                raise
            msg = f"state check could not read its rows ({type(e).__name__}: {e})"
            out.append(Problem(None, check.kind, None, msg))
            continue
        if not found:
            continue
        seqs = dict(
            conn.execute(
                select(ENTRIES.c.record_key, ENTRIES.c.seq).where(
                    entries_of(check.kind, [str(key) for key, _ in found])
                )
            ).all()
        )
        for key, msg in found:
            seq = seqs.get(key)
            if within is None or (seq is not None and within[0] <= seq <= within[1]):
                out.append(Problem(seq, check.kind, key, msg))
    return out


def verify(
    since: datetime | None = None, until: datetime | None = None, public_key: bytes | None = None
) -> VerifyReport:
    """Walk the journal (optionally the entries sequenced in [since, until), and then the state
    checks only of the records those entries journal) and the heads."""
    problems: list[Problem] = []
    n = 0
    with get_engine().connect() as conn:
        lo, hi = _range(conn, since, until)
        expected_seq, prev = lo, None
        if lo > 0:
            prev = conn.scalar(select(ENTRIES.c.entry_hash).where(ENTRIES.c.seq == lo - 1))
        elif lo == 0:
            from engine.audit.verify_pack import ZERO_HASH

            prev = ZERO_HASH
        for rows in _chunks(conn, lo, hi):
            chain: list[Problem] = []
            for r in rows:
                n += 1
                if r.seq != expected_seq:
                    chain.append(
                        Problem(
                            r.seq,
                            r.kind,
                            r.record_key,
                            f"expected position {expected_seq}: entries missing or reordered",
                        )
                    )
                expected_seq = r.seq + 1
                if prev is not None and r.prev_hash != prev:
                    chain.append(
                        Problem(
                            r.seq, r.kind, r.record_key, "prev_hash is not the previous entry's"
                        )
                    )
                own = hashlib.sha256(
                    leaf_bytes(int(r.seq), r.kind, r.record_key, r.record_sha256, r.prev_hash)
                ).hexdigest()
                if own != r.entry_hash:
                    chain.append(Problem(r.seq, r.kind, r.record_key, "entry altered"))
                prev = r.entry_hash
            found = chain + _check_records(conn, rows)
            if found:
                problems += sorted(found, key=lambda p: p.seq or 0)
                break  # the first broken link is what counts; later ones follow from it
        if since is None and until is None:
            problems += _check_states(conn)
        elif lo <= hi:
            problems += _check_states(conn, (lo, hi))
        heads = list(conn.execute(select(HEADS).order_by(HEADS.c.tree_size, HEADS.c.id)))
        if heads:
            lv = leaves(conn)
            # one pass over the leaves for every head (heads in tree-size order)
            frontier: list[bytes] = []
            size = 0
            for h in heads:
                if h.tree_size > len(lv):
                    problems.append(
                        Problem(None, None, None, f"head {h.id}: tree size {h.tree_size} > log")
                    )
                    continue
                size = frontier_extend(frontier, size, lv[size : h.tree_size])
                if frontier_root(frontier).hex() != h.root_hash:
                    problems.append(
                        Problem(
                            None,
                            None,
                            None,
                            f"head {h.id} (size {h.tree_size}): signed root does not match the"
                            " journal (entries rewritten)",
                        )
                    )
                if public_key is not None and not verify_head(dict(h._mapping), public_key):
                    problems.append(Problem(None, None, None, f"head {h.id}: bad signature"))
    return VerifyReport(n, len(heads), problems)
