"""Encode the compiled table of UN-designated vessels (shared/data/un-vessels/designated-vessels.csv,
one row per hull and designation episode) as the register YAML in rules/vessels/.

    python -m engine.screening.vessel_csv ../shared/data/un-vessels/designated-vessels.csv \
        > rules/vessels/designated-vessels.yaml

The YAML is the product's own data, in the register's format, with each row's sources and
confidence; the shared CSV itself is never copied into the repository. What the encoding adds:

- ``removed_between`` where the table gives no removal date but its removal basis names the month
  ("a Saturday in December 2016"): the whole month is the window;
- ``unverified``: every row not read in a UN document (confidence R or U) lists its key fields;
- ``history``: designation, amendments stated in the measures ("deflagging (added 2018-03-30)"),
  the 1718 list's own date column where the basis quotes it, and the removal or expiry.
"""

from __future__ import annotations

import calendar
import csv
import re
import sys
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import yaml

HEADER = """\
# UN-designated vessels: the screening register. Part of the rule pack: its text is covered by the
# pack version and stored with it, so a replay screens with the register of its day.
#
# Encoded by `python -m engine.screening.vessel_csv ../shared/data/un-vessels/designated-vessels.csv`
# from the compiled table in shared/data/un-vessels (71 hulls/episodes: the 1718 Committee's
# Designated Vessels List as republished, the 2270 (2016) Annex III OMM vessels including the four
# removed on 21 Mar 2016 and the five removed in Dec 2016, and three time-limited 2146 (2014)
# Libya designations). This file is the product's register encoded from that table, not a copy of
# it: regenerate it when the table changes, and read the table's README for its sources and gaps.
#
# Per entry: name, imo (check digit verified), former_names, flag (ISO alpha-2 at designation, null
# when no source states it), regime (DPRK: 1718 list; Libya: 1970 Committee), designated_on,
# removed_on (first day no longer designated: removal or the end of a 90-day 2146 designation),
# removed_between (window when only the month of a removal is known), legal_basis, effect, source,
# confidence (V: read in a UN document; R: reputable secondary source or a republication of the UN
# list; U: uncertain), unverified (the fields no UN document at hand confirms), history.
# An entry without designated_on (LYNN S) is recorded but not screened: its dates are unknown.
"""

_MONTH = re.compile(
    r"\b(" + "|".join(calendar.month_name[1:]) + r") (\d{4})\b",
)
_ADDED = re.compile(r"([A-Za-z][\w -]*?) \(added (\d{4}-\d{2}-\d{2})\)")
_LIST_DATE = re.compile(r"list date column shows (\d{4}-\d{2}-\d{2})")
KEY_FIELDS = ("name", "imo", "flag", "designated_on", "removed_on", "legal_basis", "effect")


def _day(text: str) -> date | None:
    return date.fromisoformat(text.strip()) if text.strip() else None


def _month_window(text: str) -> list[date] | None:
    m = _MONTH.search(text)
    if not m:
        return None
    month, year = list(calendar.month_name).index(m.group(1)), int(m.group(2))
    return [date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])]


def entry(row: dict[str, str]) -> dict[str, Any]:
    designated = _day(row["designated_on"])
    removed = _day(row["removed_on"])
    removal_basis = row["removal_basis"].strip() or None
    window = _month_window(removal_basis) if removal_basis and not removed else None
    basis = [b.strip() for b in row["basis"].split(" / ") if b.strip()]
    history: list[dict[str, Any]] = []
    if designated:
        history.append({"day": designated, "change": "designated", "basis": row["basis"].strip()})
    for what, on in _ADDED.findall(row["measures"]):
        history.append(
            {"day": date.fromisoformat(on), "change": "amended", "basis": f"{what} added"}
        )
    for on in _LIST_DATE.findall(row["basis"]):
        history.append(
            {
                "day": date.fromisoformat(on),
                "change": "list_date",
                "basis": "date shown in the 1718 Designated Vessels List's date column",
            }
        )
    if removed:
        history.append({"day": removed, "change": "removed", "basis": removal_basis or ""})
    elif window:
        history.append({"between": window, "change": "removed", "basis": removal_basis or ""})
    history.sort(key=lambda h: h.get("day") or h["between"][0])
    out: dict[str, Any] = {
        "name": row["name"].strip(),
        "imo": row["imo"].strip() or None,
        "former_names": [n.strip() for n in row["former_names"].split(";") if n.strip()],
        "flag": row["flag_at_designation"].strip() or None,
        "regime": row["regime"].strip(),
        "designated_on": designated,
        "removed_on": removed,
        "removed_between": window,
        "removal_basis": removal_basis,
        "legal_basis": basis,
        "effect": row["measures"].strip(),
        "source": row["source"].strip(),
        "confidence": row["confidence"].strip(),
        "unverified": []
        if row["confidence"].strip() == "V"
        else [f for f in KEY_FIELDS if _given(f, row, designated, removed)],
        "history": history,
    }
    return out


def _given(field: str, row: dict[str, str], designated: date | None, removed: date | None) -> bool:
    column = {"flag": "flag_at_designation", "legal_basis": "basis", "effect": "measures"}
    if field == "designated_on":
        return designated is not None
    if field == "removed_on":
        return removed is not None or bool(row["removal_basis"].strip())
    return bool(row[column.get(field, field)].strip())


class _Plain(yaml.SafeDumper):
    """Every value written out in place (no &anchors / *aliases for repeated dates)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # list items indented under their key, as by hand


def encode(csv_text: str) -> str:
    rows = list(csv.DictReader(StringIO(csv_text)))
    doc = {"version": 2, "regime": "DPRK", "vessels": [entry(r) for r in rows]}
    body = yaml.dump(doc, Dumper=_Plain, sort_keys=False, allow_unicode=True, width=100)
    return HEADER + body


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout.write(encode(Path(argv[0]).read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
