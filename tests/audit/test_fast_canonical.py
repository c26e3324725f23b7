"""The sequencer's orjson path gives the canonical form's bytes or steps aside (NotFast).

The reference is the documented form: ``json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` over what ``json.loads`` makes of each JSON column's text. Every check
here compares against that, never against orjson."""

from __future__ import annotations

import hashlib
import json
import math
import random
import struct
from typing import Any

import pytest
from audit_support import sqlite_stored_datetime
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from engine.audit import fast_canonical
from engine.audit.checks import verify
from engine.audit.sequencer import sequence_all
from engine.storage.db import get_engine


def _documented(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _fast(record_texts: dict[str, Any]) -> bytes | None:
    """The fast path over a record whose "raw" is a JSON column's text; None where it steps
    aside."""
    try:
        record = dict(record_texts)
        record["raw"] = fast_canonical.loads(record["raw"])
        return fast_canonical.dumps(record)
    except fast_canonical.NotFast:
        return None


def _reference(record_texts: dict[str, Any]) -> bytes:
    record = dict(record_texts)
    record["raw"] = None if record["raw"] is None else json.loads(record["raw"])
    return _documented(record)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.floats(min_value=-1e-3, max_value=1e-3)
    | st.text()
    | st.sampled_from(["1e-05", ":0.00001", "gen-7483d27e-0", "12:00:00.000000Z", "e+", ""]),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=1500, deadline=None)
@given(json_values, st.sampled_from(["stdlib", "unicode", "canonical", "spaced"]))
def test_the_fast_path_gives_the_documented_bytes_or_steps_aside(value: Any, form: str) -> None:
    """Over any JSON value, stored as SQLite keeps SQLAlchemy's serializer output, or with other
    spacing and escaping (jsonb's text has spaces): the same bytes, or NotFast."""
    try:
        if form == "stdlib":
            stored = json.dumps(value)
        elif form == "unicode":
            stored = json.dumps(value, ensure_ascii=False)
        elif form == "canonical":
            stored = _documented(value).decode()
        else:
            stored = json.dumps(value, indent=1, ensure_ascii=False)
    except UnicodeEncodeError:  # lone surrogates: no text of them to store
        return
    record = {"id": 7, "at": "2024-03-12T10:00:00.000000Z", "raw": stored}
    try:
        want = _reference(record)
    except UnicodeEncodeError:  # a lone surrogate escape: the reference cannot write it either
        assert _fast(record) is None
        return
    got = _fast(record)
    if got is not None:
        assert got == want


def _plain_float(f: float) -> bool:
    """A float Python writes without an exponent, and that is not 0.0000...: the fast path
    must take it (else a no-op that always steps aside would pass the tests)."""
    r = repr(f)
    return (
        "e" not in r
        and "inf" not in r
        and "nan" not in r
        and not r.lstrip("-").startswith("0.0000")
    )


def test_floats_over_the_whole_double_range() -> None:
    rnd = random.Random(15)
    taken = 0
    for i in range(200_000):
        if i % 2:
            f = struct.unpack("d", struct.pack("Q", rnd.getrandbits(64)))[0]
        else:
            f = rnd.uniform(-1, 1) * 10 ** rnd.randint(-25, 25)
        if not math.isfinite(f):
            continue
        record = {"id": i, "raw": json.dumps({"q": f, "v": [f, -f]})}
        got = _fast(record)
        if got is not None:
            taken += 1
            assert got == _reference(record), f
        elif _plain_float(f):
            pytest.fail(f"{f!r} stepped aside although Python writes it plainly")
    assert taken > 40_000


@pytest.mark.parametrize(
    "number",
    ["1e-05", "1.5e-07", "5e-324", "0.00001", "-0.000012", "18446744073709551616",
     "-9223372036854775809", "123456789012345678901234567890", "1e400", "NaN", "-Infinity",
     "1e16", "1.2345678901234568e+17"],
)  # fmt: skip
def test_numbers_orjson_writes_or_reads_otherwise_step_aside(number: str) -> None:
    record = {"id": 1, "raw": f'{{"value": {number}, "list": [{number}]}}'}
    assert _fast(record) is None
    _reference(record)  # the reference path still has an answer


@pytest.mark.parametrize(
    "raw",
    ['{"id": "gen-7483d27e-0", "note": "re-export e+ 1e-5 0.00001"}',
     '{"t": "12:00:00.000000Z", "q": 0.0001, "big": 9223372036854775807, "u": 18446744073709551615}',
     '{"x": -0.0, "y": 1.0, "z": 1e+15, "w": 123.456, "s": "\\u2028\\u0000\\"\\\\é😀"}'],
)  # fmt: skip
def test_ordinary_records_take_the_fast_path(raw: str) -> None:
    record = {"id": 1, "at": "2024-03-12T10:00:00.000000Z", "raw": raw}
    assert _fast(record) == _reference(record)


def test_every_code_point_is_written_as_json_dumps_writes_it() -> None:
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for i in range(0, len(chars), 512):
        chunk = chars[i : i + 512]
        value = {"s": "".join(chunk), **{c: n for n, c in enumerate(chunk)}}  # keys sort too
        record = {"id": i, "raw": json.dumps(value)}
        assert _fast(record) == _reference(record)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_float_columns_step_aside(value: float) -> None:
    with pytest.raises(fast_canonical.NotFast):
        fast_canonical.finite(value)
    assert fast_canonical.finite(1.5) == 1.5


