"""Proofs an auditor can be handed without the rest of the log: one record's inclusion in a
signed head, and the consistency of two signed heads (RFC 9162 2.1.3 / 2.1.4)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.audit.merkle import consistency_proof, inclusion_path
from engine.audit.records import source_for
from engine.audit.sequencer import ENTRIES, HEADS, entries_of, leaves
from engine.storage.db import get_engine


def _head(conn: Any, head_id: int | None) -> Any:
    q = select(HEADS)
    q = q.where(HEADS.c.id == head_id) if head_id is not None else q.order_by(HEADS.c.id.desc())
    head = conn.execute(q.limit(1)).first()
    if head is None:
        raise LookupError("no signed tree head yet (sanctions audit seal)")
    return head


def head_json(head: Any) -> dict[str, Any]:
    m = head._mapping
    return {k: m[k] for k in ("id", "tree_size", "root_hash", "timestamp", "key_id", "signature")}


def inclusion(kind: str, key: str, head_id: int | None = None) -> dict[str, Any]:
    """The record's journal entry, its canonical record, and its audit path to a signed head."""
    src = source_for(kind)
    with get_engine().connect() as conn:
        entry = conn.execute(select(ENTRIES).where(entries_of(kind, [key]))).first()
        if entry is None:
            raise LookupError(f"{kind} {key} is not journaled (yet)")
        head = _head(conn, head_id)
        if entry.seq >= head.tree_size:
            raise LookupError(f"{kind} {key} is newer than head {head.id}: seal a new head")
        lv = leaves(conn, upto=head.tree_size)
        col = src.table.c[src.key]
        row = conn.execute(
            select(src.table).where(col == (int(key) if src.int_key else key))
        ).first()
    return {
        "record": None if row is None else src.record(row),
        "entry": {
            "seq": entry.seq,
            "kind": kind,
            "key": key,
            "record_sha256": entry.record_sha256,
            "prev": entry.prev_hash,
        },
        "head": head_json(head),
        "audit_path": [h.hex() for h in inclusion_path(int(entry.seq), lv)],
    }


def decision_inclusion(event_id: str, head_id: int | None = None) -> dict[str, Any]:
    from engine.storage.tables import DecisionRow

    with get_engine().connect() as conn:
        did = conn.scalar(select(DecisionRow.id).where(DecisionRow.event_id == event_id))
    if did is None:
        raise LookupError(f"event {event_id!r} has no decision")
    return inclusion("decisions", str(did), head_id)


def consistency(first_id: int, second_id: int) -> dict[str, Any]:
    with get_engine().connect() as conn:
        a, b = _head(conn, first_id), _head(conn, second_id)
        if a.tree_size > b.tree_size:
            a, b = b, a
        lv = leaves(conn, upto=b.tree_size)
    return {
        "first": head_json(a),
        "second": head_json(b),
        "proof": [h.hex() for h in consistency_proof(int(a.tree_size), lv)],
    }
