"""Strict JSON for everything that comes in (HTTP bodies, NDJSON lines, queue messages).

Python's ``json`` module is lax where storage is not: it reads ``NaN``/``Infinity``/``1e400``
(PostgreSQL JSONB refuses them, SQLite stores a document no JSON parser reads back), lone
surrogates such as ``"\\udfff"`` (they cannot be encoded as UTF-8, so storing them fails),
``"\\u0000"`` (JSONB cannot hold NUL), integers past Python's 4,300-digit conversion limit (a
``ValueError`` that escaped as a 500), and nesting until the interpreter's recursion limit (a
``RecursionError``). Here every such value is refused with a JSON pointer to it, so one bad value
makes one bad event, never a 500 and never a silently altered one.

- ``decode_utf8(body)``: the body's text, or ``JsonInputError`` at the first invalid byte (the
  stored raw event must be what was sent, so nothing is replaced).
- ``loads(text)``: ``(value, clean)``; values that cannot be stored are kept as ``Unstorable``
  markers for ``problems`` to report with their pointer, and ``clean`` says (cheaply) that there
  are none. Syntax errors and nesting past what the parser can take raise ``JsonInputError``.
- ``problems(value)``: every unstorable value under ``value`` as ``{pointer, message, type}``
  (RFC 6901 pointers relative to ``value``); also checks already-decoded values (queue messages).

Limits (docs/event-contract-v1.md): containers nest at most ``MAX_DEPTH`` = 64 levels inside an
event; integers have at most ``MAX_INT_DIGITS`` = 4,300 digits.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64
MAX_INT_DIGITS = 4300
_INT_LIMIT = 10**MAX_INT_DIGITS  # the smallest integer with one digit too many
MAX_PROBLEMS = 20  # enough to fix an event; a hostile one does not get a megabyte of errors

# Escapes that decode to a lone surrogate or NUL (a paired surrogate is checked by the walk too).
_BAD_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F]|0000)")
_CONTAINERS = (dict, list)


class JsonInputError(ValueError):
    """The text as a whole is not usable JSON (message and pointer are safe to show)."""

    def __init__(self, message: str, type_: str = "json_invalid", pointer: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.type = type_
        self.pointer = pointer

    def as_error(self) -> dict[str, str]:
        return {"pointer": self.pointer, "message": self.message, "type": self.type}


class Unstorable:
    """A parsed number that must not be stored: NaN, +-Infinity, an overflowing float, a huge
    integer. ``repr`` is the source text (shortened), which is what a rejection record shows."""

    __slots__ = ("source", "message", "type")

    def __init__(self, source: str, message: str, type_: str) -> None:
        self.source = source
        self.message = message
        self.type = type_

    def __repr__(self) -> str:
        return (
            self.source
            if len(self.source) <= 40
            else f"{self.source[:20]}...({len(self.source)} chars)"
        )


class _Decoder(json.JSONDecoder):
    """One per ``loads`` call: it notes whether it made an ``Unstorable``."""

    def __init__(self) -> None:
        self.unstorable = False
        super().__init__(parse_float=self._float, parse_int=self._int, parse_constant=self._const)

    def _const(self, name: str) -> Unstorable:
        self.unstorable = True
        return Unstorable(name, f"{name} is not a JSON number: send a finite number", "json_number")

    def _float(self, text: str) -> float | Unstorable:
        value = float(text)
        if math.isfinite(value):
            return value
        self.unstorable = True
        return Unstorable(text, f"{text} is out of the range of a 64-bit float", "json_number")

    def _int(self, text: str) -> int | Unstorable:
        digits = len(text) - (text[0] == "-")
        if digits > MAX_INT_DIGITS:
            self.unstorable = True
            return Unstorable(
                text,
                f"an integer of {digits} digits; at most {MAX_INT_DIGITS} are accepted",
                "json_number",
            )
        return int(text)


def decode_utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonInputError(
            f"body is not valid UTF-8: byte 0x{body[exc.start]:02x} at offset {exc.start} "
            "(send UTF-8; nothing is replaced, so the stored event is what was sent)",
            "utf8_invalid",
        ) from None


def loads(text: str) -> tuple[Any, bool]:
    """``(value, clean)``: the parsed value, and True when ``problems`` would find nothing in it
    (found cheaply: no number was refused, no escape of NUL or a surrogate, no deep nesting), so
    callers walk only suspect values. ``text`` from ``decode_utf8``: a str from elsewhere may hold
    raw surrogates, which only the walk sees."""
    decoder = _Decoder()
    try:
        value = decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise JsonInputError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise JsonInputError(
            f"JSON nested too deeply (an event may nest at most {MAX_DEPTH} levels)", "json_depth"
        ) from None
    if decoder.unstorable or ("\\u" in text and _BAD_ESCAPE.search(text)):
        return value, False
    limit = MAX_DEPTH + 1 if isinstance(value, list) else MAX_DEPTH
    if (
        type(value) in _CONTAINERS
        and text.count("[") + text.count("{") > limit
        and _deeper_than(value, limit)
    ):
        return value, False
    return value, True


def _deeper_than(value: Any, limit: int) -> bool:
    """Containers only, iteratively: about as fast as parsing the text again."""
    stack = [(value, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        if depth >= limit:
            return True
        for child in node.values() if type(node) is dict else node:
            if type(child) in _CONTAINERS:
                push((child, depth + 1))
    return False


def _escape(token: str) -> str:
    token = token.replace("~", "~0").replace("/", "~1")
    if _string_problem(token):  # a pointer is shown and stored: it must be valid text itself
        token = token.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode()
    return token


def _string_problem(s: str) -> tuple[str, str] | None:
    if "\x00" in s:
        return (
            "NUL (\\u0000) cannot be stored; the six characters \\u0000 as text are fine",
            "nul_char",
        )
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"lone surrogate U+{ord(s[exc.start]):04X} at character {exc.start}: not a Unicode "
            "character (escape a non-BMP character as a surrogate pair)",
            "surrogate",
        )
    return None


def problems(value: Any, max_depth: int = MAX_DEPTH) -> list[dict[str, str]]:
    """Every value under ``value`` that cannot be stored as JSON, with its pointer (iterative, so
    a deep value cannot exhaust the stack here either)."""
    out: list[dict[str, str]] = []
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack and len(out) < MAX_PROBLEMS:
        node, pointer, depth = stack.pop()
        if isinstance(node, str):
            found = _string_problem(node)
            if found:
                out.append({"pointer": pointer, "message": found[0], "type": found[1]})
        elif isinstance(node, dict | list):
            if depth >= max_depth:
                out.append(
                    {
                        "pointer": pointer,
                        "message": f"nested deeper than {max_depth} levels",
                        "type": "json_depth",
                    }
                )
                continue
            if isinstance(node, dict):
                for key, child in reversed(node.items()):  # popped in document order
                    child_pointer = f"{pointer}/{_escape(str(key))}"
                    found = _string_problem(key) if isinstance(key, str) else None
                    if found:
                        out.append(
                            {
                                "pointer": child_pointer,
                                "message": f"key: {found[0]}",
                                "type": found[1],
                            }
                        )
                        continue
                    stack.append((child, child_pointer, depth + 1))
            else:
                for i in range(len(node) - 1, -1, -1):
                    stack.append((node[i], f"{pointer}/{i}", depth + 1))
        elif isinstance(node, Unstorable):
            out.append({"pointer": pointer, "message": node.message, "type": node.type})
        elif isinstance(node, float) and not math.isfinite(node):
            out.append(
                {
                    "pointer": pointer,
                    "message": f"{node} is not a JSON number: send a finite number",
                    "type": "json_number",
                }
            )
        elif isinstance(node, int) and node.bit_length() > 14_000 and abs(node) >= _INT_LIMIT:
            out.append(
                {
                    "pointer": pointer,
                    "message": f"an integer of more than {MAX_INT_DIGITS} digits",
                    "type": "json_number",
                }
            )
    return out
