"""Hostile JSON on the ingest API (issue 9): every case answers JSON 4xx with a pointer to what
was wrong, never a 500 and never HTML; a bad item in a batch leaves its siblings accepted; what is
stored is exactly what was sent."""

from __future__ import annotations

import json

import pytest
import web_seed
from sqlalchemy import func, select

EVENTS = "/api/v1/events"


def _event(event_id: str, **extra: object) -> dict:
    return dict(web_seed.shipment(event_id), **extra)


def _post_text(api_client, text: str | bytes, ctype: str = "application/json"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return api_client.post(EVENTS, data=data, content_type=ctype)


def _stored(event_id: str) -> bool:
    from engine.storage.db import get_engine
    from engine.storage.tables import EventRow

    EVENTS_TABLE = EventRow.__table__
    with get_engine().connect() as conn:
        n = conn.scalar(
            select(func.count())
            .select_from(EVENTS_TABLE)
            .where(EVENTS_TABLE.c.event_id == event_id)
        )
    return bool(n)


def _assert_json_4xx(resp, status: int | tuple[int, ...] = (400, 422)) -> dict:
    statuses = (status,) if isinstance(status, int) else status
    assert resp.status_code in statuses, (resp.status_code, resp.get_data(as_text=True)[:500])
    assert resp.mimetype == "application/json", resp.mimetype
    return resp.get_json()


def _errors(body: dict) -> list[dict]:
    """The field errors of a single-event answer or of a body-level refusal."""
    return body.get("errors") or []


def _marked() -> str:
    ev = _event("hostile-1")
    ev["shipment"]["parties"][0]["name"] = "PARTY-NAME"
    ev["shipment"]["goods"][0]["quantity"] = 123456789
    return json.dumps(ev)


# Each case: the JSON text of one event with something hostile in it, the pointer we expect.
BASE = json.dumps(_event("hostile-1"))[:-1]  # the event object, open for one more member
CASES = {
    "lone surrogate in an extra field": (BASE + ', "note": "\\udfff"}', "/note", "surrogate"),
    "lone high surrogate in a party name": (
        _marked().replace('"PARTY-NAME"', '"\\ud800 Trading"'),
        "/shipment/parties/0/name",
        "surrogate",
    ),
    "lone surrogate in a key": (BASE + ', "k\\udc00": 1}', "/k\\udc00", "surrogate"),
    "NaN": (BASE + ', "x": NaN}', "/x", "json_number"),
    "Infinity": (BASE + ', "x": {"y": [1, Infinity]}}', "/x/y/1", "json_number"),
    "-Infinity": (BASE + ', "x": -Infinity}', "/x", "json_number"),
    "1e400": (BASE + ', "x": 1e400}', "/x", "json_number"),
    "-1e400 as a quantity": (
        _marked().replace("123456789", "-1e400"),
        "/shipment/goods/0/quantity",
        "json_number",
    ),
    "integer of 4,301 digits": (BASE + ', "x": ' + "9" * 4301 + "}", "/x", "json_number"),
    "NUL escape": (BASE + ', "x": "a\\u0000b"}', "/x", "nul_char"),
    "nested 100 levels": (
        BASE + ', "x": ' + "[" * 100 + "]" * 100 + "}",
        "/x" + "/0" * 63,
        "json_depth",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_value_is_a_422_with_its_pointer(api_client, case: str) -> None:
    text, pointer, kind = CASES[case]
    resp = _post_text(api_client, text)
    body = _assert_json_4xx(resp, 422)
    found = [(e["pointer"], e["type"]) for e in _errors(body)]
    assert (pointer, kind) in found, found
    assert not _stored("hostile-1")


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_item_in_a_batch_leaves_its_siblings_accepted(api_client, case: str) -> None:
    text, pointer, kind = CASES[case]
    good = json.dumps(_event("sibling-1"))
    for ctype, body_text in (
        ("application/json", f"[{good}, {text}]"),
        ("application/x-ndjson", f"{good}\n{text}\n"),
    ):
        resp = _post_text(api_client, body_text, ctype)
        assert resp.status_code == 202 and resp.mimetype == "application/json", resp.status_code
        results = resp.get_json()["results"]
        assert results[0]["status"] in ("accepted", "duplicate")
        assert results[1]["status"] == "invalid"
        assert (pointer, kind) in [(e["pointer"], e["type"]) for e in results[1]["errors"]]
    assert _stored("sibling-1") and not _stored("hostile-1")


def test_a_hostile_item_is_kept_in_rejections(api_client) -> None:
    from engine.storage.db import get_engine
    from engine.storage.tables import RejectionRow

    REJECTIONS = RejectionRow.__table__

    for case in ("lone surrogate in an extra field", "NaN", "NUL escape"):
        assert _post_text(api_client, CASES[case][0]).status_code == 422
    with get_engine().connect() as conn:
        rows = conn.execute(select(REJECTIONS.c.raw, REJECTIONS.c.errors)).all()
    assert len(rows) == 3
    assert any("\\udfff" in raw for raw, _ in rows)  # visible, not lost
    assert all(errors and errors[0]["pointer"] for _, errors in rows)


def test_nesting_past_the_parser_is_a_400_not_a_500(api_client) -> None:
    for depth in (990, 5000, 100_000):
        body = _assert_json_4xx(_post_text(api_client, "[" * depth + "]" * depth), 400)
        assert [e["type"] for e in body["errors"]] == ["json_depth"], body
        assert "pointer" in body["errors"][0]
    ndjson = "[" * 5000 + "]" * 5000 + "\n" + json.dumps(_event("after-deep")) + "\n"
    resp = _post_text(api_client, ndjson, "application/x-ndjson")
    assert resp.status_code == 202
    first, second = resp.get_json()["results"]
    assert first["status"] == "invalid" and first["errors"][0]["type"] == "json_depth"
    assert second["status"] == "accepted" and _stored("after-deep")


def test_nesting_up_to_the_limit_is_accepted(api_client) -> None:
    from engine.pipeline.strict_json import MAX_DEPTH

    deep = MAX_DEPTH - 1  # the event object is level 0
    resp = _post_text(api_client, BASE + ', "x": ' + "[" * deep + "]" * deep + "}")
    assert resp.status_code == 202, resp.get_json()


def test_integer_of_4300_digits_is_kept_as_sent(api_client) -> None:
    big = "7" * 4300
    assert _post_text(api_client, BASE + f', "x": {big}' + "}").status_code == 202
    stored = api_client.get(f"{EVENTS}/hostile-1").get_json()
    assert str(stored["event"]["x"]) == big


@pytest.mark.parametrize(
    "occurred_at",
    ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"],
)
def test_occurred_at_outside_the_utc_year_range(api_client, occurred_at: str) -> None:
    resp = api_client.post(EVENTS, json=dict(_event("hostile-1"), occurred_at=occurred_at))
    body = _assert_json_4xx(resp, 422)
    assert "/occurred_at" in [e["pointer"] for e in _errors(body)], body


@pytest.mark.parametrize("occurred_at", [1694066400, 1694066400.5, "1694066400"])
def test_occurred_at_must_be_rfc3339(api_client, occurred_at: object) -> None:
    resp = api_client.post(EVENTS, json=dict(_event("hostile-1"), occurred_at=occurred_at))
    body = _assert_json_4xx(resp, 422)
    assert "/occurred_at" in [e["pointer"] for e in _errors(body)], body


@pytest.mark.parametrize("occurred_at", ["2023-09-07", "2023-09-07T06:00"])
def test_occurred_at_without_offset_is_read_as_utc_unless_strict(
    api_client, occurred_at: str
) -> None:
    """Issue 8: a source that knows only the day (or no offset) is read as UTC with a finding;
    ``Prefer: handling=strict`` still refuses it."""
    raw = dict(_event("hostile-1"), occurred_at=occurred_at)
    strict = api_client.post(EVENTS, json=raw, headers={"Prefer": "handling=strict"})
    body = _assert_json_4xx(strict, 422)
    assert "/occurred_at" in [e["pointer"] for e in _errors(body)], body
    resp = api_client.post(EVENTS, json=raw)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    found = [f for f in resp.get_json()["data_quality"] if f["pointer"] == "/occurred_at"]
    assert found and found[0]["assumed"].startswith(f'interpreted "{occurred_at}" as 2023-09-07T')


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x1c", "\x1d", "\x1e"])
def test_ndjson_splits_on_newline_only(api_client, separator: str) -> None:
    """str.splitlines() also splits on these; inside a JSON string U+2028/2029/0085 are text."""
    one = _event("ndjson-1", note=f"before{separator}after")
    two = _event("ndjson-2")
    text = json.dumps(one, ensure_ascii=False) + "\r\n" + json.dumps(two) + "\n"
    assert separator in text or f"\\u{ord(separator):04x}" in text  # as the sender wrote it
    resp = _post_text(api_client, text, "application/x-ndjson")
    assert resp.status_code == 202, resp.get_json()
    assert [r["status"] for r in resp.get_json()["results"]] == ["accepted", "accepted"]
    stored = api_client.get(f"{EVENTS}/ndjson-1").get_json()
    assert stored["event"]["note"] == one["note"]


@pytest.mark.parametrize(
    "raw",
    [b"\xff", b"\xc3\x28", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xc0\xaf"],
    ids=["ff", "bad-continuation", "encoded-surrogate", "beyond-U+10FFFF", "overlong"],
)
def test_invalid_utf8_is_refused_not_replaced(api_client, raw: bytes) -> None:
    text = json.dumps(_event("hostile-1", note="PLACEHOLDER"))
    data = text.encode("utf-8").replace(b"PLACEHOLDER", b"bad" + raw + b"byte")
    for ctype in ("application/json", "application/x-ndjson"):
        body = _assert_json_4xx(api_client.post(EVENTS, data=data, content_type=ctype), 400)
        assert body["errors"][0]["type"] == "utf8_invalid" and "pointer" in body["errors"][0]
    assert not _stored("hostile-1")


def test_the_six_characters_backslash_u0000_are_text(api_client) -> None:
    event = _event("hostile-1", note="C:\\u0000\\path")  # a backslash, then u0000
    resp = api_client.post(EVENTS, json=event)
    assert resp.status_code == 202, resp.get_json()
    stored = api_client.get(f"{EVENTS}/hostile-1").get_json()
    assert stored["event"]["note"] == "C:\\u0000\\path" and "\x00" not in stored["event"]["note"]


def test_stored_raw_event_is_what_was_sent(api_client) -> None:
    from engine.storage.db import get_engine
    from engine.storage.tables import EventRow

    EVENTS_TABLE = EventRow.__table__
    event = _event("hostile-1", note="Ünïcödé \u2028 😀 \\u0000 text")
    assert api_client.post(EVENTS, json=event).status_code == 202
    with get_engine().connect() as conn:
        raw = conn.scalar(select(EVENTS_TABLE.c.raw).where(EVENTS_TABLE.c.event_id == "hostile-1"))
    raw = json.loads(raw) if isinstance(raw, str) else raw
    assert raw["note"] == event["note"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/nope"), ("PUT", EVENTS), ("DELETE", EVENTS), ("GET", EVENTS)],
)
def test_api_errors_are_json_never_html(api_client, method: str, path: str) -> None:
    resp = api_client.client.open(path, method=method, headers=api_client.headers)
    assert 400 <= resp.status_code < 500 and resp.mimetype == "application/json", (
        resp.status_code,
        resp.mimetype,
    )


def test_too_large_body_is_a_json_413(db, broker_url) -> None:
    from conftest import make_api_client

    client = make_api_client({"MAX_CONTENT_LENGTH": 1000})
    resp = client.post(EVENTS, data=b"[" + b" " * 2000 + b"]", content_type="application/json")
    _assert_json_4xx(resp, 413)


@pytest.mark.parametrize(
    "body",
    [b'{"ref": NaN}', b'{"ref": "\\udfff"}', b"[" * 5000 + b"]" * 5000, b'{"ref": "\xff"}'],
    ids=["nan", "surrogate", "deep", "utf8"],
)
def test_other_json_endpoints_parse_strictly_too(db, broker_url, body: bytes) -> None:
    """Views reading request.get_json() (the registers API) get the same strict parser."""
    from conftest import make_api_client

    from engine.storage.desk_tables import API_SCOPES
    from web.auth.apikeys import create_api_key

    client = make_api_client()
    _row, key = create_api_key("registers", list(API_SCOPES), actor="pytest")
    resp = client.post(
        "/api/v1/exemptions",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    _assert_json_4xx(resp, 400)
