"""The OpenAPI 3.1 document of the whole API, and schemathesis against it: no request, valid or
invalid by the document, gets a 5xx, and every answer is JSON (issue 9, "a fuzz test of the API
reports 0 responses of 5xx"). Runs on both databases like every test; the example counts are
bounded (SANCTIONS_FUZZ_EXAMPLES, default 40 per operation and mode) to keep the suite's time."""

from __future__ import annotations

import os
import re
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

EXAMPLES = int(os.environ.get("SANCTIONS_FUZZ_EXAMPLES", "40"))


@pytest.fixture
def app(db, broker_url):
    from web import create_app

    return create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False})


@pytest.fixture
def key(db) -> str:
    from engine.storage.desk_tables import API_SCOPES
    from web.auth.apikeys import create_api_key

    _row, key = create_api_key("fuzz", list(API_SCOPES), actor="pytest")
    return key


def test_openapi_document_covers_the_whole_api_and_its_event_schema(app) -> None:
    from engine.models.events import json_schema

    resp = app.test_client().get("/api/v1/openapi.json")  # public, no key
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == documented, served ^ documented
    # The event schema is the validator's own: same properties, required and constraints.
    event = doc["components"]["schemas"]["Event"]
    contract = json_schema()
    assert event["required"] == contract["required"]
    assert set(event["properties"]) == set(contract["properties"])
    place = doc["components"]["schemas"]["Place"]["properties"]["country"]
    assert "KP" in place["enum"] and "XX" not in place["enum"]
    hs = doc["components"]["schemas"]["Goods"]["properties"]["hs_code"]["anyOf"][0]["pattern"]
    assert hs and "#/$defs/" not in str(doc)


def _schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_fuzzing_the_api_gives_no_5xx(app, key: str, mode: GenerationMode) -> None:
    schema = _schema(app)
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 4
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case) -> None:
            response = case.call(headers={"Authorization": f"Bearer {key}"})
            statuses[response.status_code] += 1
            if os.environ.get("SANCTIONS_FUZZ_SHOW") and response.status_code == 422:
                print(case.formatted_path, response.text[:400])
            headers = {k.lower(): v for k, v in response.headers.items()}
            ctype = headers.get("content-type", [""])
            ctype = ctype[0] if isinstance(ctype, list) else ctype
            if response.status_code >= 500 or "json" not in ctype:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code} {ctype}: "
                    f"{response.text[:300]!r} body={str(case.body)[:300]!r}"
                )

        try:
            run()
        except Unsatisfiable:
            # nothing to vary (e.g. no parameters or body): no invalid request can be made
            assert mode is GenerationMode.NEGATIVE, operation.label
    print(f"{mode.value}: statuses {dict(sorted(statuses.items()))}")
    assert not failures, failures[:5]
    assert sum(statuses.values()) >= len(operations)
    if mode is GenerationMode.POSITIVE:
        # Schema-valid bodies are accepted: the document says what the validator checks.
        assert statuses[202] > 0, statuses
