"""The vessel page: a vessel's timeline and identity history, built by engine.vessels.profile from
the stored events, decisions and alerts (the web app only reads; it evaluates no rule)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for

from engine.models.events import Event
from engine.vessels.profile import load_profile, sightings_of, vessel_key
from web.auth.access import READERS, roles_required

vessels_bp = Blueprint("vessels", __name__)

KEY = re.compile(r"^(IMO\d{7}|MMSI\d{9})$")


def vessel_keys(raw: Any) -> list[tuple[str, str]]:
    """(key, label) of the vessels a stored event names, for links from the alert page."""
    try:
        event = Event.model_validate(raw)
    except ValueError:
        return []
    out: dict[str, str] = {}
    for s in sightings_of(event):
        key = vessel_key(s.vessel)
        if key is not None:
            out.setdefault(key, s.vessel.name or key)
    return list(out.items())


@vessels_bp.get("/vessels")
@roles_required(*READERS)
def find() -> Any:
    """A search box: IMO or MMSI number -> the vessel page."""
    q = re.sub(r"\s+", "", request.args.get("q", "")).upper().removeprefix("IMO")
    if re.fullmatch(r"\d{7}", q):
        return redirect(url_for("vessels.page", key="IMO" + q))
    if re.fullmatch(r"(MMSI)?\d{9}", q):
        return redirect(url_for("vessels.page", key="MMSI" + q.removeprefix("MMSI")))
    return render_template("vessels/find.html", q=request.args.get("q", ""))


@vessels_bp.get("/vessels/<key>")
@roles_required(*READERS)
def page(key: str) -> Any:
    if not KEY.fullmatch(key):
        abort(404)
    profile = load_profile(key)
    if profile is None:
        abort(404)
    alerts_by_event: dict[str, list[Any]] = {}
    for a in profile.open_alerts:
        alerts_by_event.setdefault(a.event_id, []).append(a)
    flagged = {f.event_id: f for f in profile.flagged}
    return render_template(
        "vessels/page.html",
        profile=profile,
        timeline=list(reversed(profile.sightings)),
        alerts_by_event=alerts_by_event,
        flagged=flagged,
    )
