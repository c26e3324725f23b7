"""HS codes as upstream systems write them: an ``HS`` prefix, dots, several candidates per line."""

from __future__ import annotations

import re

_SPLIT = re.compile(r"\s*(?:[/,;|]|\bor\b|\band\b)\s*", re.I)


def hs_candidates(value: object) -> list[str] | None:
    """``"8710/9301"`` -> ``["8710", "9301"]``; ``"HS 9306.90"`` -> ``["930690"]``.

    None when any part is not a code of 2-10 digits (the line's classification is then unknown).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    out: list[str] = []
    for part in _SPLIT.split(value.strip()):
        part = re.sub(r"^\s*(?:HS|H\.S\.|HTS)[\s:#-]*", "", part, flags=re.I)
        code = re.sub(r"[\s.\-]", "", part)
        if not code:
            continue
        if not re.fullmatch(r"\d{2,10}", code):
            return None
        if code not in out:
            out.append(code)
    return out or None
