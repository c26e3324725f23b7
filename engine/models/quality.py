"""Data-quality findings: what the intake could not read, or read by interpretation.

A finding with ``unknown=True`` marks a value every rule treats as UNKNOWN (never as clear): a
measure that would fire on the known facts fires; where the unknown value decides, the violation
says so and is marked "needs information". ``unknown=False`` findings record an interpretation
(``interpreted "tonnes" as t``) or a value kept as reported but flagged (arrival before departure).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Finding(BaseModel):
    pointer: str  # RFC 6901 JSON pointer into the submitted event
    message: str  # what is wrong with the value as reported
    assumed: str  # what the engine assumed instead: "unknown", 'interpreted "tonnes" as t', ...
    unknown: bool = False  # True: every rule treats the value at ``pointer`` as unknown
    value: Any = None  # the value as reported (None when it was missing)


def unknown_pointers(findings: list[Any]) -> list[str]:
    return [f.pointer for f in findings if f.unknown]
