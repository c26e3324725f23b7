"""``canonical_json``'s bytes from orjson, for the sequencer's loop, wherever they are the same.

The sequencer decodes each JSON column's stored text and re-encodes the record in the canonical
form (``engine.audit.records``): about half its CPU with the standard library (issue 15). orjson
does both several times faster and gives the same bytes, except in the cases below, which are
detected and sent to the standard library (``NotFast``). The canonical form, and so every hash
and the audit pack's ``verify.py``, stays what it was: this is a faster way to the same bytes.

Where orjson differs (checked over every code point and millions of floats and decimal texts,
tests/audit/test_fast_canonical.py):
- it rejects NaN, Infinity, lone surrogate escapes and numbers that overflow, which json.loads
  accepts: a rejected text goes to json.loads;
- it decodes integers beyond 64 bits as floats (json.loads: ints); those floats are >= 9.2e18,
  which it writes with an exponent (``e+18``), so the output check below catches them;
- it writes floats below 1e-4 as ``0.00001`` and ``1.5e-7`` where Python writes ``1e-05`` and
  ``1.5e-07``. Output with a number written with an exponent or starting ``0.0000`` goes to
  json.dumps (Python's ``1e+16`` and up are the same in both: sent there too, which only costs
  time, as does a string that looks like such a number);
- it writes NaN and infinities as null: a float column's non-finite value goes to json.dumps
  (decoded JSON cannot hold one: orjson rejects such texts);
- it writes integers beyond 64 bits, dict or str subclasses, datetimes and dataclasses
  differently or not at all (json.dumps raises for the last two): it raises, and json.dumps
  decides.
Strings (escapes, every code point, sorted keys) come out identical.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson

from engine.audit.speedups import speedups as _speedups


class NotFast(Exception):
    """orjson might not give the canonical bytes here: take the standard library's path."""


_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_DIGITS = frozenset(b"0123456789")
_MANTISSA = frozenset(b"0123456789.-")
_VALUE_START = frozenset(b":,[")  # what precedes a number in orjson's compact output


def _in_number(out: bytes, i: int) -> bool:
    """Whether out[i] may be part of a number: preceded by mantissa characters back to a value
    start. Inside a string this can be true too (such a record only takes the slow path)."""
    while i > 0 and out[i - 1] in _MANTISSA:
        i -= 1
    return i > 0 and out[i - 1] in _VALUE_START


def _may_differ(out: bytes) -> bool:
    """Whether orjson's output may hold a number Python writes otherwise: one with an exponent
    (``e-``: Python pads it to two digits; ``e+``: the same, but a decoded 64-bit overflow is a
    float there) or starting ``0.0000`` (Python: ``1e-05``). Literal finds, then a look back at
    each hit: a regex search for the same costs several microseconds a record."""
    for lit in (b"e-", b"e+") if b"+" in out else (b"e-",):  # "+" is rare: one memchr
        i = out.find(lit)
        while i != -1:
            if i > 0 and out[i - 1] in _DIGITS and _in_number(out, i):
                return True
            i = out.find(lit, i + 2)
    i = out.find(b"0.0000")
    while i != -1:
        j = i - 1 if i > 0 and out[i - 1] == 45 else i  # 45: "-"
        if j > 0 and out[j - 1] in _VALUE_START:
            return True
        i = out.find(b"0.0000", i + 1)
    return False


def loads(text: Any) -> Any:
    """json.loads of a JSON column's text (None for SQL NULL), or NotFast."""
    if text is None:
        return None
    if type(text) is not str:
        raise NotFast
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise NotFast from None


def finite(value: Any) -> Any:
    """A float column's value, or NotFast where it is NaN or infinite."""
    if type(value) is float and not math.isfinite(value):
        raise NotFast
    return value


_fromisoformat = datetime.fromisoformat


def sqlite_datetime_py(text: Any) -> Any:
    """The canonical text of a datetime as SQLite holds it, SQLAlchemy's ``YYYY-MM-DD
    HH:MM:SS.ffffff`` (naive UTC): the same characters with "T" and "Z" (``records._datetime``
    of the value SQLAlchemy reads, which parses and formats it: about 1 us a value). None as it
    is; NotFast for any other text (another layout, a date before year 1000, a date that does
    not exist), which the slow path reads as SQLAlchemy does, or refuses."""
    if text is None:
        return None
    if (
        type(text) is str
        and len(text) == 26
        and text[10] == " "
        and text[19] == "."
        and text[4] == "-" == text[7]
        and text[13] == ":" == text[16]
        and text[0] != "0"
        and text[20:].isdigit()
    ):
        try:
            _fromisoformat(text)  # the same checks SQLAlchemy's reading makes
        except ValueError:
            raise NotFast from None
        return text[:10] + "T" + text[11:] + "Z"
    raise NotFast


# The versions in use: C where it is built, with the Python ones above as the reference it is
# tested against (tests/audit/test_speedups.py)
may_differ: Callable[[bytes], bool] = _may_differ
sqlite_datetime: Callable[[Any], Any] = sqlite_datetime_py


def dumps(record: dict[str, Any]) -> bytes:
    """canonical_json(record), or NotFast."""
    try:
        out = orjson.dumps(record, option=_OPTIONS)
    except orjson.JSONEncodeError:
        raise NotFast from None
    if may_differ(out):
        raise NotFast
    return out


Converter = Callable[[Any], Any] | None


def record_bytes_py(
    row: Sequence[Any], names: tuple[str, ...], converters: tuple[Converter, ...]
) -> bytes:
    """``dumps`` of the record ``{names[i]: row[i]}``, each value through ``converters[i]``
    where that is not None (values past ``names`` are not in it), or NotFast (or what a
    converter raises: orjson.JSONDecodeError)."""
    record = dict(zip(names, row, strict=False))
    for n, f, v in zip(names, converters, row, strict=False):
        if f is not None:
            record[n] = f(v)
    return dumps(record)


record_bytes: Callable[[Sequence[Any], tuple[str, ...], tuple[Converter, ...]], bytes]
record_bytes = record_bytes_py
if _speedups is not None:
    _speedups.configure(NotFast, orjson.dumps, _OPTIONS, orjson.JSONEncodeError)
    may_differ = _speedups.may_differ
    sqlite_datetime = _speedups.sqlite_datetime
    record_bytes = _speedups.record_bytes
