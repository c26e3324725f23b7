"""The rule pack the measures pages show, loaded once per process and re-loaded when its files change.

Building a pack parses every rule file with PyYAML's pure-Python loader and validates it (over a
second on this machine, ~4 s under load), so doing it per request made every /rules page slow.
Here a request costs one ``stat`` per pack file: the pack is reused while the files' (path,
mtime_ns, size) signature is unchanged. When it changes, the files are read and hashed (cheap);
only a new pack version is parsed again. A file modified within ``RACY_SECONDS`` of the last
check may have changed again inside the same timestamp tick, so until it is older than that its
text is re-hashed on every request (as git does for "racily clean" entries).

What the pages show is what ``engine.rules.loader.load_pack()`` returns for the same files: an
invalid pack raises its RulePackError as before and is not cached.
"""

from __future__ import annotations

import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from engine.rules.loader import (
    RulePack,
    pack_from_files,
    pack_paths,
    pack_version,
    read_files,
)

RACY_SECONDS = 2.0
T = TypeVar("T")

Signature = tuple[tuple[str, int, int], ...]


def signature(root: Path) -> Signature:
    """(relative path, mtime_ns, size) of exactly the files ``read_files`` reads."""
    out: list[tuple[str, int, int]] = []
    for path, rel in pack_paths(root):
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(st.st_mode):
            out.append((rel, st.st_mtime_ns, st.st_size))
    return tuple(sorted(out))


@dataclass
class CachedPack:
    root: Path
    signature: Signature
    checked_at: float  # time.time() when the signature was taken
    pack: RulePack
    derived: dict[Any, Any]  # what the pages compute from this pack version, see derive()

    def derive(self, key: Any, build: Callable[[RulePack], T]) -> T:
        """``build(pack)``, computed once per pack version and key."""
        if key not in self.derived:
            self.derived[key] = build(self.pack)
        return self.derived[key]


class PackCache:
    def __init__(self, loader: Callable[[dict[str, str]], RulePack] = pack_from_files) -> None:
        self._loader = loader
        self._lock = threading.Lock()
        self._entry: CachedPack | None = None
        self.loads = 0  # packs built (parsed) by this cache: for tests and the bench

    def get(self, root: Path) -> RulePack:
        return self.current(root).pack

    def clear(self) -> None:
        with self._lock:
            self._entry = None

    def current(self, root: Path) -> CachedPack:
        """The pack in ``root`` as it is on disk now (re-built only when its text changed)."""
        root = Path(root)
        now = time.time()
        sig = signature(root)
        entry = self._entry
        if (
            entry is not None
            and entry.root == root
            and entry.signature == sig
            and not self._racy(entry)
        ):
            return entry
        with self._lock:
            entry = self._entry
            files = read_files(root)
            version = pack_version(files)
            if entry is not None and entry.root == root and entry.pack.version == version:
                # Same text (touched, or re-checked while racy): keep the pack and what was derived.
                self._entry = CachedPack(root, sig, now, entry.pack, entry.derived)
                return self._entry
            pack = self._loader(files)  # raises RulePackError for an invalid pack: nothing cached
            self.loads += 1
            self._entry = CachedPack(root, sig, now, pack, {})
            return self._entry

    @staticmethod
    def _racy(entry: CachedPack) -> bool:
        newest = max((m for _, m, _ in entry.signature), default=0) / 1e9
        return newest >= entry.checked_at - RACY_SECONDS


PACKS = PackCache()
