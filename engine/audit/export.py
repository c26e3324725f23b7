"""``sanctions audit export --from --to [--regime]``: one zip an outside auditor can verify with
the Python standard library alone (``python3 verify.py`` in the extracted directory).

Contents (every file listed with its sha256 in ``manifest.json``):

- ``pack.json``: period, regime, public key (hex), log id, when it was made;
- ``records/<kind>.jsonl``: the canonical records (as journaled) of the period's events,
  decisions, alerts, review actions and notes, and of the rule packs (full texts), list
  snapshots and register changes (up to the newest register version) those decisions used;
- ``lists/<id>.zlib``: the list snapshot files as stored (zlib), hashed in their records;
- ``journal.jsonl``: the journal segment from the first to the last entry of those records
  (entries of other records in between are included without their records);
- ``proofs.json``: the newest signed head, the inclusion proof of the segment's last entry and of
  each older entry outside the segment, the earlier signed heads with consistency proofs;
- ``verify.py`` (engine/audit/verify_pack.py, verbatim) and ``README.txt``.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.audit.merkle import consistency_proof, inclusion_path
from engine.audit.proofs import head_json
from engine.audit.records import canonical_json, is_unreadable, source_for
from engine.audit.sequencer import ENTRIES, HEADS, entries_of, leaves, sequence_all
from engine.audit.verify_pack import LOG_ID
from engine.storage.db import get_engine

VERIFIER = Path(__file__).with_name("verify_pack.py")
FORMAT = "sanctions-audit-pack/1"

README = """Audit pack of the sanctions rule engine ({since} .. {until}{regime}).

Run:  python3 -I verify.py      (Python 3.9+, standard library only; no network)

verify.py checks: the manifest (every file's sha256, no file missing or added); each record's
canonical form against its journal entry; the hash chain of the journal segment; the Merkle
inclusion of the segment's last entry and of every older entry in the newest signed tree head;
the consistency of the earlier signed heads with it; every head's Ed25519 signature against the
public key in pack.json; and each decision's pinned versions (rule pack text, list snapshot,
register changes) re-derived from the files in this pack.

