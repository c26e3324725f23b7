"""`sanctions push`: clear messages, never a traceback, never the key (issue 8)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from click.testing import CliRunner

from engine.cli import main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_url_and_malformed_header(tmp_path: Path) -> None:
    f = tmp_path / "e.json"
    f.write_text(json.dumps({"event_id": "x", "event_type": "shipment"}))
    url = f"http://127.0.0.1:{_free_port()}"
    r = CliRunner().invoke(
        main, ["push", str(f), "--url", url, "-H", "Authorization: Bearer s3cr3t-key"]
    )
    assert r.exit_code != 0 and "cannot reach the service" in r.output, r.output
    assert "Traceback" not in r.output and "s3cr3t-key" not in r.output
    r = CliRunner().invoke(main, ["push", str(f), "--url", url, "-H", "Bearer s3cr3t-key"])
    assert r.exit_code == 2 and "malformed" in r.output and "s3cr3t-key" not in r.output, r.output


def test_each_invalid_item_is_listed_with_its_reason(tmp_path: Path, db) -> None:
    f = tmp_path / "e.json"
    f.write_text(
        json.dumps(
            [{"event_id": "bad-1", "event_type": "shipment", "occurred_at": "soon", "shipment": {}}]
        )
    )
    r = CliRunner().invoke(main, ["push", str(f), "--direct"])
    assert r.exit_code == 1
    assert "item 0 (event_id 'bad-1') invalid: /occurred_at:" in r.output, r.output
