"""JSON API of the exemption / notification registers (scopes checked in web.auth.apikeys).

POST /api/v1/exemptions                 record an entry, pending approval    registers:write
GET  /api/v1/exemptions                 entries now (?status=&kind=&regime=)  any registers:*
GET  /api/v1/exemptions/<ref>           one entry and its history (?version=N: as it stood then)
POST /api/v1/exemptions/<ref>/approve   approve (never with the key that created it)  registers:approve
POST /api/v1/exemptions/<ref>/revoke    {"reason": ...}                       registers:write

The acting party is the API key (``apikey:<name>#<id>``); its scope, not a desk role, says what
it may do. The app reads and writes the register only; it evaluates nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from pydantic import ValidationError

from engine.registers import store
from engine.registers.actors import api_actor
from engine.registers.model import RegisterEntry

registers_api_bp = Blueprint("registers_api", __name__, url_prefix="/api/v1/exemptions")


def _error(status: int, message: str, **extra: Any) -> tuple[Response, int]:
    return jsonify({"error": message, **extra}), status


def _actor() -> str:
    key = g.api_key
    return api_actor(key.name, key.id)


def _body() -> Any:
    body = request.get_json(silent=True)
    return body


@registers_api_bp.post("")
def create() -> tuple[Response, int]:
    body = _body()
    if not isinstance(body, dict):
        return _error(400, "the body must be one JSON object (a register entry)")
    try:
        entry = RegisterEntry.model_validate(body)
    except ValidationError as exc:
        errors = [
            {
                "pointer": "/" + "/".join(str(p) for p in e["loc"]),
                "message": e["msg"].removeprefix("Value error, "),
            }
            for e in exc.errors(include_url=False)
        ]
        return _error(422, "invalid register entry", errors=errors)
    try:
        stored = store.add(entry, _actor())
    except store.RegisterError as exc:
        return _error(exc.status, exc.message)
    return jsonify(stored.to_json()), 201


@registers_api_bp.get("")
def index() -> tuple[Response, int]:
    rows = store.entries(
        status=request.args.get("status") or None,
        kind=request.args.get("kind") or None,
        regime=request.args.get("regime") or None,
    )
    return jsonify(
        {"version": store.current_version(), "entries": [r.to_json() for r in rows]}
    ), 200


@registers_api_bp.get("/<path:ref>")
def show(ref: str) -> tuple[Response, int]:
    version = request.args.get("version")
    try:
        if version is not None:
            if not version.isdigit():
                return _error(400, "version must be a whole number")
            found = store.snapshot(int(version)).get(ref)
        else:
            found = store.get(ref)
    except store.RegisterError as exc:
        return _error(exc.status, exc.message)
    if found is None:
        return _error(404, f"no register entry {ref!r}")
    body = found.to_json()
    body["history"] = [c.to_json() for c in store.history(ref)]
    return jsonify(body), 200


@registers_api_bp.post("/<path:ref>/approve")
def approve(ref: str) -> tuple[Response, int]:
    body = _body() if request.data else {}
    note = body.get("note") if isinstance(body, dict) else None
    try:
        stored = store.approve(ref, _actor(), note if isinstance(note, str) else None)
    except store.RegisterError as exc:
        return _error(exc.status, exc.message)
    return jsonify(stored.to_json()), 200


@registers_api_bp.post("/<path:ref>/revoke")
def revoke(ref: str) -> tuple[Response, int]:
    body = _body()
    reason = body.get("reason") if isinstance(body, dict) else None
    if not isinstance(reason, str) or not reason.strip():
        return _error(422, 'a revocation needs {"reason": "..."}')
    try:
        stored = store.revoke(ref, _actor(), reason)
    except store.RegisterError as exc:
        return _error(exc.status, exc.message)
    return jsonify(stored.to_json()), 200
