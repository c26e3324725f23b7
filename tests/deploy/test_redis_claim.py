"""Test runs on one Redis server each hold a database number of their own (tests/redis_claim.py).

Two runs that shared a number flushed each other's queue at start and end, so a worker waited for
events whose messages were gone: the kill test's stall under concurrent runs.
"""

from __future__ import annotations

import redis
import redis_claim


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url.replace("redis+socket://", "unix://"))


def test_concurrent_claims_get_different_numbers_and_release_frees_one(broker_url: str) -> None:
    if not broker_url.startswith("redis://"):
        import pytest

        pytest.skip("the embedded Redis listens on a socket: one per run, nothing to share")
    base = broker_url.rsplit("/", 1)[0]
    held = []
    try:
        while (got := redis_claim.claim(base, ttl=60)) is not None:
            held.append(got)
        numbers = [int(url.rsplit("/", 1)[1]) for url, _, _ in held]
        own = int(broker_url.rsplit("/", 1)[1])
        # every number is taken once, and none is this run's own
        assert len(numbers) == len(set(numbers)) and own not in numbers
        assert held, "no number was free besides this run's own"
        url, key, token = held.pop(0)
        redis_claim.release(base, key, "not-the-holder")  # only the holder releases
        assert redis_claim.claim(base, ttl=60) is None
        redis_claim.release(url, key, token)
        again = redis_claim.claim(base, ttl=60)
        assert again is not None and again[0] == url
        held.append(again)
    finally:
        for url, key, token in held:
            redis_claim.release(url, key, token)
    assert _client(f"{base}/0").get(key) is None
