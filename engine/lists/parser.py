"""Parse the UN Consolidated List XML (root CONSOLIDATED_LIST) into a ParsedList.

The parser is defusedxml's ElementTree (no entity expansion, no external DTDs). Quirks of the real
files handled here (see shared reference A.2): surrounding whitespace and embedded newlines in any
text, LISTED_ON with a time-zone suffix, empty placeholder aliases, alias qualities Good/Low and
a.k.a./f.k.a., single- or double-quoted declarations (the XML parser does not care), fields that
only newer files carry (kept generically in ``fields``), and company IMO numbers and SWIFT/BIC
codes that exist only inside COMMENTS1.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from engine.lists.model import Alias, Identifier, ListEntry, ParsedList


class ListFormatError(ValueError):
    """The file is not a UN Consolidated List."""


_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
# "IMO number: 5571322", "IMO Number: ...", "International Maritime Organization (IMO) Number: ...",
# "Company Number IMO 5434358".
_IMO_RE = re.compile(r"\bIMO\)?(?:\s+(?:company\s+)?(?:number|no\.?))?\s*:?\s*(\d{7})\b", re.I)
# "SWIFT/BIC: FTBDKPPY.", "SWIFT: DCBKKPPY", "BIC: ...", and the 2017 file's "SWIFT: DCBK KKPY"
# (a space after the bank code).
_BIC_RE = re.compile(
    r"\b(?:SWIFT(?:/BIC)?|BIC)(?:\s+code)?\s*[:\-]?\s*([A-Z]{4} ?[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?)\b"
)


def clean(text: str | None) -> str:
    """Collapse every run of whitespace (newlines included) and strip the ends."""
    return " ".join(text.split()) if text else ""


def parse_date(text: str | None) -> date | None:
    """ISO date, tolerating a time-zone suffix such as ``2015-03-27-04:00``."""
    text = clean(text)
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def parse_generated(text: str | None) -> datetime:
    text = clean(text)
    if not text:
        raise ListFormatError("CONSOLIDATED_LIST has no dateGenerated attribute")
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:  # never seen in real files; the list is published from New York
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def normalise_identifier(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", value).upper()


def _text(record: Element, tag: str) -> str:
    return clean(record.findtext(tag))


def _flatten(record: Element, tags: set[str]) -> dict[str, list[Any]]:
    """Every child element as path -> values; compound children become {subtag: text} dicts."""
    out: dict[str, list[Any]] = {}
    for child in record:
        tags.add(child.tag)
        subs = list(child)
        if not subs:
            value: Any = clean(child.text)
            if not value:
                continue
        elif all(s.tag == "VALUE" for s in subs):
            for s in subs:
                if clean(s.text):
                    out.setdefault(child.tag, []).append(clean(s.text))
            continue
        else:
            value = {}
            for s in subs:
                tags.add(f"{child.tag}/{s.tag}")
                if clean(s.text):
                    value[s.tag] = clean(s.text)
            if not value:  # placeholder alias / empty address
                continue
        out.setdefault(child.tag, []).append(value)
    return out


def _identifiers(comments: str, fields: dict[str, list[Any]]) -> tuple[Identifier, ...]:
    found: dict[tuple[str, str], Identifier] = {}
    for m in _IMO_RE.finditer(comments):
        found.setdefault(
            ("imo_company", m.group(1)), Identifier("imo_company", m.group(1), "COMMENTS1")
        )
    for m in _BIC_RE.finditer(comments):
        bic = m.group(1).replace(" ", "").upper()
        found.setdefault(("bic", bic), Identifier("bic", bic, "COMMENTS1"))
    for doc in fields.get("INDIVIDUAL_DOCUMENT", []):
        number = normalise_identifier(doc.get("NUMBER", ""))
        kind_text = (
            doc.get("TYPE_OF_DOCUMENT", "") + " " + doc.get("TYPE_OF_DOCUMENT2", "")
        ).lower()
        if len(number) < 5:
            continue
        if "pass" in kind_text or "pasaporte" in kind_text:
            kind = "passport"
        elif "national" in kind_text or "identi" in kind_text:
            kind = "national_id"
        else:
            continue
        found.setdefault((kind, number), Identifier(kind, number, "INDIVIDUAL_DOCUMENT"))
    return tuple(found.values())


def _entry(record: Element, kind: str, tags: set[str]) -> ListEntry | None:
    dataid = _text(record, "DATAID")
    if not dataid:
        return None
    fields = _flatten(record, tags)
    if kind == "individual":
        name = " ".join(p for p in (_text(record, t) for t in _NAME_PARTS) if p)
        alias_tag = "INDIVIDUAL_ALIAS"
    else:
        name = _text(record, "FIRST_NAME")
        alias_tag = "ENTITY_ALIAS"
    aliases = []
    seen = {name.upper()}
    for a in fields.get(alias_tag, []):
        alias = a.get("ALIAS_NAME", "")
        if alias and alias.upper() not in seen:
            seen.add(alias.upper())
            aliases.append(Alias(alias, a.get("QUALITY", "")))
    comments = _text(record, "COMMENTS1")
    return ListEntry(
        dataid=dataid,
        reference=_text(record, "REFERENCE_NUMBER"),
        regime=_text(record, "UN_LIST_TYPE"),
        kind=kind,  # type: ignore[arg-type]
        name=name,
        listed_on=parse_date(record.findtext("LISTED_ON")),
        aliases=tuple(aliases),
        original_script=_text(record, "NAME_ORIGINAL_SCRIPT") or None,
        identifiers=_identifiers(comments, fields),
        nationality=tuple(fields.get("NATIONALITY", ())),
        comments=comments,
        fields=fields,
    )


def parse_list(data: bytes) -> ParsedList:
    """Parse the bytes of one list file. Raises ListFormatError for anything else."""
    try:
        root = SafeET.fromstring(data)
    except SafeET.ParseError as exc:
        raise ListFormatError(f"not well-formed XML: {exc}") from exc
    if root.tag != "CONSOLIDATED_LIST":
        raise ListFormatError(f"root element is {root.tag!r}, expected CONSOLIDATED_LIST")
    tags: set[str] = set()
    entries: list[ListEntry] = []
    for path, kind in (("INDIVIDUALS/INDIVIDUAL", "individual"), ("ENTITIES/ENTITY", "entity")):
        for record in root.iterfind(path):
            entry = _entry(record, kind, tags)
            if entry is not None:
                entries.append(entry)
    return ParsedList(
        sha256=hashlib.sha256(data).hexdigest(),
        date_generated=parse_generated(root.get("dateGenerated")),
        entries=tuple(entries),
        tags=frozenset(tags),
    )
