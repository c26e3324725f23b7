"""Names and sizes the publisher, the worker and its command line share (no Celery import here,
so the CLI can build a worker command line without loading Celery)."""

from __future__ import annotations

QUEUE = "sanctions"
# Task names are a contract with external producers: never rename them.
EVALUATE_EVENTS = "sanctions.evaluate_events"
INGEST_RAW = "sanctions.ingest_raw"
SWEEP = "sanctions.sweep"
REPLAY_DECISION = "sanctions.replay_decision"

BATCH_SIZE = 100
# Coalescing of small tasks (single-event requests): their ids are also listed under PENDING and
# a small task decides up to BATCH_SIZE listed ids at once; the tasks of ids decided that way
# find them decided and only pay for one SELECT. The list is a hint, never the only copy of an id:
# every id also travels in its own acks_late task, so a worker that dies after popping ids loses
# nothing (their own tasks still decide them). Only tasks of at most COALESCE_MAX ids announce,
# and each small task pops at least that many, so the list cannot grow without bound.
PENDING = "sanctions:pending"
COALESCE_MAX = BATCH_SIZE // 2
