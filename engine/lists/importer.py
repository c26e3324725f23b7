"""Import one list file (local path or URL) as a snapshot, then re-screen recent events against
the designations it adds. Re-importing the same bytes is a no-op.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.lists.diff import ChangeReport
from engine.lists.parser import parse_list
from engine.lists.store import SnapshotInfo, save

# progress(done_bytes, total_bytes_or_None, stage)
Progress = Callable[[int, int | None, str], None]


@dataclass
class ImportResult:
    snapshot: SnapshotInfo
    created: bool
    previous: SnapshotInfo | None = None
    report: ChangeReport | None = None
    retro_alerts: int = 0
    retro_allowlisted: int = 0  # re-screened events with hits set aside (engine.allowlist)
    delisting_marks: int = 0  # open alerts marked because an entry they cite left the list
    retro_hits: list = field(default_factory=list)  # ScreeningHit per (event, entry) re-screened


def _noop(done: int, total: int | None, stage: str) -> None:
    return None


def read_source(source: str, progress: Progress = _noop, timeout: float = 60.0) -> bytes:
    """The bytes of a local file or an http(s) URL, reporting progress as they arrive."""
    if source.startswith(("http://", "https://")):
        import httpx

        chunks: list[bytes] = []
        with httpx.stream("GET", source, timeout=timeout, follow_redirects=True) as resp:
            resp.raise_for_status()
            total = (
                int(resp.headers["content-length"]) if "content-length" in resp.headers else None
            )
            done = 0
            for chunk in resp.iter_bytes(1 << 16):
                chunks.append(chunk)
                done += len(chunk)
                progress(done, total, "download")
        return b"".join(chunks)
    path = Path(source).expanduser()
    total = path.stat().st_size
    chunks, done = [], 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 18):
            chunks.append(chunk)
            done += len(chunk)
            progress(done, total, "read")
    return b"".join(chunks)


def import_list(source: str, progress: Progress = _noop, retro: bool = True) -> ImportResult:
    """Read, parse and store ``source``. A new snapshot triggers retro-screening of recent stored
    events against what it changes in the designation history, and marks open alerts of entries
    it shows delisted (engine.screening.retro)."""
    raw = read_source(source, progress)
    progress(0, None, "parse")
    parsed = parse_list(raw)
    progress(0, None, "store")
    saved = save(parsed, source, raw)
    info = saved.snapshot
    result = ImportResult(info, saved.created, saved.previous, saved.report)
    if not saved.created:
        return result
    from engine.screening.service import invalidate_default_screener

    invalidate_default_screener()
    if saved.report is not None and saved.report.amended:
        # Known false positives judged against an entry that changed must be judged again.
        from engine.allowlist.store import reopen_amended

        reopen_amended([a.entry.reference for a in saved.report.amended])
        # Snoozes set on the entry's facts as they stood end (the next hit alerts).
        from engine.snoozes.store import end_amended

        end_amended([a.entry.reference for a in saved.report.amended])
    if retro:
        from engine.screening.retro import after_import

        progress(0, None, "re-screen")
        done = after_import(info)
        result.retro_hits, result.retro_alerts = done.hits, done.opened
        result.delisting_marks = done.marked
        result.retro_allowlisted = done.allowlisted
    return result
