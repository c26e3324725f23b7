"""`sanctions push FILE`: JSON and NDJSON files, in-process (--direct) and over real HTTP (--url)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from pipeline_support import (
    clear_event,
    flagged_event,
    mixed_events,
    queued_event_ids,
    redis_client,
)
from sqlalchemy import select

from engine.storage.db import get_engine
from engine.storage.tables import EventRow, RejectionRow
from sanctions_cli import main


def stored_ids() -> set[str]:
    with get_engine().connect() as conn:
        return set(conn.scalars(select(EventRow.event_id)))


@pytest.fixture
def queue(broker_url: str):
    client = redis_client(broker_url)
    client.delete("sanctions")
    yield client
    client.delete("sanctions")


def test_push_direct_json_array(db, queue, tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text(json.dumps(mixed_events("pd", 250)))
    result = CliRunner().invoke(main, ["push", str(path), "--direct"])
    assert result.exit_code == 0, result.output
    assert "accepted=250" in result.output
    assert stored_ids() == {f"pd-{i}" for i in range(250)}
    assert len(queued_event_ids(queue)) == 250
    again = CliRunner().invoke(main, ["push", str(path), "--direct"])
    assert "accepted=0 duplicate=250" in again.output


def test_push_direct_ndjson_reports_bad_lines(db, queue, tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_text(
        "\n".join([json.dumps(clear_event("nd-1")), "{broken", json.dumps(flagged_event("nd-2"))])
        + "\n"
    )
    result = CliRunner().invoke(main, ["push", str(path), "--direct"])
    assert result.exit_code == 1  # something was refused
    assert "accepted=2" in result.output and "invalid=1" in result.output
    assert stored_ids() == {"nd-1", "nd-2"}
    with get_engine().connect() as conn:
        assert conn.execute(select(RejectionRow.channel, RejectionRow.raw)).all() == [
            ("cli", "{broken")
        ]


def test_push_needs_exactly_one_target(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text("[]")
    assert CliRunner().invoke(main, ["push", str(path)]).exit_code == 2


@pytest.fixture
def live_server(db, broker_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    """The app on a real HTTP socket (werkzeug server in a thread) and the API client's headers."""
    from conftest import make_api_client
    from werkzeug.serving import make_server

    api = make_api_client()
    server = make_server("127.0.0.1", 0, api.client.application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", api.headers
    server.shutdown()
    thread.join(timeout=10)


def test_push_over_http_ndjson(live_server, queue, tmp_path: Path) -> None:
    url, headers = live_server
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps(e) for e in mixed_events("ph", 120)) + "\n")
    args = ["push", str(path), "--url", url, "--batch-size", "50"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "accepted=120" in result.output
    assert stored_ids() == {f"ph-{i}" for i in range(120)}
    assert len(queued_event_ids(queue)) == 120
