"""The durable_rules wrapper: no background threads, one lock, assert+retract, batches."""

from __future__ import annotations

import threading

import pytest

from engine.rules import durable_backend as db
from engine.rules.durable_backend import DurableBackend, DurableError

DEFS = {
    "kp": {"all": [{"m": {"$and": [{"kind": "goods"}, {"from__KP": True}]}}]},
    "arms": {
        "all": [{"m": {"$and": [{"kind": "goods"}, {"$or": [{"hs2": "93"}, {"hs4": "8710"}]}]}}]
    },
    "late": {
        "all": [
            {
                "m": {
                    "$and": [
                        {"kind": "goods"},
                        {"$gte": {"occurred": 1000}},
                        {"$neq": {"unit": "kg"}},
                    ]
                }
            }
        ]
    },
}


def facts(n, offset=0):
    out = []
    for i in range(offset, offset + n):
        f = {"kind": "goods", "occurred": i}
        if i % 3 == 0:
            f["from__KP"] = True
        if i % 5 == 0:
            f["hs2"] = "93"
        if i % 7 == 0:
            f["unit"] = "kg" if i % 2 else "t"
        out.append((f"f{i}", f))
    return out


def expected(fs):
    out = set()
    for key, f in fs:
        if f.get("from__KP"):
            out.add((key, "kp"))
        if f.get("hs2") == "93" or f.get("hs4") == "8710":
            out.add((key, "arms"))
        if f["occurred"] >= 1000 and "unit" in f and f["unit"] != "kg":
            out.add((key, "late"))
    return out


def test_host_starts_no_threads():
    before = threading.active_count()
    b = DurableBackend(DEFS)
    b.match(facts(10))
    assert threading.active_count() == before
    assert not any(isinstance(t, threading.Timer) for t in threading.enumerate())


def test_every_match_once_and_facts_retracted():
    b = DurableBackend(DEFS)
    fs = facts(300, offset=900)
    got = b.match(fs)
    assert set(got) == expected(fs)
    assert len(got) == len(set(got))
    assert b.stored_facts() == []


def test_batch_with_unhandled_facts_keeps_results_in_their_own_call(monkeypatch):
    # A fact matching no rule makes the engine answer "not handled" for the batch; the matches of
    # the other facts must come back in THIS call, not leak into the next one.
    b = DurableBackend({"kp": DEFS["kp"]})
    batch = [
        ("a", {"kind": "goods", "from__KP": True}),
        ("b", {"kind": "goods"}),
        ("c", {"kind": "goods", "from__KP": True}),
    ]
    assert set(b.match(batch)) == {("a", "kp"), ("c", "kp")}
    assert b.match([("d", {"kind": "goods"})]) == []


def test_large_batches_are_split_and_complete(monkeypatch):
    monkeypatch.setattr(db, "BATCH_FACTS", 64)
    b = DurableBackend(DEFS)
    fs = facts(1000, offset=500)
    assert set(b.match(fs)) == expected(fs)
    assert b.stored_facts() == []


def test_concurrent_callers_get_their_own_correct_results():
    b = DurableBackend(DEFS)
    errors = []

    def worker(k):
        for r in range(5):
            fs = facts(200, offset=k * 10000 + r * 200)
            if set(b.match(fs)) != expected(fs):
                errors.append((k, r))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert b.stored_facts() == []


def test_one_process_wide_lock_is_used(monkeypatch):
    calls = []

    class Spy:
        def __enter__(self):
            calls.append("enter")

        def __exit__(self, *a):
            calls.append("exit")

    b = DurableBackend(DEFS)
    monkeypatch.setattr(db, "_ENGINE_LOCK", Spy())
    b.match(facts(5))
    assert calls == ["enter", "exit"]


def test_fact_ids_are_unique_across_calls():
    b = DurableBackend(DEFS)
    same = [("x", {"kind": "goods", "from__KP": True})]
    assert b.match(same) == [("x", "kp")]
    assert b.match(same) == [("x", "kp")]  # a new id each time: never "already observed"


@pytest.mark.parametrize("key", ["id", "sid", "$s"])
def test_reserved_fields_refused(key):
    with pytest.raises(ValueError):
        DurableBackend(DEFS).match([("x", {"kind": "goods", key: 1})])


def test_joins_and_unanchored_patterns_refused():
    with pytest.raises(DurableError):
        DurableBackend({"j": {"all": [{"a": {"kind": "goods"}}, {"b": {"kind": "party"}}]}})
    with pytest.raises(DurableError):
        DurableBackend({"u": {"all": [{"m": {"$or": [{"$nex": {"x": 1}}, {"y": 1}]}}]}})


def test_close_releases_the_ruleset():
    b = DurableBackend(DEFS)
    b.close()
    assert b.match(facts(3)) == []
