"""Raw AIS batches in the store: committed before anything is queued, so accepted input is never
lost (a batch left ``received`` is derived again by ``sanctions ais sweep``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.ais.tables import AisBatchRow
from engine.storage.db import session_scope

MAX_LINES = 20_000  # per stored batch: the bulk command splits larger files


@dataclass(frozen=True)
class StoredBatch:
    id: str
    created: bool
    status: str


def sniff_format(lines: list[str]) -> str:
    """``nmea`` when the first non-blank line is a sentence (maybe behind a tag block or time),
    else ``json``."""
    for line in lines:
        text = line.strip()
        if text:
            return "json" if text[0] in "[{" else "nmea"
    return "nmea"


def batch_id(fmt: str, body: str) -> str:
    return "aisb-" + hashlib.sha256(f"{fmt}\n{body}".encode()).hexdigest()[:32]


def store_batch(
    lines: list[str], channel: str, source: str = "ais", fmt: str | None = None, first_line: int = 1
) -> StoredBatch:
    fmt = fmt or sniff_format(lines)
    body = "\n".join(line.rstrip("\r\n") for line in lines).replace("\x00", "")
    bid = batch_id(fmt, body)
    try:
        return _insert(bid, lines, body, fmt, channel, source, first_line)
    except IntegrityError:  # the same batch stored concurrently by another sender
        row = load_batch(bid)
        return StoredBatch(bid, False, row.status if row is not None else "received")


def _insert(
    bid: str, lines: list[str], body: str, fmt: str, channel: str, source: str, first_line: int
) -> StoredBatch:
    with session_scope() as s:
        row = s.get(AisBatchRow, bid)
        if row is not None:
            return StoredBatch(bid, False, row.status)
        s.add(
            AisBatchRow(
                id=bid,
                received_at=datetime.now(UTC),
                channel=channel,
                format=fmt,
                source=source[:200],
                first_line=first_line,
                line_count=len(lines),
                body=body,
                status="received",
            )
        )
    return StoredBatch(bid, True, "received")


def load_batch(bid: str) -> AisBatchRow | None:
    with session_scope() as s:
        row = s.get(AisBatchRow, bid)
        if row is not None:
            s.expunge(row)
        return row


def mark_derived(bid: str, summary: dict[str, Any], session: Session | None = None) -> None:
    """In ``session`` when given (the derivation state's checkpoint commits with it)."""
    if session is None:
        with session_scope() as s:
            mark_derived(bid, summary, s)
        return
    session.execute(
        update(AisBatchRow)
        .where(AisBatchRow.id == bid)
        .values(status="derived", derived_at=datetime.now(UTC), summary=summary)
    )


def underived_ids(limit: int = 1000) -> list[str]:
    with session_scope() as s:
        return list(
            s.scalars(
                select(AisBatchRow.id)
                .where(AisBatchRow.status == "received")
                .order_by(AisBatchRow.received_at, AisBatchRow.id)
                .limit(limit)
            )
        )
