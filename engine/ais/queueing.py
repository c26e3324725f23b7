"""The ``ais`` queue: names, partition routing and publishing (no Celery import at module load,
so the command line can use the names).

Derivation keeps per-vessel state in the worker process, so every batch of one stream must reach
the same worker, in order: each partition is one queue (``ais`` or ``ais.<n>``) consumed by
exactly one solo worker. With ``SANCTIONS_AIS_PARTITIONS`` = N > 1 a feed is split by
``partition_of(mmsi)`` (a stable hash of the MMSI) before storing (docs/AIS.md).
"""

from __future__ import annotations

import json
import logging
import zlib

from pyais.bit_vector import bit_vector

from engine.ais.settings import get_ais_settings

log = logging.getLogger(__name__)

AIS_QUEUE = "ais"
# Task names are a contract with external producers: never rename them.
AIS_DERIVE = "sanctions.ais_derive"  # (batch_id): derive a stored raw batch
AIS_INGEST_RAW = "sanctions.ais_ingest_raw"  # (text or list of lines): store, then derive


def queue_name(partition: int = 0, partitions: int | None = None) -> str:
    n = partitions if partitions is not None else get_ais_settings().partitions
    return AIS_QUEUE if n <= 1 else f"{AIS_QUEUE}.{partition % n}"


def partition_of(mmsi: int, partitions: int | None = None) -> int:
    """Stable across processes and machines (crc32, not Python's salted hash)."""
    n = partitions if partitions is not None else get_ais_settings().partitions
    return zlib.crc32(str(mmsi).encode()) % n if n > 1 else 0


def publish_batches(batch_ids: list[str], partition: int = 0) -> bool:
    """Queue stored batches for derivation; False when the broker cannot be reached (they stay
    ``received`` in the store and ``sanctions ais sweep`` queues them later)."""
    from engine.pipeline.celery_app import app

    queue = queue_name(partition)
    try:
        with app.producer_or_acquire() as producer:
            for bid in batch_ids:
                app.send_task(
                    AIS_DERIVE,
                    (bid,),
                    queue=queue,
                    producer=producer,
                    ignore_result=True,
                    retry=False,
                )
    except Exception as exc:
        log.warning("broker unreachable, %d AIS batches left stored: %s", len(batch_ids), exc)
        return False
    return True


def mmsi_of_line(line: str) -> int | None:
    """The MMSI a line reports (an NMEA first or only fragment: bits 8-37 of the payload, read
    with pyais's bit vector; a JSON object: its ``mmsi``), or None (continuation fragments,
    unreadable lines: they follow their message, or go to partition 0 as findings)."""
    text = line.strip()
    if text[:1] in ("{", "["):
        try:
            value = json.loads(text).get("mmsi")
            return int(value) if value is not None else None
        except (ValueError, TypeError, AttributeError):
            return None
    bang = text.find("!")
    fields = text[bang + 1 :].split(",") if bang >= 0 else []
    if len(fields) < 7 or fields[2] != "1" or len(fields[5]) < 7:
        return None
    try:
        return int(bit_vector(fields[5][:7].encode("ascii"), 0).get(8, 30))
    except (ValueError, UnicodeEncodeError):
        return None


def split_by_partition(lines: list[str], partitions: int | None = None) -> dict[int, list[str]]:
    """The lines of each partition, in their order; a multi-fragment message stays whole with
    its first fragment (keyed by talker, channel and sequence id)."""
    n = partitions if partitions is not None else get_ais_settings().partitions
    out: dict[int, list[str]] = {}
    open_messages: dict[tuple[str, str, str], int] = {}
    for line in lines:
        mmsi = mmsi_of_line(line)
        bang = line.find("!")
        fields = line[bang + 1 :].split(",") if bang >= 0 else []
        key = (fields[0], fields[4], fields[3]) if len(fields) >= 7 and fields[1] != "1" else None
        if mmsi is not None:
            part = partition_of(mmsi, n)
            if key is not None:
                open_messages[key] = part
        elif key is not None and key in open_messages:
            part = open_messages[key]
        else:
            part = 0
        out.setdefault(part, []).append(line)
    return out


def partition_of_batch(batch_id: str) -> int:
    """The partition of a stored batch: that of the first MMSI it reports (a split batch holds
    one partition's vessels only), 0 when it reports none."""
    from engine.ais.batches import load_batch

    row = load_batch(batch_id)
    for line in row.body.split("\n") if row is not None else ():
        mmsi = mmsi_of_line(line)
        if mmsi is not None:
            return partition_of(mmsi)
    return 0
