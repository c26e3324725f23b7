"""One parsed list entry and one parsed list file, independent of storage.

Entries keep two views: the structured fields screening needs (names, aliases, identifiers) and a
flat ``fields`` map (XML path -> sorted values) that change reports compare, so an amendment of
any element is seen without a hand-kept list of what to compare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

EntryKind = Literal["individual", "entity"]


@dataclass(frozen=True, slots=True)
class Alias:
    name: str
    quality: str  # Good | Low (individuals), a.k.a. | f.k.a. (entities), or "" when not given


@dataclass(frozen=True, slots=True)
class Identifier:
    kind: str  # bic | imo_company | passport | national_id
    value: str  # normalised: upper case, no spaces
    source: str  # where it was found, e.g. COMMENTS1 or INDIVIDUAL_DOCUMENT


@dataclass(frozen=True, slots=True)
class ListEntry:
    dataid: str
    reference: str
    regime: str  # UN_LIST_TYPE text: DPRK, Iran, Al-Qaida, ...
    kind: EntryKind
    name: str
    listed_on: date | None
    aliases: tuple[Alias, ...] = ()
    original_script: str | None = None
    identifiers: tuple[Identifier, ...] = ()
    nationality: tuple[str, ...] = ()
    comments: str = ""
    fields: dict[str, list[str]] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataid": self.dataid,
            "reference": self.reference,
            "regime": self.regime,
            "kind": self.kind,
            "name": self.name,
            "listed_on": self.listed_on.isoformat() if self.listed_on else None,
            "aliases": [{"name": a.name, "quality": a.quality} for a in self.aliases],
            "original_script": self.original_script,
            "identifiers": [
                {"kind": i.kind, "value": i.value, "source": i.source} for i in self.identifiers
            ],
            "nationality": list(self.nationality),
            "comments": self.comments,
            "fields": self.fields,  # JSON-ready already (strings, lists, dicts of strings)
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ListEntry:
        return cls(
            dataid=data["dataid"],
            reference=data["reference"],
            regime=data["regime"],
            kind=data["kind"],
            name=data["name"],
            listed_on=date.fromisoformat(data["listed_on"]) if data.get("listed_on") else None,
            aliases=tuple(Alias(**a) for a in data.get("aliases", ())),
            original_script=data.get("original_script"),
            identifiers=tuple(Identifier(**i) for i in data.get("identifiers", ())),
            nationality=tuple(data.get("nationality", ())),
            comments=data.get("comments", ""),
            fields=data.get("fields", {}),
        )


@dataclass(frozen=True, slots=True)
class ParsedList:
    sha256: str  # of the file's bytes: the snapshot's version
    date_generated: datetime  # aware, as the file states it
    entries: tuple[ListEntry, ...]
    tags: frozenset[
        str
    ]  # every element path seen: fields only newer files carry are not amendments

    @property
    def individuals(self) -> int:
        return sum(1 for e in self.entries if e.kind == "individual")

    @property
    def entities(self) -> int:
        return sum(1 for e in self.entries if e.kind == "entity")
