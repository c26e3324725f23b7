"""docs/event-contract-v1.md: every example in the doc, taken verbatim, gets the decision the doc
states for it.

Each example is the body of a ``curl ... <<'EOF'`` block; the line ``Decision: ...`` under it is
the expectation (written in the doc, never computed here). Posted through the real HTTP API and
decided by the worker's task (eager Celery, real database, the process-wide evaluator), then read
back with ``GET /api/v1/events/<id>``.
"""

from __future__ import annotations

import json
import re
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.models.events import Entity, EventType, VesselMovement

DOC = Path(__file__).resolve().parents[2] / "docs" / "event-contract-v1.md"
BLOCK = re.compile(r"```sh\n(curl [^\n]*(?:\\\n[^\n]*)*<<'EOF'\n)(.*?)\nEOF\n```", re.S)
DECISION = re.compile(r"^Decision: (clear|flagged)(?: by ([^;.]+))?(; needs information)?"
                      r"(?:; findings at ([^.]+))?\.$")  # fmt: skip


@dataclass
class Example:
    title: str
    curl: str
    event: dict
    status: str
    rules: list[str]
    needs_information: bool
    findings: list[str]


def doc_examples(text: str) -> list[Example]:
    out = []
    for m in BLOCK.finditer(text):
        title = re.findall(r"^### (.+)$", text[: m.start()], re.M)[-1]
        after = text[m.end() :].lstrip("\n").split("\n", 1)[0]
        d = DECISION.match(after)
        assert d is not None, f"{title}: no 'Decision: ...' line under the example: {after!r}"
        out.append(
            Example(
                title,
                m[1],
                json.loads(m[2]),
                d[1],
                [r.strip() for r in (d[2] or "").split(",") if r.strip()],
                bool(d[3]),
                [p.strip() for p in (d[4] or "").split(",") if p.strip()],
            )
        )
    return out


EXAMPLES = doc_examples(DOC.read_text(encoding="utf-8"))


def test_the_doc_has_an_example_per_event_type_and_kind() -> None:
    def kind(e: dict) -> tuple[str, str | None]:
        body = e[e["event_type"]]
        sub = {"entity": "action", "vessel_movement": "kind"}.get(e["event_type"])
        return e["event_type"], body.get(sub) if sub else None

    def values(annotation: object) -> set[str]:  # the strings of an Optional[Literal[...]]
        out: set[str] = set()
        for arg in typing.get_args(annotation):
            out |= {a for a in typing.get_args(arg) if isinstance(a, str)}
        return out

    wanted: set[tuple[str, str | None]] = {("shipment", None)}
    wanted |= {("entity", a) for a in values(Entity.model_fields["action"].annotation)}
    wanted |= {
        ("vessel_movement", k) for k in values(VesselMovement.model_fields["kind"].annotation)
    }
    assert {("entity", "onboard"), ("vessel_movement", "port_call")} <= wanted
    assert {t for t, _ in wanted} == {t.value for t in EventType}
    assert wanted <= {kind(x.event) for x in EXAMPLES}
    ids = [x.event["event_id"] for x in EXAMPLES]
    assert len(ids) == len(set(ids))


def test_every_event_in_the_doc_is_a_checked_example() -> None:
    """No JSON event elsewhere in the doc escapes the check below."""
    text = BLOCK.sub("", DOC.read_text(encoding="utf-8"))
    assert '"event_id"' not in text


@pytest.mark.parametrize("example", EXAMPLES, ids=[x.title for x in EXAMPLES])
def test_a_doc_example_gets_the_decision_the_doc_states(example: Example, api_client) -> None:
    from engine.pipeline.tasks import evaluate_events

    assert "/api/v1/events" in example.curl and "-X POST" in example.curl
    r = api_client.post("/api/v1/events", json=example.event)
    assert r.status_code == 202, r.get_data(as_text=True)
    assert r.json["status"] == "accepted"
    event_id = example.event["event_id"]
    assert evaluate_events.apply(args=[[event_id]]).get() == 1
    decision = api_client.get(f"/api/v1/events/{event_id}").json["decision"]
    fired = {v["rule_id"]: v for v in decision["violations"]}
    assert decision["status"] == example.status, sorted(fired)
    assert set(example.rules) <= fired.keys(), sorted(fired)
    assert decision["needs_information"] is example.needs_information
    for rule in example.rules:
        assert fired[rule]["needs_information"] is example.needs_information, fired[rule]
    assert sorted(f["pointer"] for f in decision["data_quality"]) == sorted(example.findings)
