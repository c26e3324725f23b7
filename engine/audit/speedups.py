"""The sequencer's C functions, where the install built them, else None.

``engine/audit/_speedups.c`` holds C versions of the sequencer's per-row work: the record's
canonical bytes by orjson with the number check (``fast_canonical``), SQLite's datetime text,
the entry's hashes and row (``sequencer._link_py``) and the Merkle frontier's extension
(``merkle.frontier_extend_py``). setup.py builds it where the install has a compiler and
OpenSSL's headers; without them the Python versions run, the same bytes, slower. The Python
versions are the reference the C ones are tested against (tests/audit/test_speedups.py).
SANCTIONS_PURE_PYTHON=1 runs the Python ones anyway, to compare the two.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType


def _load() -> ModuleType | None:
    if os.environ.get("SANCTIONS_PURE_PYTHON"):
        return None
    try:
        return importlib.import_module("engine.audit._speedups")
    except ImportError:  # pragma: no cover - an install without a compiler
        return None


speedups = _load()
