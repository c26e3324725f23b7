"""Derivation state survives a restart: a run stopped half way (the deriver thrown away, or the
bulk command's process SIGKILLed) and resumed from the stored state stores exactly the events of
an uninterrupted run, no more (a re-derived batch's events are duplicates) and none lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from chaos_support import wait_until
from sqlalchemy import func, select

from engine.ais import batches
from engine.ais.cli import chunks
from engine.ais.emit import to_event
from engine.ais.process import Derivation, derive_batch, ingest_derived
from engine.ais.synthetic import scenario_lines
from engine.ais.tables import AisBatchRow, AisStateRow
from engine.storage.db import session_scope
from engine.storage.tables import EventRow

LINES = 300  # per stored batch: many batches, open port visits and encounters across them


@cache
def track_lines() -> tuple[str, ...]:
    """Three scenarios one after another in time (2017, 2018, 2023): STS, renames, port calls
    and gaps, several of them open across batch boundaries (encoding is slow: once a run)."""
    return tuple(
        scenario_lines("lighthouse_winmore")
        + scenario_lines("name_change")
        + scenario_lines("rajin_dunay")
    )


def track_file(tmp_path: Path) -> Path:
    path = tmp_path / "tracks.nmea"
    path.write_text("\n".join(track_lines()) + "\n", encoding="ascii")
    return path


def uninterrupted(path: Path) -> dict[str, dict[str, Any]]:
    """The events one process deriving every batch in order gives (nothing stored)."""
    stream = Derivation()
    out: dict[str, dict[str, Any]] = {}
    for first, lines in chunks(path, LINES):
        body = "\n".join(line.rstrip("\r\n") for line in lines)
        bid = batches.batch_id(batches.sniff_format(lines), body)
        decoded = stream.decoder.decode(body.split("\n"), bid, first)
        for d in stream.deriver.feed(decoded.reports) + stream.deriver.expire():
            ev = to_event(d)
            assert ev["event_id"] not in out, ev["event_id"]
            out[ev["event_id"]] = ev
    return out


def stored_events() -> dict[str, dict[str, Any]]:
    with session_scope() as s:
        return {r.event_id: r.raw for r in s.scalars(select(EventRow))}


def kinds(events: dict[str, dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for ev in events.values():
        k = ev["vessel_movement"]["kind"]
        out[k] = out.get(k, 0) + 1
    return out


def test_a_deriver_restarted_from_stored_state_derives_what_an_uninterrupted_one_does(
    db: None, tmp_path: Path
) -> None:
    path = track_file(tmp_path)
    expected = uninterrupted(path)
    # the scenarios' own behaviours, counted from the scenario definitions, not from the code
    assert kinds(expected).get("ship_to_ship") == 1  # LIGHTHOUSE WINMORE / SAM JONG 2
    assert kinds(expected).get("name_change") == 1 and kinds(expected).get("flag_change") == 1

    ids = [
        batches.store_batch(lines, channel="cli", first_line=first).id
        for first, lines in chunks(path, LINES)
    ]
    half = len(ids) // 2
    first_run = Derivation.resumed("ais.test")
    for bid in ids[:half]:
        derive_batch(bid, first_run, publish=None)
    # The crash: the next batch's events are stored, but neither the batch nor the state is.
    row = batches.load_batch(ids[half])
    assert row is not None
    decoded = first_run.decoder.decode(row.body.split("\n"), row.id, row.first_line)
    ingest_derived(first_run.deriver.feed(decoded.reports) + first_run.deriver.expire(), None)
    del first_run

    resumed = Derivation.resumed("ais.test")
    assert len(resumed.deriver.vessels) > 0
    for bid in ids[half:]:
        derive_batch(bid, resumed, publish=None)

    assert stored_events() == expected
    with session_scope() as s:
        assert s.scalar(
            select(func.count()).select_from(AisBatchRow).where(AisBatchRow.status == "derived")
        ) == len(ids)


def test_a_failing_batch_leaves_the_memory_at_the_stored_state(db: None, tmp_path: Path) -> None:
    """A batch that fails half way (here: its events cannot be published) is retried from the
    state stored before it, so the retry derives its events again instead of skipping them."""
    path = track_file(tmp_path)
    expected = uninterrupted(path)
    ids = [
        batches.store_batch(lines, channel="cli", first_line=first).id
        for first, lines in chunks(path, LINES)
    ]
    stream = Derivation.resumed("ais.test")
    failed = 0

    def refuse(event_ids: list[str]) -> bool:
        raise ConnectionError("broker gone")

    for bid in ids:
        try:
            derive_batch(bid, stream, publish=refuse)
        except ConnectionError:
            failed += 1
            derive_batch(bid, stream, publish=None)  # the task's retry
    assert failed > 0  # every batch that derives an event fails once
    assert stored_events() == expected


# The bulk command, with derive_batch wrapped to stop the process (SIGSTOP) before it derives
# batch number STOP_AT + 1: the test then SIGKILLs a run that is known to be part-way through,
# whatever the machine's speed (waiting for a count and killing raced a fast run to its end).
VICTIM = """
import os, signal, sys
import engine.ais.process as process
stop_at, derive, calls = int(sys.argv[1]), process.derive_batch, [0]
def stopping(*args, **kwargs):
    if calls[0] == stop_at:
        os.kill(os.getpid(), signal.SIGSTOP)
    calls[0] += 1
    return derive(*args, **kwargs)
process.derive_batch = stopping
from sanctions_cli import main
sys.argv = ["sanctions", *sys.argv[2:]]
main()
"""


def _stopped(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "T"


def test_the_bulk_command_killed_half_way_and_run_again_stores_the_same_events(
    db: None, broker_url: str, tmp_path: Path
) -> None:
    path = track_file(tmp_path)
    expected = uninterrupted(path)
    total = sum(1 for _ in chunks(path, LINES))
    args = ["ais", "ingest", str(path), "--stream", "ais.kill", "--lines", str(LINES)]
    cmd = [sys.executable, "-m", "sanctions_cli", *args]
    env = dict(os.environ, SANCTIONS_BROKER_URL=broker_url)
    log = tmp_path / "ingest.log"

    def derived() -> int:
        with session_scope() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(AisBatchRow)
                    .where(AisBatchRow.status == "derived")
                )
                or 0
            )

    with log.open("w") as out:
        victim = subprocess.Popen(
            [sys.executable, "-c", VICTIM, str(total // 3), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            assert wait_until(
                lambda: victim.poll() is None and _stopped(victim.pid), timeout=240, interval=0.05
            ), log.read_text()
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=30)
        finally:
            if victim.poll() is None:
                victim.kill()
    at_kill = derived()
    assert 0 < at_kill < total, "the run was not killed part-way; proves nothing"
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(AisStateRow)) > 0

    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    totals = json.loads(again.stdout)["totals"]
    assert totals["batches_known"] >= at_kill  # stored before the kill: not stored again
    assert derived() == total
    assert stored_events() == expected
