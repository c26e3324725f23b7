"""The sequencer's C functions (engine/audit/_speedups.c) give what their Python originals give.

The originals are the reference: ``fast_canonical._may_differ`` and ``sqlite_datetime_py``, and
``sequencer._link_py``, each checked on its own against the documented form elsewhere
(test_fast_canonical.py, test_sequencer.py). The C ``sqlite_datetime`` may only be stricter
(NotFast where the original takes a text: the slow path then gives the same bytes), never give
another text. Everything the sequencer appends must be the same with either, and the install
must have built the C module wherever it has a compiler, since that is the speed issue 15
measured."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from datetime import datetime
from typing import Any

import orjson
import pytest
from audit_support import sqlite_stored_datetime
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.audit import fast_canonical, sequencer
from engine.audit.speedups import speedups
from engine.audit.verify_pack import leaf_bytes, leaf_hash

needs_c = pytest.mark.skipif(speedups is None, reason="the C module is not in use")


def test_the_install_built_the_c_module() -> None:
    """setup.py's extension is optional (an install without a compiler goes on in Python); where
    there is one, a failed build would lose the speed silently."""
    if shutil.which("gcc") is None and shutil.which("cc") is None:
        pytest.skip("no C compiler here")
    assert importlib.util.find_spec("engine.audit._speedups") is not None


def test_the_product_uses_the_c_functions_where_they_are_built() -> None:
    if speedups is None:
        from engine.audit import merkle

        assert fast_canonical.may_differ is fast_canonical._may_differ
        assert fast_canonical.record_bytes is fast_canonical.record_bytes_py
        assert sequencer._link is sequencer._link_py
        assert merkle.frontier_extend is merkle.frontier_extend_py
        return
    from engine.audit import merkle

    assert fast_canonical.may_differ is speedups.may_differ
    assert fast_canonical.sqlite_datetime is speedups.sqlite_datetime
    assert fast_canonical.record_bytes is speedups.record_bytes
    assert sequencer._link is speedups.link
    assert merkle.frontier_extend is speedups.frontier_extend


# texts made of what the number scan looks at, so that its cases meet often
scan_texts = st.text(alphabet='0123456789.-+eE:,[]{}"a ', max_size=40).map(str.encode)
json_like = st.recursive(
    st.none()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)  # what orjson writes
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=-1e-3, max_value=1e-3)
    | st.text(alphabet="e-+0.:,[ x", max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=12,
)


@needs_c
@settings(max_examples=3000, deadline=None)
@given(st.one_of(scan_texts, json_like.map(lambda v: orjson.dumps({"v": v}))))
def test_may_differ_is_the_original(out: bytes) -> None:
    assert speedups is not None
    assert speedups.may_differ(out) is fast_canonical._may_differ(out)


@needs_c
@pytest.mark.parametrize(
    "out",
    [b"", b"e", b"e-", b"1e-", b"[1e-7]", b":1.5e-7", b'"1e-7"', b"x1e-7", b":-1e+16",
     b"0.0000", b":0.0000", b":-0.00001", b"[0.00001]", b"a0.00001", b"10.00001", b",-0.0000"],
)  # fmt: skip
def test_may_differ_on_the_edges(out: bytes) -> None:
    assert speedups is not None
    assert speedups.may_differ(out) is fast_canonical._may_differ(out)


def _original(text: Any) -> Any:
    try:
        return fast_canonical.sqlite_datetime_py(text)
    except fast_canonical.NotFast:
        return fast_canonical.NotFast


def _c(text: Any) -> Any:
    assert speedups is not None
    try:
        return speedups.sqlite_datetime(text)
    except fast_canonical.NotFast:
        return fast_canonical.NotFast


@needs_c
@settings(max_examples=3000, deadline=None)
@given(st.datetimes(min_value=datetime(1000, 1, 1)))
def test_sqlite_datetime_takes_every_text_sqlalchemy_writes(value: datetime) -> None:
    stored = sqlite_stored_datetime(value)
    assert _c(stored) == _original(stored) == stored[:10] + "T" + stored[11:] + "Z"


@needs_c
@settings(max_examples=5000, deadline=None)
@given(
    st.datetimes(min_value=datetime(1000, 1, 1)).map(sqlite_stored_datetime),
    st.lists(st.tuples(st.integers(0, 25), st.sampled_from("0123456789 -:.T+Z٣a")), max_size=3),
)
def test_sqlite_datetime_is_the_original_or_stricter(stored: str, edits: list[Any]) -> None:
    """Texts one to three characters away from a real one: days that do not exist, hours past
    23, other separators, digits that are not ASCII."""
    text = list(stored)
    for at, ch in edits:
        text[at] = ch
    edited = "".join(text)
    got = _c(edited)
    assert got is fast_canonical.NotFast or got == _original(edited)
    if _original(edited) is fast_canonical.NotFast:
        assert got is fast_canonical.NotFast


@needs_c
@pytest.mark.parametrize(
    "text",
    [None, "", "2024-02-29 00:00:00.000000", "2023-02-29 00:00:00.000000",
     "1900-02-29 00:00:00.000000", "2000-02-29 23:59:59.999999", "2024-12-31 23:59:60.000000",
     "2024-13-01 00:00:00.000000", "2024-00-10 00:00:00.000000", "2024-04-31 00:00:00.000000",
     "0999-12-31 00:00:00.000000", "2024-01-01 00:00:00.000000 ", b"2024-01-01 00:00:00.000000",
     12],
)  # fmt: skip
def test_sqlite_datetime_on_the_edges(text: Any) -> None:
    assert _c(text) == _original(text)


hex_digest = st.binary(min_size=32, max_size=32).map(bytes.hex)


@needs_c
@settings(max_examples=1000, deadline=None)
@given(
    st.binary(max_size=2000),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(["events", "decisions", "case_events", "k"]),
    hex_digest,
    st.booleans(),
)
def test_link_appends_what_the_original_appends(
    data: bytes, seq: int, key: int, kind: str, prev: str, tree: bool
) -> None:
    assert speedups is not None
    rows_c: list[Any] = []
    rows_py: list[Any] = []
    leaves_c: list[bytes] | None = [] if tree else None
    leaves_py: list[bytes] | None = [] if tree else None
    entry = speedups.link(data, seq, kind, key, prev, rows_c, leaves_c)
    assert entry == sequencer._link_py(data, seq, kind, key, prev, rows_py, leaves_py)
    assert rows_c == rows_py and leaves_c == leaves_py
    assert [type(v) for v in rows_c[0]] == [type(v) for v in rows_py[0]]
    # and what verify recomputes, from the documented leaf
    digest = hashlib.sha256(data).hexdigest()
    leaf = leaf_bytes(seq, kind, str(key), digest, prev)
    assert rows_c == [(seq, kind, str(key), key, digest, prev, hashlib.sha256(leaf).hexdigest())]
    assert leaves_c is None or leaves_c == [leaf_hash(leaf)]


@needs_c
@pytest.mark.parametrize(
    "args",
    [(b"x", 1, "événements", 1, "ab", [], None),  # a kind not ASCII: the caller's other path
     ("x", 1, "events", 1, "ab", [], None),
     (b"x", 1, "events", "1", "ab", [], None),
     (b"x", 1.0, "events", 1, "ab", [], None),
     (b"x", 1, "events", 1, "ab", (), None)],
)  # fmt: skip
def test_link_refuses_what_it_cannot_write_out(args: tuple[Any, ...]) -> None:
    assert speedups is not None
    with pytest.raises(TypeError):
        speedups.link(*args)
    assert args[5] == [] or args[5] == ()


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except (fast_canonical.NotFast, orjson.JSONDecodeError) as e:
        return type(e)


row_values = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(),
    st.text(max_size=10),
    st.datetimes(min_value=datetime(1000, 1, 1)).map(sqlite_stored_datetime),
    json_like.map(lambda v: orjson.dumps(v).decode()),
    st.sampled_from(['{"a": 1e-07}', "[1, 2", "NaN", '{"b": 0.00001}']),
)
converters = st.sampled_from(
    [None, fast_canonical.sqlite_datetime, fast_canonical.loads, fast_canonical.finite]
)


@needs_c
@settings(max_examples=3000, deadline=None)
@given(st.lists(st.tuples(row_values, converters), min_size=1, max_size=8), st.booleans())
def test_record_bytes_is_the_original(columns: list[tuple[Any, Any]], key_after: bool) -> None:
    """Each column's value through its converter: the same bytes, or the same step aside."""
    assert speedups is not None
    names = tuple(f"c{i}" for i in range(len(columns)))
    convs = tuple(f for _, f in columns)
    row = tuple(v for v, _ in columns) + ((12,) if key_after else ())
    assert _outcome(speedups.record_bytes, row, names, convs) == _outcome(
        fast_canonical.record_bytes_py, row, names, convs
    )


