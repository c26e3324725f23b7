"""List snapshot pages: stored UN list snapshots, one snapshot's change report, the difference
between any two snapshots, and one list reference's history (listed / delisted)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request

from engine.lists import store

lists_bp = Blueprint("lists", __name__, url_prefix="/lists")


@lists_bp.get("/")
def index() -> Any:
    from engine.lists.schedule import freshness, runs

    snaps = store.snapshots()
    return render_template(
        "lists/index.html",
        snapshots=list(reversed(snaps)),
        previous={s.id: p for p, s in zip(snaps, snaps[1:], strict=False)},
        freshness=freshness(),
        runs=runs(5),
    )


@lists_bp.get("/<int:snapshot_id>")
def snapshot(snapshot_id: int) -> Any:
    snaps = {s.id: s for s in store.snapshots()}
    if snapshot_id not in snaps:
        abort(404)
    info = snaps[snapshot_id]
    changes = store.stored_report(snapshot_id)
    previous = snaps.get(changes[0]["previous_id"]) if changes else store.previous_of(info)
    grouped: dict[str, list[dict]] = {"added": [], "removed": [], "amended": []}
    for c in changes:
        grouped[c["change"]].append(c)
    return render_template("lists/snapshot.html", info=info, previous=previous, changes=grouped)


@lists_bp.get("/diff")
def diff() -> Any:
    snaps = store.snapshots()
    a, b = request.args.get("a", ""), request.args.get("b", "")
    report = sa = sb = None
    error = None
    if a and b:
        try:
            sa, sb = store.resolve(a), store.resolve(b)
            report = store.diff(sa, sb)
        except LookupError as exc:
            error = str(exc)
    return render_template(
        "lists/diff.html", snapshots=snaps, a=a, b=b, sa=sa, sb=sb, report=report, error=error
    ), (400 if error else 200)


@lists_bp.get("/entry/<reference>")
def entry(reference: str) -> Any:
    """Which snapshots carry ``reference``; whether it has since been delisted."""
    history = store.reference_history(reference)
    if not history:
        abort(404)
    return render_template(
        "lists/entry.html",
        reference=reference,
        history=history,
        delisting=store.delistings([reference]).get(reference),
    )
