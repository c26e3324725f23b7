"""What is journaled, and the canonical form each record is hashed over.

Canonical JSON (the one form every hash in the journal is taken over, also in the audit pack's
``verify.py``): ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
encoded as UTF-8. A record's canonical form is the JSON object of its journaled columns, with
datetimes as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC; SQLite's naive values are UTC) and binary
columns as ``{"sha256": hex}`` of their bytes.

Only the columns that never change after insert are journaled. The mutable desk state of an alert
(status, assignee, resolution...) and of an account or key (active, revoked) is proven by the
journaled review actions (``audit_log``: before/after of every change), not by the row itself.

Another area adds its table with ``register(JournalSource(...))`` from its own module, imported
by ``engine.audit.records.sources()`` below (cases: one line in ``_optional_sources``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import Table

# json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) without building
# an encoder per call (the sequencer hashes thousands of records a second); same bytes. No
# circular-reference check: a record is decoded JSON and column values, which cannot hold a
# cycle (one would raise RecursionError instead of ValueError); ~0.5 us of ~5 per record.
_encode = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False
).encode


def canonical_json(value: Any) -> bytes:
    return _encode(value).encode("utf-8")


_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def loads_json(text: Any) -> Any:
    """``json.loads`` of a JSON column's text (a value already decoded is returned as it is):
    the decoder's scanner called directly, which is what json.loads does for a text with no
    surrounding whitespace, without its per-call overhead; any other text goes to json.loads."""
    if not isinstance(text, str):
        return text
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# The record hash journaled for a row the sequencer could not read (a value stored behind the
# product's back): no canonical record hashes to it, so audit verify reports the row whatever it
# holds later (engine.audit.sequencer._read)
UNREADABLE_SHA256 = sha256_hex(b"unreadable record")


def is_unreadable(error: BaseException) -> bool:
    """Whether reading a row failed on a value in it (text in a datetime column, bytes that are
    not UTF-8 in a text one), not on the database, whose errors must abort what reads (a pass
    is retried on the next tick; a row is not to be journaled as unreadable because the
    database was locked)."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(error, DBAPIError):
        return "decode" in str(error.orig).lower()  # sqlite3: "Could not decode to UTF-8 ..."
    return isinstance(error, ValueError | TypeError | OverflowError)


_ZERO = timedelta(0)


def _datetime(v: datetime) -> str:
    # isoformat is several times cheaper than strftime and gives the same text for UTC values of
    # four-digit years (strftime does not zero-pad years below 1000 on every platform). Without
    # timespec: the keyword costs more than the formatting (0.8 of 1.2 us); isoformat then
    # leaves out a zero microsecond, written here instead.
    if v.tzinfo is None and v.year >= 1000:  # SQLite's: no offset to cut
        return v.isoformat() + "Z" if v.microsecond else v.isoformat() + ".000000Z"
    if v.year >= 1000 and (v.tzinfo is None or v.utcoffset() == _ZERO):
        text = v.isoformat()
        return text[:26] + "Z" if v.microsecond else text[:19] + ".000000Z"
    v = v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
    return v.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _datetime_value(v: Any) -> Any:
    """``_value`` for a datetime column's values (checked first: no isinstance chain)."""
    return _datetime(v) if type(v) is datetime else _value(v)


def _value(v: Any) -> Any:
    if isinstance(v, datetime):
        return _datetime(v)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bytes | bytearray | memoryview):
        return {"sha256": hashlib.sha256(bytes(v)).hexdigest()}
    return v


@dataclass(frozen=True)
class JournalSource:
    kind: str  # the journal's name for the record type ("decisions")
    table: Table
    key: str  # column that identifies a row (an integer id where the table has one)
    columns: tuple[str, ...]  # the immutable columns, hashed

    @property
    def int_key(self) -> bool:
        return self.table.c[self.key].type.python_type is int

    @cached_property
    def _converters(self) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
        """Per journaled column, how its value becomes JSON: None (as it is) for the column
        types that can only hold JSON values already, ``_value`` for every other."""
        plain = (str, int, bool, float, dict, list)
        out: list[tuple[str, Callable[[Any], Any] | None]] = []
        for c in self.columns:
            try:
                py = self.table.c[c].type.python_type
            except NotImplementedError:
                py = object
            out.append((c, None if py in plain else _datetime_value if py is datetime else _value))
        return tuple(out)

    def record(self, row: Any) -> dict[str, Any]:
        """The canonical record (a dict of JSON values) of one row (a Row or mapping)."""
        m = row._mapping if hasattr(row, "_mapping") else row
        return {c: m[c] if f is None else f(m[c]) for c, f in self._converters}


def record_sha256(record: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(record))


_EXTRA: list[JournalSource] = []


def register(source: JournalSource) -> None:
    """Journal another table (cases, allowlist...): call from the owning area's module."""
    if all(s.kind != source.kind for s in _EXTRA):
        _EXTRA.append(source)


def _t(row_class: Any) -> Table:
    return row_class.__table__


def _cols(row_class: Any, exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(c.name for c in _t(row_class).columns if c.name not in exclude)


def _optional_sources() -> None:
    # Hook for areas that land later: their table module calls register(); importing it here
    # makes it part of every sequencer pass and verification.
    import importlib

    for module in (
        "engine.cases.journal",
        "engine.allowlist.journal",
        "engine.notify.journal",
        "engine.approvals.journal",
    ):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            pass


def sources() -> list[JournalSource]:
    """Every journaled table, in the order the sequencer visits them within one pass."""
    from engine.lists.tables import ListSnapshotRow
    from engine.registers.tables import RegisterChangeRow
    from engine.storage.desk_tables import AlertNoteRow, ApiKeyRow, AuditRow, UserRow
    from engine.storage.tables import AlertRow, DecisionRow, EventRow, RulePackRow

    _optional_sources()
    core = [
        JournalSource("rule_packs", _t(RulePackRow), "version", _cols(RulePackRow)),
        JournalSource("list_snapshots", _t(ListSnapshotRow), "id", _cols(ListSnapshotRow)),
        JournalSource("events", _t(EventRow), "id", _cols(EventRow, ("status",))),
        JournalSource("decisions", _t(DecisionRow), "id", _cols(DecisionRow)),
        JournalSource(
            "alerts",
            _t(AlertRow),
            "id",
            _cols(AlertRow, ("status", "resolution", "assignee", "updated_at", "closed_at")),
        ),
        JournalSource("review_actions", _t(AuditRow), "id", _cols(AuditRow)),
        JournalSource("alert_notes", _t(AlertNoteRow), "id", _cols(AlertNoteRow)),
        JournalSource(
            "register_changes", _t(RegisterChangeRow), "version", _cols(RegisterChangeRow)
        ),
        JournalSource("accounts", _t(UserRow), "id", ("id", "username", "created_at")),
        JournalSource(
            "api_keys",
            _t(ApiKeyRow),
            "id",
            ("id", "name", "prefix", "key_hash", "scopes", "created_by", "created_at"),
        ),
    ]
    return core + list(_EXTRA)


def source_for(kind: str) -> JournalSource:
    for s in sources():
        if s.kind == kind:
            return s
    raise KeyError(kind)
