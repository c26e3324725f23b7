"""The ``ais`` queue: names, partition routing and publishing (no Celery import at module load,
so the command line can use the names).

Derivation keeps per-vessel state in the worker process, so every batch of one stream must reach
the same worker, in order: each partition is one queue (``ais`` or ``ais.<n>``) consumed by
exactly one solo worker. With ``SANCTIONS_AIS_PARTITIONS`` = N > 1 a feed is split by
``partition_of(mmsi)`` (a stable hash of the MMSI) before storing (docs/AIS.md).
"""

from __future__ import annotations

import logging
import zlib

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
