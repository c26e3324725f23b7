"""The registers in the store: maker-checker, one version per change, snapshots, audit."""

from __future__ import annotations

import threading

import pytest
from registers_support import HUMANITARIAN
from sqlalchemy import select

from engine.registers import store
from engine.registers.model import RegisterEntry


def _entry(**changes) -> RegisterEntry:
    return RegisterEntry.model_validate({**HUMANITARIAN, **changes})


def test_maker_checker_and_versions(db) -> None:
    assert store.current_version() == 0
    made = store.add(_entry(), "alice")
    assert (made.status, made.version, made.created_by) == ("pending", 1, "alice")
    with pytest.raises(store.RegisterError) as refused:
        store.approve(made.ref, "alice")
    assert refused.value.status == 403
    assert store.get(made.ref).status == "pending"  # the refusal changed nothing
    assert store.current_version() == 1
    ok = store.approve(made.ref, "bob", "checked against the Committee letter")
    assert (ok.status, ok.approved_by, ok.version) == ("approved", "bob", 2)
    with pytest.raises(store.RegisterError):
        store.approve(made.ref, "carol")  # not pending any more
    gone = store.revoke(made.ref, "carol", "Committee withdrew it")
    assert (gone.status, gone.version, gone.revoke_reason) == (
        "revoked",
        3,
        "Committee withdrew it",
    )
    assert [(c.version, c.action, c.actor) for c in store.history(made.ref)] == [
        (1, "create", "alice"),
        (2, "approve", "bob"),
        (3, "revoke", "carol"),
    ]


def test_a_ref_is_recorded_once(db) -> None:
    store.add(_entry(), "alice")
    store.revoke(HUMANITARIAN["ref"], "alice", "typo")
    with pytest.raises(store.RegisterError) as dup:
        store.add(_entry(note="again"), "bob")
    assert dup.value.status == 409


def test_snapshots_show_the_register_as_it_stood(db) -> None:
    store.add(_entry(), "alice")  # v1
    store.add(_entry(ref="OTHER-1", covers=[]), "alice")  # v2
    store.approve(HUMANITARIAN["ref"], "bob")  # v3
    store.revoke("OTHER-1", "bob", "withdrawn")  # v4
    v1, v3, v4 = store.snapshot(1), store.snapshot(3), store.snapshot(4)
    assert set(v1.entries) == {HUMANITARIAN["ref"]}
    assert v1.get(HUMANITARIAN["ref"]).status == "pending"
    assert v3.get(HUMANITARIAN["ref"]).status == "approved"
    assert v3.get("OTHER-1").status == "pending"
    assert v4.get("OTHER-1").status == "revoked"
    assert store.snapshot().version == 4
    with pytest.raises(store.RegisterError):
        store.snapshot(5)


def test_every_change_is_audited(db) -> None:
    from engine.storage.db import session_scope
    from engine.storage.desk_tables import AuditRow

    store.add(_entry(), "alice")
    store.approve(HUMANITARIAN["ref"], "bob")
    with session_scope() as s:
        rows = s.execute(
            select(AuditRow.actor, AuditRow.action, AuditRow.target_id).where(
                AuditRow.target_type == "exemption"
            )
        ).all()
    assert sorted(rows) == [
        ("alice", "exemption.create", HUMANITARIAN["ref"]),
        ("bob", "exemption.approve", HUMANITARIAN["ref"]),
    ]


def test_concurrent_writers_get_distinct_consecutive_versions(db) -> None:
    errors: list[BaseException] = []

    def make(n: int) -> None:
        try:
            store.add(_entry(ref=f"CONC-{n}"), f"maker{n}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=make, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    versions = sorted(e.version for e in store.entries())
    assert versions == [1, 2, 3, 4, 5, 6]
    assert store.current_version() == 6


def test_entry_validation() -> None:
    with pytest.raises(ValueError, match="valid_to"):
        _entry(valid_from="2024-05-01", valid_to="2024-04-01")
    with pytest.raises(ValueError, match="regime"):
        _entry(regime="Atlantis")
    with pytest.raises(ValueError, match="HS prefix"):
        _entry(goods=[{"hs": ["84a"]}])
    with pytest.raises(ValueError, match="quantity and unit"):
        _entry(goods=[{"hs": ["8438"], "quantity": 5}])
    legacy = RegisterEntry.model_validate(
        {"ref": "L-1", "kind": "notification", "regime": "DPRK", "valid_from": "2019-04-01",
         "parties": ["supplier State"], "goods": ["diesel (HS 2710.19)"]}
    )  # fmt: skip
    assert legacy.goods[0].description == "diesel (HS 2710.19)"
    assert "supplier State" in (legacy.note or "")
