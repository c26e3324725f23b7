"""The parser against the six real UN Consolidated List files and their format quirks."""

from __future__ import annotations

import hashlib

import pytest
from lists_support import FILES, entry, list_file, parsed

from engine.lists.parser import ListFormatError, parse_list


@pytest.mark.parametrize("day", sorted(FILES))
def test_counts_and_date_match_the_readme(day: str) -> None:
    generated, individuals, entities = FILES[day]
    p = parsed(day)
    assert p.date_generated.tzinfo is not None
    assert f"{p.date_generated:%Y-%m-%d}" == generated
    assert (p.individuals, p.entities) == (individuals, entities)
    assert p.sha256 == hashlib.sha256(list_file(day).read_bytes()).hexdigest()
    assert len({e.dataid for e in p.entries}) == len(p.entries)


@pytest.mark.parametrize("day", sorted(FILES))
def test_text_is_clean_and_regimes_are_list_type_texts(day: str) -> None:
    known = {
        "DPRK",
        "Iran",
        "Al-Qaida",
        "Taliban",
        "Iraq",
        "DRC",
        "Libya",
        "Somalia",
        "CAR",
        "Sudan",
        "Yemen",
        "Haiti",
        "GB",
        "SouthSudan",
        "Mali",
    }
    for e in parsed(day).entries:
        for text in (e.name, e.reference, e.comments, *(a.name for a in e.aliases)):
            assert text == text.strip() and "\n" not in text and "  " not in text
        assert e.regime in known
        assert e.listed_on is not None, e.reference
        assert all(a.name for a in e.aliases)  # placeholder aliases dropped


def test_reference_with_trailing_space_is_stripped() -> None:
    raw = list_file("2026-05-08").read_text(encoding="utf-8")
    assert "<REFERENCE_NUMBER>KPe.053 </REFERENCE_NUMBER>" in raw  # the quirk is really there
    assert entry("2026-05-08", "KPe.053").reference == "KPe.053"


def test_listed_on_with_time_zone_suffix() -> None:
    raw = list_file("2026-05-08").read_text(encoding="utf-8")
    assert "-04:00</LISTED_ON>" in raw
    e = entry("2026-05-08", "TAi.173")
    assert e.listed_on is not None and e.listed_on.year == 2015


def test_alias_qualities_of_individuals_and_entities() -> None:
    qualities = {(e.kind, a.quality) for e in parsed("2026-05-08").entries for a in e.aliases}
    assert {("individual", "Good"), ("individual", "Low")} <= qualities
    assert {("entity", "a.k.a."), ("entity", "f.k.a.")} <= qualities


def test_placeholder_aliases_in_the_2020_file() -> None:
    raw = list_file("2020-11-30").read_text(encoding="utf-8")
    placeholders = raw.count("<QUALITY/><ALIAS_NAME/>") + raw.count(
        "<QUALITY></QUALITY><ALIAS_NAME></ALIAS_NAME>"
    )
    assert placeholders > 100
    # README: 314 records of the 2020 file carry only the placeholder; they end with no alias.
    without = [e for e in parsed("2020-11-30").entries if not e.aliases]
    assert len(without) >= 314


def test_single_quoted_declaration_and_new_fields() -> None:
    assert list_file("2024-09-26").read_bytes().startswith(b"<?xml version='1.0'")
    assert parsed("2024-09-26").individuals == 682
    assert "INTERPOL_LINK" in parsed("2026-05-08").tags
    assert "INTERPOL_LINK" not in parsed("2026-02-27").tags
    assert "INDIVIDUAL_DOCUMENT/DATE_OF_EXPIRY" in parsed("2026-05-08").tags


def test_identifiers_from_comments() -> None:
    ftb = entry("2026-05-08", "KPe.047")
    assert ("bic", "FTBDKPPY") in {(i.kind, i.value) for i in ftb.identifiers}
    expected = {
        "KPe.020": "1790183",
        "KPe.022": "5342883",
        "KPe.065": "5145892",
        "KPe.066": "5434358",
        "KPe.075": "5987860",
    }
    for ref, imo in expected.items():
        found = {i.value for i in entry("2026-05-08", ref).identifiers if i.kind == "imo_company"}
        assert imo in found, ref
    passports = [
        i for e in parsed("2026-05-08").entries for i in e.identifiers if i.kind == "passport"
    ]
    assert len(passports) > 100 and all(
        p.value.isalnum() and p.value.isupper() or p.value.isdigit() for p in passports
    )


def test_bic_written_with_a_space_in_2017() -> None:
    raw = list_file("2017-07-03").read_text(encoding="utf-8")
    assert "SWIFT: DCBK KKPY" in raw
    daedong = next(e for e in parsed("2017-07-03").entries if e.name == "DAEDONG CREDIT BANK (DCB)")
    assert [(i.kind, i.value) for i in daedong.identifiers] == [("bic", "DCBKKKPY")]
    assert not any(
        i.value == "FTBDKPPY" for e in parsed("2020-11-30").entries for i in e.identifiers
    )


def test_not_a_list_and_entity_bomb_are_refused() -> None:
    with pytest.raises(ListFormatError):
        parse_list(b"<OTHER dateGenerated='2020-01-01T00:00:00Z'/>")
    with pytest.raises(ListFormatError):
        parse_list(b"not xml")
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<CONSOLIDATED_LIST dateGenerated="2020-01-01T00:00:00Z">&b;</CONSOLIDATED_LIST>'
    )
    with pytest.raises(Exception) as info:
        parse_list(bomb)
    assert "Entit" in type(info.value).__name__ or "entit" in str(info.value).lower()
