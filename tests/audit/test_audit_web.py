"""The auditors' page: published public key, period replay jobs with their report and CSV, the
audit pack export run in its own process and offered for download; officers are kept out."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from audit_support import store_decided

from engine.audit.jobs import run_job
from engine.audit.signing import generate_key


@pytest.fixture
def app(db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from web import create_app

    key = tmp_path / "audit.key"
    pub = generate_key(key)
    monkeypatch.setenv("SANCTIONS_AUDIT_KEY_FILE", str(key))
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    app.config["PUB"] = pub.hex()
    return app


def test_public_key_is_published_without_login(app) -> None:
    resp = app.test_client().get("/audit/public-key")
    assert resp.status_code == 200 and resp.json["public_key"] == app.config["PUB"]


def test_officers_cannot_reach_the_audit_page(app, login_as) -> None:
    client = app.test_client()
    login_as(client, "officer")
    assert client.get("/audit/jobs").status_code == 403
    assert (
        client.post("/audit/exports", data={"from": "2024-01-01", "to": "2025-01-01"}).status_code
        == 403
    )


def test_period_replay_job_keeps_its_report(app, login_as) -> None:
    store_decided(4)  # decisions of a pack the store holds but whose rules are a stub
    client = app.test_client()
    login_as(client, "auditor")
    resp = client.post(
        "/audit/replays", data={"from": "2024-01-01", "to": "2025-01-01", "no_start": "1"}
    )
    assert resp.status_code == 302
    job_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert "queued" in client.get(f"/audit/jobs/{job_id}").text
    assert run_job(job_id) == "done"
    page = client.get(f"/audit/jobs/{job_id}").text
    # the stored stub pack does not rebuild into rules: each decision is reported, none passes
    assert "Could not replay" in page and page.count("invalid rule pack") == 4
    assert "Every decision came out identical" not in page
    csv = client.get(f"/audit/jobs/{job_id}/report.csv").text
    assert csv.splitlines()[0].startswith("event_id,rule_id")
    assert (
        client.post("/audit/replays", data={"from": "2024-02-01", "to": "2024-01-01"}).status_code
        == 400
    )


def test_export_runs_in_its_own_process_and_downloads(app, login_as) -> None:
    store_decided(3)
    client = app.test_client()
    login_as(client, "auditor")
    resp = client.post("/audit/exports", data={"from": "2024-01-01", "to": "2025-01-01"})
    job_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        page = client.get(f"/audit/jobs/{job_id}").text
        if "Download the audit pack" in page or "failed" in page:
            break
        time.sleep(0.5)
    assert "Download the audit pack" in page, page
    data = client.get(f"/audit/jobs/{job_id}/pack.zip").data
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {"verify.py", "manifest.json", "records/events.jsonl"} <= set(z.namelist())
