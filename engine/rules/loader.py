"""Load the rule pack: every rule file under rules/<regime>/ and the designated-vessel register.

Layout (rules/README.md §1): rule files are ``rules/<dir>/**/<ID>.yaml`` for any first-level
directory except ``data/`` and ``vessels/``; ``rules/vessels/designated-vessels.yaml`` is the 1718
designated-vessel register. The pack version is the sha256 of the sorted relative paths and texts
of exactly those files, so a stored pack (path -> text) can be rebuilt bit for bit for a replay.

The exemption / notification registers are no longer part of the pack: officers keep them in the
store (engine.registers), versioned on their own, and ``rules/exemptions.yaml`` is an import
format. Packs stored before that still hold ``exemptions.yaml``: it is parsed into
``RulePack.register`` so their decisions replay as they were.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from pydantic import ValidationError

from engine.rules.exemptions import ExemptionRegister
from engine.rules.schema import ExemptionRegisterFile, Rule
from engine.screening.vessels import VesselRegister
from engine.screening.vessels import parse_register as parse_vessel_register

DATA_DIRS = frozenset({"data", "vessels"})
REGISTER_PATH = "exemptions.yaml"
VESSELS_PATH = "vessels/designated-vessels.yaml"


# libyaml's parser where it is built (it is, in PyYAML's wheels): pure-Python parsing of the ~390
# pack files took 10-20 s of every worker's start on a loaded box, ~1 s with libyaml.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _YamlLoader(_BaseLoader):
    """SafeLoader without YAML 1.1 yes/no/on/off booleans (``NO`` is Norway, not False)."""


_YamlLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_YamlLoader)


class RuleFileError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class RulePackError(ValueError):
    def __init__(self, errors: list[RuleFileError]) -> None:
        super().__init__("invalid rule pack:\n" + "\n".join(str(e) for e in errors))
        self.errors = errors


def _format(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def is_rule_path(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    return len(parts) >= 2 and parts[0] not in DATA_DIRS and rel.endswith(".yaml")


def parse_rule(path: str, text: str) -> Rule:
    """One rule file -> Rule, or RuleFileError with a readable message."""
    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise RuleFileError(path, f"YAML syntax: {exc}") from exc
    if not isinstance(raw, dict):
        raise RuleFileError(path, "a rule file holds one mapping (id, regime, title, ...)")
    try:
        rule = Rule.model_validate(raw, context={"strict_events": True})  # examples: valid v1
    except ValidationError as exc:
        raise RuleFileError(path, _format(exc)) from exc
    stem = PurePosixPath(path).name.removesuffix(".yaml")
    if stem != rule.id:
        raise RuleFileError(path, f"file name {stem!r} must equal the rule id {rule.id!r}")
    return rule


def parse_register(text: str, path: str = REGISTER_PATH) -> ExemptionRegister:
    try:
        raw = parse_yaml(text) or {}
        if isinstance(raw, list):
            raw = {"entries": raw}
        return ExemptionRegister(ExemptionRegisterFile.model_validate(raw).entries)
    except yaml.YAMLError as exc:
        raise RuleFileError(path, f"YAML syntax: {exc}") from exc
    except ValidationError as exc:
        raise RuleFileError(path, _format(exc)) from exc
    except ValueError as exc:
        raise RuleFileError(path, str(exc)) from exc


def parse_vessels(text: str, path: str = VESSELS_PATH) -> VesselRegister:
    """The designated-vessel register, or RuleFileError with a readable message."""
    try:
        return parse_vessel_register(text)
    except yaml.YAMLError as exc:
        raise RuleFileError(path, f"YAML syntax: {exc}") from exc
    except ValidationError as exc:
        raise RuleFileError(path, _format(exc)) from exc
    except (KeyError, TypeError) as exc:
        raise RuleFileError(
            path, f"designated-vessel register: missing or malformed {exc}"
        ) from exc


def pack_version(files: Mapping[str, str]) -> str:
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.encode() + b"\0" + files[path].encode("utf-8") + b"\0")
    return h.hexdigest()


@dataclass(frozen=True)
class RulePack:
    version: str
    rules: tuple[Rule, ...]
    files: dict[str, str] = field(repr=False)  # relative path -> exact text
    register: ExemptionRegister = field(repr=False, default_factory=ExemptionRegister)
    vessels: VesselRegister | None = field(repr=False, default=None)  # None: the pack has none

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    @property
    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}


def pack_paths(rules_dir: Path) -> list[tuple[Path, str]]:
    """(path, relative posix path) of the files the pack is made of, selected by name only
    (callers check that each is a regular file: the page cache with the one stat it takes
    anyway): rule files and the designated-vessel register. The one definition of what the pack
    version covers (not rules/exemptions.yaml: the registers live in the store)."""
    root = Path(rules_dir)
    out = []
    for p in sorted(root.glob("*/**/*.yaml")):
        rel = p.relative_to(root).as_posix()
        if is_rule_path(rel) or rel == VESSELS_PATH:
            out.append((p, rel))
    return out


def read_files(rules_dir: Path) -> dict[str, str]:
    """The pack's files (relative posix path -> text): rule files and the vessel register."""
    return {rel: p.read_text(encoding="utf-8") for p, rel in pack_paths(rules_dir) if p.is_file()}


def pack_from_files(files: Mapping[str, str]) -> RulePack:
    """Build (and fully validate) a pack from path -> text; raises RulePackError listing every problem."""
    errors: list[RuleFileError] = []
    rules: list[Rule] = []
    register = ExemptionRegister()
    vessels: VesselRegister | None = None
    for path in sorted(files):
        if path == VESSELS_PATH:
            try:
                vessels = parse_vessels(files[path], path)
            except RuleFileError as exc:
                errors.append(exc)
            continue
        if path == REGISTER_PATH:
            try:
                register = parse_register(files[path], path)
            except RuleFileError as exc:
                errors.append(exc)
            continue
        if not is_rule_path(path):
            errors.append(RuleFileError(path, "not a rule file location (rules/<regime>/...)"))
            continue
        try:
            rules.append(parse_rule(path, files[path]))
        except RuleFileError as exc:
            errors.append(exc)
    seen: dict[str, str] = {}
    keys: dict[str, str] = {}
    for r in rules:
        if r.id in seen:
            errors.append(RuleFileError(r.id, f"duplicate rule id (also in {seen[r.id]})"))
        if r.key in keys and keys[r.key] != r.id:
            errors.append(RuleFileError(r.id, f"id too similar to {keys[r.key]} (same field key)"))
        seen[r.id] = r.id
        keys[r.key] = r.id
    if errors:
        raise RulePackError(errors)
    return RulePack(
        version=pack_version(files),
        rules=tuple(rules),
        files=dict(files),
        register=register,
        vessels=vessels,
    )


def load_pack(rules_dir: Path | str | None = None) -> RulePack:
    if rules_dir is None:
        from engine.config import get_settings

        rules_dir = get_settings().rules_dir
    return pack_from_files(read_files(Path(rules_dir)))
