"""Re-screening after a list change: new designations only, last 12 months, entity and shipment
events, alerts with origin='retro_screening', idempotent; delistings reported, never closing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lists_support import list_file
from rulepack_support import REPO_RULES as RULES
from screening_support import store_decided
from sqlalchemy import select

from engine.lists import store
from engine.lists.importer import import_list
from engine.models.decisions import Violation
from engine.screening.regimes import measure_for
from engine.screening.retro import months_before, rescreen_after_import
from engine.storage.db import get_engine
from engine.storage.repository import ALERTS


def _store(event_id: str, kind: str, body: dict[str, Any], at: str) -> None:
    """A stored event row as the pipeline writes it (validated, raw JSON kept)."""
    raw = {
        "event_id": event_id,
        "event_type": kind,
        "occurred_at": at,
        "source": "test",
        kind: body,
    }
    store_decided(raw)


def _shipment(*names: str) -> dict[str, Any]:
    return {
        "origin": {"country": "AE"},
        "destination": {"country": "SD"},
        "parties": [{"role": "consignee", "name": n} for n in names],
    }


def _alerts() -> list[dict[str, Any]]:
    with get_engine().connect() as conn:
        return [
            dict(r) for r in conn.execute(select(ALERTS).order_by(ALERTS.c.event_id)).mappings()
        ]


def test_new_designations_open_retro_alerts(db: None) -> None:
    recent = datetime.now(UTC).replace(microsecond=0)
    within = months_before(recent, 2).isoformat()
    _store("ship-new-aq", "shipment", _shipment("Sami Jasim Muhammad Jaata al-Jaburi"), within)
    _store(
        "ent-new-sd",
        "entity",
        {
            "action": "onboard",
            "id": "X",
            "kind": "organization",
            "name": "Harmless Logistics FZE",
            "owners": [{"name": "AL-GONEY HAMDAN DAGALO"}],
        },
        within,
    )
    _store(
        "ship-old",
        "shipment",
        _shipment("SAMI JASIM MUHAMMAD JAATA AL-JABURI"),
        months_before(recent, 13).isoformat(),
    )
    _store("ship-known", "shipment", _shipment("KOMID"), within)
    _store(
        "move",
        "vessel_movement",
        {"kind": "port_call", "vessel": {"name": "SAMI JASIM"}, "port": {"country": "AE"}},
        within,
    )

    first = import_list(str(list_file("2026-02-27")))
    assert first.created and first.retro_alerts == 0 and _alerts() == []
    second = import_list(str(list_file("2026-05-08")))
    assert second.created and second.retro_alerts == 2

    alerts = _alerts()
    sudan, alqaida = measure_for("Sudan").rule_id, measure_for("Al-Qaida").rule_id
    assert [
        (a["event_id"], a["rule_id"], a["regime"], a["origin"], a["status"]) for a in alerts
    ] == [
        ("ent-new-sd", sudan, "Sudan", "retro_screening", "open"),
        ("ship-new-aq", alqaida, "Al-Qaida", "retro_screening", "open"),
    ]
    for a in alerts:
        v = Violation.model_validate(a["violation"])
        assert v.rule_id == a["rule_id"] and v.evidence and v.citations
        assert a["citation"].startswith("UNSCR ")
    aq = Violation.model_validate(alerts[1]["violation"])
    assert aq.evidence[0].path == "shipment.parties[0]"
    assert aq.evidence[0].value["reference"] == "QDi.437" and aq.evidence[0].value["retro"] is True
    sd = Violation.model_validate(alerts[0]["violation"])
    assert sd.evidence[0].path == "entity.owners[0]" and sd.severity == "critical"
    assert store.references_in(alerts[0]["violation"]) == ["SDi.011"]
    assert alerts[1]["occurred_at"] is not None

    # again: the unique (event, rule) key keeps it at one alert each
    _, opened = rescreen_after_import(second.snapshot, second.report)
    assert opened == 0 and len(_alerts()) == 2
    assert not import_list(str(list_file("2026-05-08"))).created


def test_window_is_configurable_and_old_files_do_not_rescreen(db: None, monkeypatch) -> None:
    from engine.screening.settings import get_screening_settings

    at = months_before(datetime.now(UTC), 5).isoformat()
    _store("ship-5m", "shipment", _shipment("MATEO ANDRES DUQUE BOTERO"), at)
    monkeypatch.setenv("SANCTIONS_RETRO_SCREEN_MONTHS", "3")
    get_screening_settings.cache_clear()
    try:
        import_list(str(list_file("2026-02-27")))
        result = import_list(str(list_file("2026-05-08")))
        assert result.retro_alerts == 0
        monkeypatch.setenv("SANCTIONS_RETRO_SCREEN_MONTHS", "6")
        get_screening_settings.cache_clear()
        _, opened = rescreen_after_import(result.snapshot, result.report)
        assert opened == 1 and _alerts()[0]["rule_id"] == measure_for("Sudan").rule_id
        # an older file imported after newer ones never re-screens
        late = import_list(str(list_file("2025-04-19")))
        assert late.created and late.retro_alerts == 0
    finally:
        get_screening_settings.cache_clear()


def test_delisting_is_shown_not_closing(db: None) -> None:
    import_list(str(list_file("2026-02-27")))
    import_list(str(list_file("2026-05-08")))
    found = store.delistings(
        store.references_in({"evidence": [{"note": "matches QDe.137 and KPe.047"}]})
    )
    assert list(found) == ["QDe.137"]
    assert f"{found['QDe.137'].removed_in.date_generated:%Y-%m-%d}" == "2026-05-08"


def test_months_before() -> None:
    assert months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert months_before(datetime(2026, 11, 25, tzinfo=UTC), 12) == datetime(
        2025, 11, 25, tzinfo=UTC
    )


def test_alerts_use_the_packs_asset_freeze_rule_else_a_screen_id(tmp_path) -> None:
    # a pack of two rules: the 1718 freeze on designated parties, and a freeze on vessels
    for source, rule_id in (
        ("dprk/finance/UNSCR-1718-OP8d.yaml", "R-FREEZE"),
        ("dprk/vessels/UNSCR-2270-OP12.yaml", "A-VESSEL"),
    ):
        text = (RULES / source).read_text(encoding="utf-8")
        old_id = source.rsplit("/", 1)[1].removesuffix(".yaml")
        rule = tmp_path / source.replace(old_id, rule_id)
        rule.parent.mkdir(parents=True, exist_ok=True)
        rule.write_text(text.replace(f"id: {old_id}\n", f"id: {rule_id}\n"), encoding="utf-8")
    dprk = measure_for("DPRK", tmp_path)
    assert (dprk.rule_id, dprk.from_pack, str(dprk.citations[0])) == (
        "R-FREEZE",
        True,
        "UNSCR 1718 (2006) OP8(d)",
    )
    gb = measure_for("GB", tmp_path)
    assert gb.rule_id == "SCREEN-GB" and not gb.from_pack and gb.caveat