def test_values_json_dumps_refuses_are_not_written_by_orjson() -> None:
    from datetime import UTC, datetime

    class Tag(str):
        pass

    for value in (datetime(2024, 1, 1, tzinfo=UTC), Tag("x"), 2**64, {1: "int key"}):
        with pytest.raises(fast_canonical.NotFast):
            fast_canonical.dumps({"v": value})


def test_events_with_awkward_numbers_are_sequenced_as_documented(db: None) -> None:
    """Through the product: events whose payloads hold numbers orjson writes otherwise are
    journaled with the documented hash, and verify (the standard library's path) agrees."""
    from audit_support import shipment

    from engine.models.events import Event
    from engine.storage import repository

    values: list[Any] = [1e-05, 1.5e-07, 2**70, -(2**65), 1e300, -0.0, 0.1, "1e-5", 12.5]
    if get_engine().dialect.name != "postgresql":  # jsonb refuses NaN
        values.append(float("nan"))
    raws = []
    for i, v in enumerate(values):
        raw = shipment(f"awkward-{i}")
        raw["shipment"]["goods"][0]["declared_value"] = v
        raw["extra"] = {"v": [v, {"w": v}]}
        raws.append(raw)
    repository.store_events([(r, Event.model_validate(r), repository.sha256_of(r)) for r in raws])
    assert sequence_all() == len(raws)
    with get_engine().connect() as conn:
        stored = dict(
            conn.execute(
                text("SELECT record_key, record_sha256 FROM journal_entries WHERE kind='events'")
            ).all()
        )
        rows = conn.execute(text("SELECT id, raw FROM events ORDER BY id")).all()
    assert len(rows) == len(values)
    from engine.audit.records import source_for

    src = source_for("events")
    with get_engine().connect() as conn:
        for row in conn.execute(src.table.select()):
            m = dict(row._mapping)
            record = {c: m[c] for c in src.columns}
            for c in ("occurred_at", "received_at"):
                record[c] = m[c].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            assert stored[str(m["id"])] == hashlib.sha256(_documented(record)).hexdigest()
    assert verify().ok


def _documented_datetime(v: Any) -> str:
    """records' documented datetime text: YYYY-MM-DDTHH:MM:SS.ffffffZ, UTC."""
    return f"{v:%Y-%m-%dT%H:%M:%S}.{v.microsecond:06d}Z"


@settings(max_examples=3000, deadline=None)
@given(st.datetimes())
def test_sqlite_datetimes_are_written_out_as_documented_without_parsing(value: Any) -> None:
    """Every datetime SQLite holds as SQLAlchemy writes it: the documented text, or (years
    before 1000, which the documented form does not zero-pad on every platform) NotFast."""
    stored = sqlite_stored_datetime(value)
    if value.year < 1000:
        with pytest.raises(fast_canonical.NotFast):
            fast_canonical.sqlite_datetime(stored)
        return
    assert fast_canonical.sqlite_datetime(stored) == _documented_datetime(value)


@pytest.mark.parametrize(
    "stored",
    ["2026-W49-4 10:47:50.123456",  # an ISO week date fromisoformat reads: 2026-12-03
     "2026-12-03 10:47:50.123+01",  # an offset, 26 characters too
     "2026-12-03T10:47:50.123456",  # another separator
     "2026-12-03 10:47:50",
     "2026-02-30 10:00:00.000000",  # no such day
     "2026-12-03 24:00:00.000000",
     "０２６-12-03 10:47:50.123456",  # digits that are not ASCII
     "2026-12-03 10:47:50.12345６",
     "0999-01-01 00:00:00.000000",
     "not a date at all, 26 ch.",
     ""],
)  # fmt: skip
def test_other_sqlite_datetime_texts_take_the_slow_path(stored: str) -> None:
    """A text SQLAlchemy would read otherwise, or refuse, is never written out as it is: the
    slow path reads it (the documented text of what SQLAlchemy reads) or finds it unreadable."""
    with pytest.raises(fast_canonical.NotFast):
        fast_canonical.sqlite_datetime(stored)
    assert fast_canonical.sqlite_datetime(None) is None


def test_a_late_date_read_from_sqlite_text_is_hashed_as_verify_hashes_it(db: None) -> None:
    """Through the product, with texts put in behind its back before the sequencer saw them:
    the fast path where the text has SQLAlchemy's layout, the slow path where it does not (an
    ISO week date, a "T"), and verify, which reads every row as SQLAlchemy does, agrees."""
    if get_engine().dialect.name != "sqlite":
        pytest.skip("SQLite's datetime text")
    from audit_support import store_decided

    store_decided(3, flagged_every=1000)
    with get_engine().begin() as conn:
        ids = conn.execute(text("SELECT id FROM events ORDER BY id")).scalars().all()
        for i, at in zip(
            ids[:2], ["2026-W49-4 10:47:50.123456", "2026-12-03T10:47:50.000000"], strict=True
        ):
            conn.execute(
                text("UPDATE events SET received_at = :at WHERE id = :i"), {"at": at, "i": i}
            )
    assert sequence_all() > 0
    report = verify()
    assert report.ok, report.problems
    from engine.audit.records import record_sha256, source_for

    src = source_for("events")
    with get_engine().connect() as conn:
        journaled = dict(
            conn.execute(
                text("SELECT record_no, record_sha256 FROM journal_entries WHERE kind='events'")
            ).all()
        )
        want = {ids[0]: "2026-12-03T10:47:50.123456Z", ids[1]: "2026-12-03T10:47:50.000000Z"}
        for row in conn.execute(src.table.select().where(src.table.c.id.in_(ids[:2]))):
            record = src.record(row)
            assert record["received_at"] == want[row.id]
            assert journaled[row.id] == record_sha256(record)
