"""List freshness: scheduled imports recorded, a failed import keeps the last good snapshot, the
newest snapshot's age on /lists and for /readyz. Real database and real files; the failing
sources are a missing file, a file that is not the list, and a closed loopback port."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from lists_support import list_file, parsed

from engine.lists import store
from engine.lists.cli import lists_cli
from engine.lists.schedule import (
    ListScheduleSettings,
    due,
    freshness,
    import_if_due,
    readiness,
    runs,
    start_background_importer,
    stop_background_importer,
)

NEWEST = "2026-05-08"


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/consolidated.xml"  # nothing listens there now


def test_default_every_six_hours_and_off_in_tests() -> None:
    assert ListScheduleSettings.model_fields["interval"].default == 6 * 3600
    assert ListScheduleSettings().interval == 0  # conftest turns the schedule off
    assert start_background_importer() is None


def test_a_failed_import_keeps_the_last_good_snapshot(db: None, tmp_path: Path) -> None:
    good = import_if_due(str(list_file(NEWEST)), interval=0)
    assert good is not None and good.ok and good.created
    assert good.snapshot_sha256 == parsed(NEWEST).sha256
    not_a_list = tmp_path / "page.xml"
    not_a_list.write_text("<html><body>Service unavailable</body></html>")
    for bad in (str(tmp_path / "missing.xml"), str(not_a_list), _closed_port_url()):
        run = import_if_due(bad, interval=0)
        assert run is not None and not run.ok and run.error, bad
        assert [s.sha256 for s in store.snapshots()] == [parsed(NEWEST).sha256]
    f = freshness()
    assert f.last_run is not None and not f.last_run.ok
    assert f.last_success is not None and f.last_success.snapshot_sha256 == parsed(NEWEST).sha256
    assert [r.ok for r in runs()] == [False, False, False, True]


def test_due_follows_the_last_attempt(db: None) -> None:
    assert due(interval=3600)  # never attempted
    import_if_due(str(list_file(NEWEST)), interval=3600)
    assert not due(interval=3600)
    assert import_if_due(str(list_file(NEWEST)), interval=3600) is None  # not due: nothing runs
    assert due(now=datetime.now(UTC) + timedelta(hours=2), interval=3600)


def test_age_and_readiness(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    ready, detail = readiness()
    assert ready and detail["newest_snapshot"] is None  # no maximum age configured: report only
    monkeypatch.setenv("SANCTIONS_LIST_MAX_AGE_HOURS", "48")
    assert readiness()[0] is False  # no snapshot at all

    import_if_due(str(list_file(NEWEST)), interval=0)
    generated = parsed(NEWEST).date_generated
    soon = generated + timedelta(hours=12)
    ready, detail = readiness(now=soon)
    assert ready and detail["age_seconds"] == 12 * 3600 and not detail["stale"]
    assert detail["newest_snapshot"] == generated.isoformat()
    ready, detail = readiness(now=generated + timedelta(days=3))
    assert not ready and detail["stale"] and detail["max_age_hours"] == 48


def test_lists_page_shows_age_and_failed_attempts(client, tmp_path: Path) -> None:
    import_if_due(str(list_file(NEWEST)), interval=0)
    import_if_due(str(tmp_path / "gone.xml"), interval=0)
    page = client.get("/lists/")
    assert page.status_code == 200
    f = freshness()
    assert f'<span id="list-age">{f.age_text}</span>' in page.text
    assert "failed: FileNotFoundError" in page.text and "last good snapshot kept" in page.text
    assert "Scheduled import: off" in page.text


def test_cli_import_is_recorded_and_a_failure_is_an_error(db: None, tmp_path: Path) -> None:
    ok = CliRunner().invoke(lists_cli, ["import", str(list_file(NEWEST)), "--no-retro"])
    assert ok.exit_code == 0, ok.output
    bad = CliRunner().invoke(lists_cli, ["import", str(tmp_path / "none.xml")])
    assert bad.exit_code != 0 and "cannot import" in bad.output
    assert [(r.trigger, r.ok) for r in runs()] == [("cli", False), ("cli", True)]


def test_background_importer_imports_when_due(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.config import get_settings

    monkeypatch.setenv("SANCTIONS_UN_LIST_URL", str(list_file(NEWEST)))
    get_settings.cache_clear()
    try:
        thread = start_background_importer(interval=3600)
        assert thread is not None and thread.is_alive()
        deadline = time.monotonic() + 120
        while not (runs() and runs()[0].finished_at) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [s.sha256 for s in store.snapshots()] == [parsed(NEWEST).sha256]
        assert runs()[0].trigger == "schedule" and runs()[0].ok
    finally:
        stop_background_importer()
        if thread is not None:
            thread.join(timeout=120)
        get_settings.cache_clear()
    assert not thread.is_alive()
