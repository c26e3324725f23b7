"""The YAML / JSON import format of the registers (``rules/exemptions.yaml``).

``entries: [ {RegisterEntry fields} ]`` (or a bare list, or one mapping). Entries are imported
pending approval, like any other new entry; the file is no longer read by the evaluator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from engine.registers.model import RegisterEntry


class ImportFormatError(ValueError):
    pass


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors(include_url=False)
    )


def parse_entries(raw: Any, where: str = "input") -> list[RegisterEntry]:
    if isinstance(raw, dict) and "entries" in raw:
        raw = raw["entries"] or []
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise ImportFormatError(f"{where}: expected `entries:` with a list of entries")
    out: list[RegisterEntry] = []
    seen: set[str] = set()
    for n, item in enumerate(raw):
        try:
            entry = RegisterEntry.model_validate(item)
        except ValidationError as exc:
            raise ImportFormatError(f"{where}: entry {n + 1}: {_problems(exc)}") from exc
        if entry.ref in seen:
            raise ImportFormatError(f"{where}: duplicate ref {entry.ref!r}")
        seen.add(entry.ref)
        out.append(entry)
    return out


def parse_text(text: str, where: str = "input") -> list[RegisterEntry]:
    from engine.rules.loader import parse_yaml  # YAML 1.2-style booleans: NO is Norway

    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise ImportFormatError(f"{where}: YAML syntax: {exc}") from exc
    return parse_entries(raw or [], where)


def read_file(path: Path | str) -> list[RegisterEntry]:
    p = Path(path)
    return parse_text(p.read_text(encoding="utf-8"), str(p))
