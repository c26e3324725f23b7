"""Turn raw JSON into an Event, or into field-level errors addressed by JSON pointer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from engine.models.events import Event


class FieldError(BaseModel):
    pointer: str  # RFC 6901 JSON pointer into the submitted event, e.g. /shipment/goods/0/hs_code
    message: str
    type: str


def _pointer(loc: tuple[int | str, ...]) -> str:
    parts = []
    for p in loc:
        # pydantic adds union/validator tags (e.g. "function-after[...]"); they are not paths.
        if isinstance(p, str) and ("[" in p or p.startswith("function-")):
            continue
        parts.append(str(p).replace("~", "~0").replace("/", "~1"))
    return "/" + "/".join(parts) if parts else ""


def errors_of(exc: ValidationError) -> list[FieldError]:
    out = []
    for err in exc.errors(include_url=False):
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        out.append(FieldError(pointer=_pointer(tuple(err["loc"])), message=msg, type=err["type"]))
    return out


def validate_event(raw: Any, strict: bool = False) -> tuple[Event | None, list[FieldError]]:
    """Return (event, []) when usable, else (None, errors). Never raises on bad input.

    Default (tolerant): only an unusable envelope is an error; body problems are the event's
    data-quality findings (``event.quality``). ``strict`` (``Prefer: handling=strict``): any
    finding, interpretations included, is an error, as v1 was before the tolerant intake.
    """
    if not isinstance(raw, dict):
        return None, [
            FieldError(pointer="", message="an event must be a JSON object", type="type_error")
        ]
    try:
        event = Event.model_validate(raw)
    except ValidationError as exc:
        return None, errors_of(exc)
    if strict and event.quality:
        return None, [
            FieldError(
                pointer=f.pointer,
                message=f.message,
                type="missing" if f.unknown and f.value is None else "value_error",
            )
            for f in event.quality
        ]
    return event, []
