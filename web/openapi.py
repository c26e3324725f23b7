"""The OpenAPI 3.1 document of the JSON API (``GET /api/v1/openapi.json``, public).

The event schema is not written here: it is the JSON Schema the validator publishes
(``engine.models.events.json_schema``, generated from the pydantic models that validate every
event, with their constraints), moved under ``components/schemas``. So the document follows every
change of the contract, and a body valid against it is a body the API accepts (tests/
test_api_openapi.py runs schemathesis against it).
"""

from __future__ import annotations

import copy
from typing import Any

from engine.models.events import CONTRACT_VERSION, json_schema
from engine.pipeline.ingest import MAX_BATCH
from engine.pipeline.strict_json import MAX_DEPTH, MAX_INT_DIGITS

_REF_PREFIX = "#/$defs/"
_COMPONENTS = "#/components/schemas/"


def _rehome(node: Any) -> Any:
    """Rewrite JSON Schema ``$defs`` references to their place in the OpenAPI document."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF_PREFIX):
                out[key] = _COMPONENTS + value[len(_REF_PREFIX) :]
            else:
                out[key] = _rehome(value)
        return out
    if isinstance(node, list):
        return [_rehome(v) for v in node]
    return node


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": _json({"$ref": _COMPONENTS + "Error"})}


def _components() -> dict[str, Any]:
    event = copy.deepcopy(json_schema())
    defs = event.pop("$defs", {})
    event.pop("$id", None)
    schemas = {name: _rehome(schema) for name, schema in defs.items()}
    schemas["Event"] = _rehome(event)
    from engine.registers.model import RegisterEntry

    entry = RegisterEntry.model_json_schema(ref_template=_COMPONENTS + "{model}")
    for name, schema in entry.pop("$defs", {}).items():
        schemas.setdefault(name if name not in schemas else f"Register{name}", schema)
    schemas["RegisterEntry"] = entry
    field_error = {
        "type": "object",
        "required": ["pointer", "message", "type"],
        "properties": {
            "pointer": {"type": "string", "description": "RFC 6901 JSON pointer into the event"},
            "message": {"type": "string"},
            "type": {"type": "string"},
        },
    }
    schemas["FieldError"] = field_error
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "errors": {"type": "array", "items": {"$ref": _COMPONENTS + "FieldError"}},
        },
    }
    schemas["ItemResult"] = {
        "type": "object",
        "required": ["index", "status"],
        "properties": {
            "index": {"type": "integer"},
            "event_id": {"type": ["string", "null"]},
            "status": {"enum": ["accepted", "duplicate", "conflict", "invalid"]},
            "state": {"type": ["string", "null"]},
            "received_at": {"type": ["string", "null"], "format": "date-time"},
            "sha256": {"type": ["string", "null"]},
            "queued": {"type": ["boolean", "null"]},
            "errors": {"type": "array", "items": {"$ref": _COMPONENTS + "FieldError"}},
            "data_quality": {
                "type": "array",
                "items": {"$ref": _COMPONENTS + "DataQualityFinding"},
            },
        },
    }
    schemas["DataQualityFinding"] = {
        "type": "object",
        "description": "a value the intake could not read (unknown: true, treated as unknown by "
        'every rule) or read by interpretation (assumed: interpreted "tonnes" as t)',
        "required": ["pointer", "message", "assumed"],
        "properties": {
            "pointer": {"type": "string", "description": "RFC 6901 JSON pointer into the event"},
            "message": {"type": "string"},
            "assumed": {"type": "string"},
            "unknown": {"type": "boolean"},
            "value": {"description": "the value as reported (null when missing)"},
        },
    }
    schemas["StoredDecision"] = {
        "type": "object",
        "required": ["status", "violations", "data_quality", "needs_information"],
        "properties": {
            "status": {"enum": ["clear", "flagged", "rejected"]},
            "violations": {"type": "array", "items": {"type": "object"}},
            "reasons": {"type": "array", "items": {"type": "string"}},
            "data_quality": {
                "type": "array",
                "items": {"$ref": _COMPONENTS + "DataQualityFinding"},
            },
            "needs_information": {
                "type": "boolean",
                "description": "some violation rests on a value the event left unknown",
            },
            "rule_pack_version": {"type": ["string", "null"]},
            "list_version": {"type": ["string", "null"]},
            "register_version": {"type": ["integer", "null"]},
            "register_notes": {"type": "array", "items": {"type": "string"}},
            "engine_version": {"type": "string"},
            "evaluated_at": {"type": "string", "format": "date-time"},
        },
    }
    schemas["StoredEvent"] = {
        "type": "object",
        "required": ["event_id", "status", "event", "decision", "alerts"],
        "properties": {
            "event_id": {"type": "string"},
            "event_type": {"type": "string"},
            "source": {"type": "string"},
            "status": {"enum": ["received", "decided", "rejected"]},
            "occurred_at": {"type": "string", "format": "date-time"},
            "received_at": {"type": "string", "format": "date-time"},
            "sha256": {"type": "string"},
            "event": {"type": "object", "description": "the JSON as received"},
            "decision": {
                "anyOf": [{"$ref": _COMPONENTS + "StoredDecision"}, {"type": "null"}],
                "description": "null while pending",
            },
            "alerts": {"type": "array", "items": {"type": "object"}},
        },
    }
    schemas["BatchResult"] = {
        "type": "object",
        "required": ["summary", "results"],
        "properties": {
            "summary": {"type": "object", "additionalProperties": {"type": "integer"}},
            "results": {"type": "array", "items": {"$ref": _COMPONENTS + "ItemResult"}},
        },
    }
    return schemas


def _register_paths(security: list[dict[str, list[str]]]) -> dict[str, Any]:
    """The exemption / notification registers (web/registers_api.py)."""
    ref = {
        "name": "ref",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    }
    entry = {"$ref": _COMPONENTS + "RegisterEntry"}
    answer = {"description": "the entry", "content": _json({"type": "object"})}
    refusals = {
        "400": _error_response("not a JSON object"),
        "401": _error_response("no, unknown or revoked API key"),
        "403": _error_response("the key lacks the registers scope"),
        "404": _error_response("no such entry"),
        "409": _error_response("the entry's state does not allow this"),
        "422": _error_response("invalid: errors with a pointer per field"),
    }
    return {
        "/api/v1/exemptions": {
            "get": {
                "operationId": "listRegisterEntries",
                "security": security,
                "parameters": [
                    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                    for name in ("status", "kind", "regime")
                ],
                "responses": {"200": answer, **refusals},
            },
            "post": {
                "operationId": "addRegisterEntry",
                "security": security,
                "requestBody": {"required": True, "content": _json(entry)},
                "responses": {"201": answer, **refusals},
            },
        },
        "/api/v1/exemptions/{ref}": {
            "get": {
                "operationId": "getRegisterEntry",
                "security": security,
                "parameters": [
                    ref,
                    {
                        "name": "version",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0},
                    },
                ],
                "responses": {"200": answer, **refusals},
            }
        },
        "/api/v1/exemptions/{ref}/approve": {
            "post": {
                "operationId": "approveRegisterEntry",
                "security": security,
                "parameters": [ref],
                "requestBody": {
                    "required": False,
                    "content": _json(
                        {"type": "object", "properties": {"note": {"type": "string"}}}
                    ),
                },
                "responses": {"200": answer, **refusals},
            }
        },
        "/api/v1/exemptions/{ref}/revoke": {
            "post": {
                "operationId": "revokeRegisterEntry",
                "security": security,
                "parameters": [ref],
                "requestBody": {
                    "required": True,
                    "content": _json(
                        {
                            "type": "object",
                            "required": ["reason"],
                            "properties": {"reason": {"type": "string", "pattern": r"\S"}},
                        }
                    ),
                },
                "responses": {"200": answer, **refusals},
            }
        },
    }


def openapi_document() -> dict[str, Any]:
    event_ref = {"$ref": _COMPONENTS + "Event"}
    key_auth: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Sanctions engine ingest API",
            "version": CONTRACT_VERSION,
            "description": (
                "Event contract v1 (docs/event-contract-v1.md). JSON is parsed strictly: no NaN "
                f"or Infinity, integers of at most {MAX_INT_DIGITS} digits, no lone surrogates "
                f"or NUL, at most {MAX_DEPTH} levels of nesting inside an event, UTF-8 only."
            ),
        },
        "paths": {
            "/api/v1/events": {
                "post": {
                    "operationId": "postEvents",
                    "summary": f"Push one event, an array of up to {MAX_BATCH}, or NDJSON",
                    "security": key_auth,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        event_ref,
                                        {
                                            "type": "array",
                                            "items": event_ref,
                                            "minItems": 1,
                                            "maxItems": MAX_BATCH,
                                        },
                                    ]
                                }
                            },
                            "application/x-ndjson": {
                                "schema": {"type": "string", "description": "one event per line"}
                            },
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "stored (a batch: at least one item stored)",
                            "content": _json(
                                {
                                    "oneOf": [
                                        {"$ref": _COMPONENTS + "ItemResult"},
                                        {"$ref": _COMPONENTS + "BatchResult"},
                                    ]
                                }
                            ),
                        },
                        "400": _error_response("body not UTF-8, not JSON, or empty"),
                        "401": _error_response("no, unknown or revoked API key"),
                        "403": _error_response("the key lacks events:write"),
                        "409": _error_response("another body is stored under this event_id"),
                        "413": _error_response(f"more than {MAX_BATCH} events, or too large"),
                        "415": _error_response("not JSON or NDJSON"),
                        "422": _error_response("invalid: errors with a pointer per field"),
                        "503": _error_response("the store is unavailable: retry later"),
                    },
                }
            },
            "/api/v1/ais": {
                "post": {
                    "operationId": "postAis",
                    "summary": "Push raw AIS: NMEA AIVDM/AIVDO lines or decoded AIS JSON (docs/AIS.md)",
                    "security": key_auth,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "text/plain": {"schema": {"type": "string", "minLength": 1}},
                            "application/x-ndjson": {"schema": {"type": "string", "minLength": 1}},
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "stored as a raw batch (and queued for derivation)",
                            "content": _json(
                                {
                                    "type": "object",
                                    "required": ["batch_id", "status", "lines"],
                                    "properties": {
                                        "batch_id": {"type": "string"},
                                        "status": {"enum": ["accepted", "duplicate"]},
                                        "state": {"type": "string"},
                                        "lines": {"type": "integer"},
                                        "queued": {"type": ["boolean", "null"]},
                                    },
                                }
                            ),
                        },
                        "400": _error_response("body not UTF-8, or empty"),
                        "401": _error_response("no, unknown or revoked API key"),
                        "403": _error_response("the key lacks events:write"),
                        "413": _error_response("too many lines, or too large"),
                        "503": _error_response("the store is unavailable: retry later"),
                    },
                }
            },
            "/api/v1/events/{event_id}": {
                "get": {
                    "operationId": "getEvent",
                    "summary": "A stored event, its decision and alerts",
                    "security": key_auth,
                    "parameters": [
                        {
                            "name": "event_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "the event, its decision (null while pending, with "
                            "its data-quality findings and needs_information), alerts",
                            "content": _json({"$ref": _COMPONENTS + "StoredEvent"}),
                        },
                        "401": _error_response("no, unknown or revoked API key"),
                        "403": _error_response("the key lacks events:read"),
                        "404": _error_response("no such event"),
                    },
                }
            },
            **_register_paths(key_auth),
            "/api/v1/schema": {
                "get": {
                    "operationId": "getSchema",
                    "summary": "The JSON Schema of event contract v1",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "JSON Schema 2020-12",
                            "content": {"application/schema+json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {"description": "OpenAPI 3.1", "content": _json({"type": "object"})}
                    },
                }
            },
        },
        "components": {
            "schemas": _components(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "an API key sk_..."},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }
