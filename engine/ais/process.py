"""One stored raw batch -> decoded reports -> derived behaviours -> v1 events through the normal
ingest (validate, store, publish for evaluation). Shared by the ``ais`` queue task and the bulk
command, so both give the same events for the same AIS.

The decoder and deriver are long-lived (one per worker process or command run): derivation
state spans batches. A batch already ``derived`` is skipped (a redelivered task is a no-op), and
a report no newer than its vessel's last one is ignored, so a batch half-derived before a crash
does not derive twice; the deterministic event ids make any repeat a duplicate.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from engine.ais import batches, checkpoint
from engine.ais.derive import Derived, Deriver
from engine.ais.emit import to_event
from engine.ais.json_input import decode_json
from engine.ais.nmea import Decoded, NmeaDecoder
from engine.pipeline.ingest import Publish, ingest_batch, summary
from engine.storage.db import session_scope

log = logging.getLogger(__name__)

FINDINGS_KEPT = 50


@dataclass
class Derivation:
    """The long-lived state of one derivation stream (a worker process, a command run).

    With a ``name`` (the worker's: its queue) the state is kept in the store
    (engine.ais.checkpoint): loaded at start, saved with every derived batch, and reloaded when a
    batch fails half way, so the memory never runs ahead of what the store says was derived."""

    deriver: Deriver = field(default_factory=Deriver)
    decoder: NmeaDecoder = field(default_factory=NmeaDecoder)
    name: str | None = None

    @classmethod
    def resumed(cls, name: str) -> Derivation:
        stream = cls(name=name)
        stream.reload()
        return stream

    def reload(self) -> int:
        """Fresh state from the store (the vessels restored)."""
        self.deriver = Deriver(self.deriver.s, self.deriver.ports)
        self.decoder = NmeaDecoder()
        return checkpoint.load(self.name, self.deriver, self.decoder) if self.name else 0


def _findings(decoded: Decoded) -> dict[str, Any]:
    by_type = Counter(p.type for p in decoded.problems)
    return {
        "lines": decoded.lines,
        "reports": len(decoded.reports),
        "problems": dict(by_type),
        "skipped_types": {str(k): v for k, v in sorted(decoded.skipped.items())},
        "findings": [
            {"pointer": p.ref, "message": p.message, "type": p.type, "value": p.text}
            for p in decoded.problems[:FINDINGS_KEPT]
        ],
    }


def ingest_derived(derived: list[Derived], publish: Publish | None) -> dict[str, Any]:
    if not derived:
        return {"events": {}, "event_ids": []}
    events = [to_event(d) for d in derived]
    results = ingest_batch(events, channel="ais", publish=publish)
    return {
        "events": summary(results),
        "event_ids": [r.event_id for r in results if r.event_id][:100],
        "invalid": [r.to_json() for r in results if r.status == "invalid"][:10],
    }


def derive_batch(
    bid: str, stream: Derivation, publish: Publish | None, expire: bool = True
) -> dict[str, Any]:
    row = batches.load_batch(bid)
    if row is None:
        log.warning("AIS batch %s is not in the store", bid)
        return {"missing": bid}
    if row.status == "derived":
        return dict(row.summary or {})
    lines = row.body.split("\n")
    try:
        if row.format == "json":
            decoded = decode_json(lines, bid, row.first_line)
        else:
            decoded = stream.decoder.decode(lines, bid, row.first_line)
        derived = stream.deriver.feed(decoded.reports)
        if expire:
            derived += stream.deriver.expire()
        out = _findings(decoded) | ingest_derived(derived, publish)
        with session_scope() as s:
            batches.mark_derived(bid, out, s)
            if stream.name:
                checkpoint.save(s, stream.name, stream.deriver, stream.decoder, bid)
    except BaseException:
        if stream.name:  # the batch stays `received`: back to the state stored before it
            stream.reload()
        raise
    return out


def finish(stream: Derivation, publish: Publish | None) -> dict[str, Any]:
    """End of a finite input (a file): close every open port visit and encounter."""
    problems = stream.decoder.pending()
    out = ingest_derived(stream.deriver.flush(), publish)
    out["problems"] = dict(Counter(p.type for p in problems))
    return out