Compare the public key in pack.json with the one the operator publishes (GET /audit/public-key):
the pack proves consistency with that key, not who holds it. See docs/AUDIT.md of the product.
"""


def _rows(conn: Any, kind: str, where: Any) -> list[Any]:
    src = source_for(kind)
    return list(conn.execute(select(src.table).where(where).order_by(src.table.c[src.key])))


def _rows_of(conn: Any, ids: list[Any], *by: tuple[str, Any]) -> list[list[Any]]:
    """The rows of each (kind, column) whose column is one of ``ids``, 500 ids per query (an IN
    list the databases take)."""
    out: list[list[Any]] = [[] for _ in by]
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for rows, (kind, column) in zip(out, by, strict=True):
            rows += _rows(conn, kind, column.in_(chunk))
    return out


def _select(
    conn: Any, since: datetime, until: datetime, regime: str | None
) -> dict[str, list[Any]]:
    from engine.lists.tables import ListSnapshotRow
    from engine.registers.tables import RegisterChangeRow
    from engine.storage.desk_tables import AlertNoteRow, AuditRow
    from engine.storage.tables import AlertRow, DecisionRow, EventRow, RulePackRow

    events = _rows(conn, "events", (EventRow.occurred_at >= since) & (EventRow.occurred_at < until))
    ids = [e.event_id for e in events]
    decisions, alerts = _rows_of(
        conn, ids, ("decisions", DecisionRow.event_id), ("alerts", AlertRow.event_id)
    )
    if regime is not None:
        keep = {
            d.event_id for d in decisions if any(v.get("regime") == regime for v in d.violations)
        }
        events = [e for e in events if e.event_id in keep]
        decisions = [d for d in decisions if d.event_id in keep]
        alerts = [a for a in alerts if a.regime == regime]
    alert_ids = [a.id for a in alerts]
    actions, notes = _rows_of(
        conn,
        alert_ids,
        ("review_actions", AuditRow.alert_id),
        ("alert_notes", AlertNoteRow.alert_id),
    )
    packs = sorted({d.rule_pack_version for d in decisions if d.rule_pack_version})
    top_register = max((d.register_version or 0 for d in decisions), default=0)
    return {
        "events": events,
        "decisions": decisions,
        "alerts": alerts,
        "review_actions": actions,
        "alert_notes": notes,
        "rule_packs": _rows(conn, "rule_packs", RulePackRow.version.in_(packs)) if packs else [],
        # every snapshot: a decision may cite a reconstruction over several of them
        "list_snapshots": _rows(conn, "list_snapshots", ListSnapshotRow.id >= 0),
        "register_changes": _rows(
            conn, "register_changes", RegisterChangeRow.version <= top_register
        )
        if top_register
        else [],
    }


class UnreadableRecords(Exception):
    """The period holds a row that cannot be read (a value stored behind the product's back):
    the pack is not written, as it could not show that row for what it is."""


def _chosen(conn: Any, since: datetime, until: datetime, regime: str | None) -> Any:
    try:
        return _select(conn, since, until, regime)
    except Exception as e:
        if not is_unreadable(e):
            raise
        raise UnreadableRecords(
            f"the period holds a record that cannot be read ({type(e).__name__}: {e}); "
            "`sanctions audit verify` names it. No audit pack was written."
        ) from e


def export_pack(
    out: Path, since: datetime, until: datetime, regime: str | None = None, key_path: Any = None
) -> dict[str, Any]:
    """Write the zip to ``out``; returns a summary. A head is signed first (the pack proves
    inclusion in it), so the signing key must be at hand."""
    from engine.audit.sequencer import write_head
    from engine.audit.signing import load_key, public_bytes

    sequence_all()
    write_head(key_path)
    public = public_bytes(load_key(key_path))
    files: dict[str, bytes] = {}
    with get_engine().connect() as conn:
        chosen = _chosen(conn, since, until, regime)
        wanted: dict[tuple[str, str], dict[str, Any]] = {}
        for kind, rows in chosen.items():
            src = source_for(kind)
            lines = []
            for row in rows:
                rec = src.record(row)
                key = str(row._mapping[src.key])
                wanted[(kind, key)] = rec
                lines.append(canonical_json({"kind": kind, "key": key, "record": rec}))
            files[f"records/{kind}.jsonl"] = b"".join(line + b"\n" for line in lines)
            if kind == "list_snapshots":
                for row in rows:
                    files[f"lists/{row.id}.zlib"] = bytes(row.raw_gz)
        heads = list(conn.execute(select(HEADS).order_by(HEADS.c.tree_size, HEADS.c.id)))
        newest = heads[-1]
        lv = leaves(conn, upto=newest.tree_size)
        found = {}
        keys = list(wanted)
        for i in range(0, len(keys), 500):
            by_kind: dict[str, list[str]] = {}
            for kind, key in keys[i : i + 500]:
                by_kind.setdefault(kind, []).append(key)
            for kind, ks in by_kind.items():
                for e in conn.execute(select(ENTRIES.c.seq).where(entries_of(kind, ks))):
                    found[e.seq] = True
        seqs = sorted(found)
        core_kinds = ("events", "decisions", "alerts", "review_actions", "alert_notes")
        kind_of = {}
        if seqs:
            kind_of = {
                int(r.seq): r.kind
                for r in conn.execute(
                    select(ENTRIES.c.seq, ENTRIES.c.kind).where(ENTRIES.c.seq.in_(seqs))
                )
            }
        core = [s for s in seqs if kind_of.get(s) in core_kinds]
        lo, hi = (core[0], core[-1]) if core else (None, None)
        segment = []
        if lo is not None:
            for r in conn.execute(
                select(ENTRIES)
                .where(ENTRIES.c.seq >= lo, ENTRIES.c.seq <= hi)
                .order_by(ENTRIES.c.seq)
            ):
                segment.append(
                    {
                        "seq": int(r.seq),
                        "kind": r.kind,
                        "key": r.record_key,
                        "record_sha256": r.record_sha256,
                        "prev": r.prev_hash,
                    }
                )
        outside = [s for s in seqs if lo is None or not lo <= s <= hi]
        extra = []
        for r in (
            conn.execute(select(ENTRIES).where(ENTRIES.c.seq.in_(outside)).order_by(ENTRIES.c.seq))
            if outside
            else []
        ):
            extra.append(
                {
                    "entry": {
                        "seq": int(r.seq),
                        "kind": r.kind,
                        "key": r.record_key,
                        "record_sha256": r.record_sha256,
                        "prev": r.prev_hash,
                    },
                    "audit_path": [h.hex() for h in inclusion_path(int(r.seq), lv)],
                }
            )
    proofs = {
        "head": head_json(newest),
        "segment_last_path": [h.hex() for h in inclusion_path(hi, lv)] if hi is not None else [],
        "outside": extra,
        "earlier_heads": [
            {
                "head": head_json(h),
                "consistency": [x.hex() for x in consistency_proof(int(h.tree_size), lv)],
            }
            for h in heads[:-1]
            if h.tree_size > 0
        ],
    }
    files["journal.jsonl"] = b"".join(canonical_json(e) + b"\n" for e in segment)
    files["proofs.json"] = canonical_json(proofs)
    summary = {
        "format": FORMAT,
        "log": LOG_ID,
        "from": since.isoformat(),
        "to": until.isoformat(),
        "regime": regime,
        "public_key": public.hex(),
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "counts": {k: len(v) for k, v in chosen.items()},
    }
    files["pack.json"] = canonical_json(summary)
    files["README.txt"] = README.format(
        since=since.date(), until=until.date(), regime=f", regime {regime}" if regime else ""
    ).encode()
    files["verify.py"] = VERIFIER.read_bytes()
    manifest = {
        "format": FORMAT,
        "files": {p: hashlib.sha256(b).hexdigest() for p, b in sorted(files.items())},
    }
    files["manifest.json"] = canonical_json(manifest)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p, b in sorted(files.items()):
            z.writestr(p, b)
    out.write_bytes(buf.getvalue())
    return summary
