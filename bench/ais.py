"""AIS decode + derive rate (messages/s per core) and memory for 100,000 vessels.

    .venv/bin/python bench/ais.py                          # 100,000 vessels, 200,000 messages
    .venv/bin/python bench/ais.py --vessels 20000 --messages 100000 --batch 1000

A synthetic receiver stream (encoded as real NMEA by pyais's encoder, with tag-block times) of
``--vessels`` MMSIs around East Asia, in time order: most underway, a share loitering in pairs
(STS candidates) and some inside port geofences. Phases, each timed alone on the same lines:

1. decode: engine.ais.nmea (split, checksum, lazy bit reads via pyais's bit vector);
2. derive: engine.ais.derive.Deriver.feed over the decoded reports (port, STS, gap, identity);
3. both, batch by batch (--batch lines), with per-batch latency percentiles;
4. for comparison: pyais's full decode (NMEAMessage(...).decode()) on a sample.

Rates are messages per CPU second of this single-threaded process (per core) and per wall
second; the load average is printed before and after (the machine is shared). Memory: resident
set before and after the deriver holds every vessel, and tracemalloc's count of the deriver's
own allocations.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from pyais import encode_dict  # noqa: E402
from pyais.messages import NMEAMessage  # noqa: E402

from engine.ais.derive import Deriver  # noqa: E402
from engine.ais.nmea import Decoded, NmeaDecoder  # noqa: E402
from engine.ais.settings import AisSettings  # noqa: E402
from engine.ais.synthetic import tag  # noqa: E402

T0 = 1_700_000_000
PORTS = [(42.245, 130.305), (31.36, 121.60), (35.10, 129.05), (43.10, 131.89)]


def fleet_lines(vessels: int, messages: int, seed: int = 1) -> list[str]:
    """A receiver's log: each message from a random vessel, time advancing."""
    rng = random.Random(seed)
    state = []
    for i in range(vessels):
        r = rng.random()
        if r < 0.05:  # inside a port
            lat, lon = rng.choice(PORTS)
            lat, lon, sog = lat + rng.uniform(-0.01, 0.01), lon + rng.uniform(-0.01, 0.01), 0.1
        elif r < 0.15:  # loitering in pairs at sea (STS candidates)
            base = i - (i % 2)
            brng = random.Random(base)
            lat, lon, sog = brng.uniform(25, 40), brng.uniform(123, 135), 0.5
            lat += 0.001 * (i % 2)
        else:
            lat, lon, sog = rng.uniform(0, 45), rng.uniform(100, 150), rng.uniform(5, 18)
        state.append([200_000_000 + i * 7 % 599_999_999, lat, lon, sog])
    # encode a pool of sentences per vessel lazily: encoding is the slow part of generation
    lines: list[str] = []
    # every vessel reports about every 3 minutes (class A at anchor, or a slow-rate feed)
    dt = 180.0 / vessels
    ts = float(T0)
    for n in range(messages):
        v = state[n % vessels] if n < vessels else state[rng.randrange(vessels)]
        mmsi, lat, lon, sog = v
        if sog > 1:
            v[1] = lat + rng.uniform(-0.002, 0.002)
            v[2] = lon + rng.uniform(-0.002, 0.002)
        sentence = encode_dict(
            {
                "type": 1,
                "mmsi": mmsi,
                "lat": round(v[1], 5),
                "lon": round(v[2], 5),
                "speed": round(sog, 1),
            },
            talker_id="AI",
            sentence_type="VDM",
        )[0]
        lines.append(tag(ts) + sentence)
        ts += dt
    return lines


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vessels", type=int, default=100_000)
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}")
    t = time.perf_counter()
    cache = Path(f"/tmp/ais-bench-{args.vessels}-{args.messages}.nmea")
    if cache.exists():
        lines = cache.read_text(encoding="ascii").split("\n")
    else:  # encoding with pyais is slow (0.1-1.5 ms a sentence on this box): kept for next time
        lines = fleet_lines(args.vessels, args.messages)
        cache.write_text("\n".join(lines), encoding="ascii")
    print(
        f"generated {len(lines):,} sentences for {args.vessels:,} vessels in {time.perf_counter() - t:.1f} s"
    )

    n = len(lines)
    settings = AisSettings(max_vessels=max(args.vessels, 1))

    def best(run: Callable[[], object], reps: int = 3) -> tuple[float, float, object]:
        """(CPU s, wall s, result) of the fastest of ``reps`` runs (the box is shared)."""
        out: tuple[float, float, object] | None = None
        for _ in range(reps):
            gc.collect()
            w, c = time.perf_counter(), time.process_time()
            result = run()
            cw, cc = time.perf_counter() - w, time.process_time() - c
            if out is None or cc < out[0]:
                out = (cc, cw, result)
        assert out is not None
        return out

    # 1. decode alone
    dc, dw, res = best(lambda: NmeaDecoder().decode(lines, "bench"))
    decoded = res if isinstance(res, Decoded) else Decoded()
    assert not decoded.problems, decoded.problems[:3]
    print(f"decode        {n / dc:>10,.0f} msg/s per core (CPU)  {n / dw:>10,.0f} msg/s wall")

    # 2. derive alone (fresh state each run)
    rc, rw, res = best(lambda: Deriver(settings).feed(decoded.reports))
    count = len(res) if isinstance(res, list) else 0
    print(
        f"derive        {n / rc:>10,.0f} msg/s per core (CPU)  {n / rw:>10,.0f} msg/s wall   ({count} behaviours)"
    )

    # memory: the resident set before and after one deriver holds every vessel
    gc.collect()
    rss0 = psutil.Process().memory_info().rss
    der = Deriver(settings)
    der.feed(decoded.reports)
    gc.collect()
    rss1 = psutil.Process().memory_info().rss
    print(
        f"state: {len(der.vessels):,} vessels, resident set +{(rss1 - rss0) / 2**20:.0f} MiB "
        f"({(rss1 - rss0) / max(1, len(der.vessels)):.0f} B/vessel)"
    )
    del der

    # 3. both, batch by batch, fresh state
    def batched() -> list[float]:
        der = Deriver(settings)
        dec = NmeaDecoder()
        lat_ms: list[float] = []
        for i in range(0, n, args.batch):
            b = time.perf_counter()
            der.feed(dec.decode(lines[i : i + args.batch], "bench", i + 1).reports)
            der.expire()
            lat_ms.append((time.perf_counter() - b) * 1000)
        return lat_ms

    bc, bw, res = best(batched, 2)
    lat_ms = res if isinstance(res, list) else [0.0]
    print(
        f"decode+derive {n / bc:>10,.0f} msg/s per core (CPU)  {n / bw:>10,.0f} msg/s wall"
        f"   ({bc / n * 1e6:.1f} us CPU per message)"
    )
    print(
        f"per batch of {args.batch}: p50 {statistics.median(lat_ms):.1f} ms  p95 {pct(lat_ms, 95):.1f} ms"
        f"  p99 {pct(lat_ms, 99):.1f} ms  max {max(lat_ms):.1f} ms"
    )

    # 4. pyais's full decode of every field, against ours, on the same sample
    sample = lines[: min(n, 50_000)]
    raw = [line.encode() for line in sample]
    fc, _, _ = best(lambda: [NMEAMessage(r).decode() for r in raw])
    oc, _, _ = best(lambda: NmeaDecoder().decode(sample, "bench"))
    print(
        f"on {len(sample):,} sentences: pyais full decode {len(sample) / fc:,.0f} msg/s per core, "
        f"engine.ais.nmea (lazy) {len(sample) / oc:,.0f} msg/s per core"
    )
    print(f"load average after: {os.getloadavg()}")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
