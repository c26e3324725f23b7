"""The officers' page of the exemption / notification registers, with maker-checker.

Officers and senior officers record entries (pending); a senior officer other than the creator
approves one before it clears anything; makers may revoke. Every role reads the register and
each entry's versioned history. The page reads and writes the register only: it never
evaluates an event (the worker checks citing events against the register version it reads).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from pydantic import ValidationError

from engine.registers import store
from engine.registers.actors import CHECKERS, MAKERS
from engine.registers.model import RegisterEntry
from engine.rules.catalogue import REGIMES
from web.auth.access import READERS, roles_required

registers_bp = Blueprint("registers", __name__, url_prefix="/exemptions")

GOODS_ROWS = 3
UNITS = ("", "bbl", "t", "kg", "l", "m3", "pcs", "usd", "set", "container", "teu")


def _split(text: str) -> list[str]:
    return [p for p in text.replace(",", " ").split() if p]


def entry_from_form(form: Any) -> dict[str, Any]:
    """The form's fields as a RegisterEntry body (empty fields left out: they constrain nothing)."""
    f = {k: (form.get(k) or "").strip() for k in form}
    raw: dict[str, Any] = {
        k: f[k]
        for k in ("ref", "kind", "regime", "end_user", "valid_from", "valid_to", "note", "document")
        if f.get(k)
    }
    if f.get("destination"):
        raw["destination"] = f["destination"].upper()
    if f.get("basis_resolution") or f.get("basis_paragraph"):
        raw["basis"] = {
            "resolution": f.get("basis_resolution", ""),
            "paragraph": f.get("basis_paragraph", ""),
        }
    if f.get("holder_name") or f.get("holder_country"):
        raw["holder"] = {
            "name": f.get("holder_name", ""),
            "country": f.get("holder_country") or None,
        }
    if f.get("covers"):
        raw["covers"] = _split(f["covers"])
    goods = []
    for i in range(GOODS_ROWS):
        hs, desc = f.get(f"goods_hs_{i}", ""), f.get(f"goods_description_{i}", "")
        qty, unit = f.get(f"goods_quantity_{i}", ""), f.get(f"goods_unit_{i}", "")
        if not (hs or desc or qty):
            continue
        item: dict[str, Any] = {"hs": _split(hs), "description": desc or None}
        if qty or unit:
            item.update(quantity=qty or None, unit=unit or None)
        goods.append(item)
    if goods:
        raw["goods"] = goods
    return raw


@registers_bp.get("")
@roles_required(*READERS)
def index() -> Any:
    status = request.args.get("status") or None
    if status not in (None, "pending", "approved", "revoked"):
        status = None
    return render_template(
        "registers/index.html",
        rows=store.entries(status=status),
        status=status,
        version=store.current_version(),
        changes=list(reversed(store.history(limit=20))),
    )


@registers_bp.get("/new")
@roles_required(*MAKERS)
def new() -> Any:
    return render_template(
        "registers/new.html", form={}, errors=[], regimes=REGIMES, units=UNITS, rows=GOODS_ROWS
    )


@registers_bp.post("")
@roles_required(*MAKERS)
def create() -> Any:
    body = entry_from_form(request.form)
    try:
        entry = RegisterEntry.model_validate(body)
        stored = store.add(entry, g.user.username)
    except ValidationError as exc:
        errors = [
            f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors(include_url=False)
        ]
        return render_template(
            "registers/new.html",
            form=request.form,
            errors=errors,
            regimes=REGIMES,
            units=UNITS,
            rows=GOODS_ROWS,
        ), 422
    except store.RegisterError as exc:
        return render_template(
            "registers/new.html",
            form=request.form,
            errors=[exc.message],
            regimes=REGIMES,
            units=UNITS,
            rows=GOODS_ROWS,
        ), exc.status
    flash(f"Recorded {stored.ref}; it clears nothing until a senior officer approves it.")
    return redirect(url_for("registers.detail", ref=stored.ref), code=303)


@registers_bp.get("/<path:ref>")
@roles_required(*READERS)
def detail(ref: str) -> Any:
    found = store.get(ref)
    if found is None:
        abort(404)
    user = g.user
    return render_template(
        "registers/detail.html",
        e=found,
        history=store.history(found.ref),
        can_approve=(
            user.role in CHECKERS
            and found.status == "pending"
            and user.username != found.created_by
        ),
        can_revoke=user.role in MAKERS and found.status != "revoked",
    )


@registers_bp.post("/<path:ref>/approve")
@roles_required(*CHECKERS)
def approve(ref: str) -> Any:
    try:
        stored = store.approve(ref, g.user.username, request.form.get("note") or None)
    except store.RegisterError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
        return redirect(url_for("registers.detail", ref=ref), code=303)
    flash(f"Approved {stored.ref} (register version {stored.version}).")
    return redirect(url_for("registers.detail", ref=stored.ref), code=303)


@registers_bp.post("/<path:ref>/revoke")
@roles_required(*MAKERS)
def revoke(ref: str) -> Any:
    try:
        stored = store.revoke(ref, g.user.username, request.form.get("reason") or "")
    except store.RegisterError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
        return redirect(url_for("registers.detail", ref=ref), code=303)
    flash(f"Revoked {stored.ref} (register version {stored.version}).")
    return redirect(url_for("registers.detail", ref=stored.ref), code=303)
