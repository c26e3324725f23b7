"""Auditors' page: the published public key of the signed tree heads, period replays and audit
pack exports. Replays and exports run in their own process (engine.audit.jobs); the web app only
records the request and reads the job's progress and report."""

from __future__ import annotations

import re
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import select

from engine.audit.tables import AuditJobRow
from engine.storage.db import session_scope
from web.auth.access import roles_required

audit_bp = Blueprint("audit", __name__)
AUDITORS = ("auditor", "admin")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@audit_bp.get("/audit/public-key")
def public_key() -> Any:
    """The Ed25519 public key (hex) that signs the journal's tree heads (public: no login)."""
    from engine.audit.signing import NoSigningKey, key_id
    from engine.audit.signing import public_key as load

    try:
        pub = load()
    except (NoSigningKey, OSError):
        return Response("no signing key configured\n", status=404, mimetype="text/plain")
    return {"algorithm": "Ed25519", "public_key": pub.hex(), "key_id": key_id(pub)}


@audit_bp.get("/audit/jobs")
@roles_required(*AUDITORS)
def index() -> Any:
    with session_scope() as s:
        jobs = list(s.scalars(select(AuditJobRow).order_by(AuditJobRow.id.desc()).limit(50)))
    return render_template("audit/index.html", jobs=jobs)


def _period() -> dict[str, Any]:
    since = request.form.get("from", "").strip()
    until = request.form.get("to", "").strip()
    if not (DAY.match(since) and DAY.match(until)) or since >= until:
        abort(400, "from and to: dates YYYY-MM-DD, from before to")
    regime = request.form.get("regime", "").strip()[:50] or None
    return {"from": since, "to": until, "regime": regime}


@audit_bp.post("/audit/replays")
@roles_required(*AUDITORS)
def start_replay() -> Any:
    from engine.audit.jobs import request_job

    params = _period()
    against = request.form.get("against", "").strip()
    lists = request.form.get("lists", "").strip()
    # a stored pack version or "current" (a server path is not the web's to choose)
    if against and not (against == "current" or re.fullmatch(r"[0-9a-f]{64}", against)):
        abort(400, "against: current or a stored rule pack version")
    if lists and not (lists == "current" or re.fullmatch(r"[0-9a-f]{64}", lists)):
        abort(400, "lists: current or a list version")
    params |= {"against": against or None, "lists": lists or None}
    job = request_job("replay", params, g.user.username, start=not request.form.get("no_start"))
    flash(f"period replay {job} started")
    return redirect(url_for("audit.job", job_id=job))


@audit_bp.post("/audit/exports")
@roles_required(*AUDITORS)
def start_export() -> Any:
    from engine.audit.jobs import request_job

    job = request_job("export", _period(), g.user.username)
    flash(f"audit pack export {job} started")
    return redirect(url_for("audit.job", job_id=job))


def _job(job_id: int) -> AuditJobRow:
    with session_scope() as s:
        row = s.get(AuditJobRow, job_id)
        if row is None:
            abort(404)
        return row


@audit_bp.get("/audit/jobs/<int:job_id>")
@roles_required(*AUDITORS)
def job(job_id: int) -> Any:
    return render_template("audit/job.html", job=_job(job_id))


@audit_bp.get("/audit/jobs/<int:job_id>/report.csv")
@roles_required(*AUDITORS)
def job_csv(job_id: int) -> Any:
    from engine.replay_period import PeriodReport

    row = _job(job_id)
    if row.kind != "replay" or not row.report:
        abort(404)
    rep = row.report
    report = PeriodReport(
        rep["mode"], rep["from"], rep["to"], rep["regime"], rep["against"], rep["lists"]
    )
    report.rows = rep.get("rows", [])
    return Response(
        report.csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=replay-{job_id}.csv"},
    )


@audit_bp.get("/audit/jobs/<int:job_id>/pack.zip")
@roles_required(*AUDITORS)
def job_pack(job_id: int) -> Any:
    row = _job(job_id)
    if row.kind != "export" or not row.file:
        abort(404)
    return send_file(row.file, as_attachment=True, download_name=f"audit-pack-{job_id}.zip")