@needs_c
def test_record_bytes_of_an_ordinary_row_takes_the_fast_path() -> None:
    """What a stored event's row gives: bytes, the documented ones (not NotFast, which would
    be right but slow: the slow path every row)."""
    assert speedups is not None
    row = (7, '{"qty": 1.5, "name": "Dunay", "hs": ["9306"]}', "2023-09-12 06:00:00.000000", None)
    names = ("id", "raw", "occurred_at", "note")
    convs = (None, fast_canonical.loads, fast_canonical.sqlite_datetime, None)
    want = (
        b'{"id":7,"note":null,"occurred_at":"2023-09-12T06:00:00.000000Z",'
        b'"raw":{"hs":["9306"],"name":"Dunay","qty":1.5}}'
    )
    assert speedups.record_bytes(row, names, convs) == want


@needs_c
@pytest.mark.parametrize(
    "args",
    [((1,), ("a", "b"), (None, None)),  # a row shorter than the names
     ((1, 2), ("a", "b"), (None,)),
     ((1, 2), ["a", "b"], (None, None)),
     (5, ("a",), (None,))],
)  # fmt: skip
def test_record_bytes_refuses_what_is_not_a_row(args: tuple[Any, ...]) -> None:
    assert speedups is not None
    with pytest.raises((TypeError, ValueError)):
        speedups.record_bytes(*args)


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=6), st.randoms())
def test_frontier_extend_is_the_original(steps: list[int], rnd: Any) -> None:
    """Extended in steps from the empty tree, both frontiers stay the same list, node for node,
    and fold to RFC 9162's root of all the leaves (merkle_root, the pack's verifier)."""
    from engine.audit.merkle import frontier_extend_py, frontier_root
    from engine.audit.verify_pack import merkle_root

    assert speedups is not None
    fc: list[bytes] = []
    fp: list[bytes] = []
    size_c = size_py = 0
    leaves: list[bytes] = []
    for n in steps:
        new = [rnd.randbytes(32) for _ in range(n)]
        leaves += new
        size_c = speedups.frontier_extend(fc, size_c, iter(new))
        size_py = frontier_extend_py(fp, size_py, new)
        assert (size_c, fc) == (size_py, fp) == (len(leaves), fp)
    assert frontier_root(fc) == merkle_root(leaves)


@needs_c
def test_frontier_extend_refuses_what_is_not_a_frontier() -> None:
    assert speedups is not None
    d = bytes(32)
    with pytest.raises(IndexError):  # size 1 needs one node to merge with
        speedups.frontier_extend([], 1, [d])
    with pytest.raises(ValueError):
        speedups.frontier_extend([b"short"], 1, [d])
    with pytest.raises(ValueError):
        speedups.frontier_extend([d], 1, [b"short"])
    frontier = [d]
    with pytest.raises(ValueError):  # a bad leaf after good ones: the frontier is left as it was
        speedups.frontier_extend(frontier, 1, [d, b"short"])
    assert frontier == [d]
