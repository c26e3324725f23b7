"""Flask's JSON, parsed as strictly as the ingest API (engine.pipeline.strict_json) for every view that
reads ``request.get_json()`` (the registers API, forms posting JSON): NaN, Infinity, huge
integers, lone surrogates, NUL and deep nesting are a 400, never a 500 or a value no database
takes. Responses are written as before."""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider

from engine.pipeline import strict_json


class StrictJSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        text = strict_json.decode_utf8(s) if isinstance(s, bytes) else s
        value, clean = strict_json.loads(text)  # JsonInputError is a ValueError: a 400
        if not clean or not isinstance(s, bytes):
            problems = strict_json.problems(value)
            if problems:
                first = problems[0]
                raise strict_json.JsonInputError(
                    f"{first['pointer'] or '/'}: {first['message']}",
                    first["type"],
                    first["pointer"],
                )
        return value
