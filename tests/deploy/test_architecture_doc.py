"""docs/ARCHITECTURE.md stays true (issue 10): every file, folder and glob it names in backticks
exists, and every ``engine.``/``web.`` dotted name it gives (module, class, function) resolves."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
TOP = ("engine/", "web/", "rules/", "tests/", "migrations/", "docs/", "bench/")


def _spans() -> list[str]:
    return re.findall(r"`([^`\n]+)`", DOC.read_text(encoding="utf-8"))


def _expand(pattern: str) -> list[str]:
    """``a/{b,c}.py`` -> ``a/b.py``, ``a/c.py`` (the doc's brace lists)."""
    m = re.search(r"\{([^}]*)\}", pattern)
    if m is None:
        return [pattern]
    return [
        p
        for alt in m.group(1).split(",")
        for p in _expand(pattern[: m.start()] + alt + pattern[m.end() :])
    ]


def test_every_path_the_architecture_names_exists() -> None:
    paths = [s.split()[0] for s in _spans() if s.startswith(TOP)]
    assert len(paths) > 30  # the doc was read
    missing = [
        p
        for span in paths
        for p in _expand(span)
        if not (any(ROOT.glob(p)) if any(c in p for c in "*?") else (ROOT / p).exists())
    ]
    assert missing == []


def test_every_dotted_name_the_architecture_gives_resolves() -> None:
    names = {
        m.group(0)
        for s in _spans()
        for m in [re.match(r"(engine|web)(\.[A-Za-z_]\w*)+", s)]
        if m is not None
    }
    assert len(names) > 3
    unresolved = []
    for name in sorted(names):
        parts = name.split(".")
        for i in range(len(parts), 0, -1):  # the longest importable module, then attributes
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            try:
                for attr in parts[i:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                unresolved.append(name)
            break
        else:
            unresolved.append(name)
    assert unresolved == []
