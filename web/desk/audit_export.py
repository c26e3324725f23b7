"""The audit log as files for auditors: CSV (the alert CSV's cell protection and ISO 8601 UTC
times) and JSON Lines. Rows are read in chunks and written as they are read, so a long log is
never held in memory at once."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select

from engine.storage.db import session_scope
from engine.storage.desk_tables import AuditRow
from web.alerts import _csv_cell, _iso

COLUMNS = [
    "id",
    "at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "alert_id",
    "before",
    "after",
    "note",
]
CHUNK = 1000


def _record(row: AuditRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": _iso(row.at),
        "actor": row.actor,
        "action": row.action,
        "target_type": row.target_type,
        "target_id": row.target_id,
        "alert_id": row.alert_id,
        "before": row.before,
        "after": row.after,
        "note": row.note,
    }


def _csv_line(values: list[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow(values)
    return buf.getvalue()


def _json_text(value: Any) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def stream(stmt: Select[Any], fmt: str) -> Iterator[str]:
    """The rows of ``stmt`` oldest first, as CSV lines (header first) or JSON lines."""
    if fmt == "csv":
        yield _csv_line(COLUMNS)
    last = 0
    while True:  # keyset pages by id: each page is its own short read
        with session_scope() as s:
            page = [
                _record(r)
                for r in s.scalars(
                    stmt.where(AuditRow.id > last).order_by(AuditRow.id).limit(CHUNK)
                )
            ]
        if not page:
            return
        last = page[-1]["id"]
        for rec in page:
            if fmt == "csv":
                cells = [
                    _json_text(rec[c]) if c in ("before", "after") else rec[c] for c in COLUMNS
                ]
                yield _csv_line([_csv_cell(v) for v in cells])
            else:
                yield json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n"
