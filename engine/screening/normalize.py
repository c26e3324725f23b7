"""Name normalisation for matching: any script to Latin, case and punctuation folding, company
suffixes set aside, spelling variants folded, and a phonetic key per token for candidate blocking.

The same function runs over list names at index time and over event names at screening time, so
every fold below applies to both sides alike.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import jellyfish
from anyascii import anyascii


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Legal-form words: dropped before scoring ("Ltd" missing from an event must not lower the score).
COMPANY_SUFFIXES = _words(
    """CO COMPANY COMPANIES LTD LIMITED LLC LLP LP INC INCORPORATED CORP CORPORATION CORPORATIONS
    PLC JSC PJSC CJSC OJSC OAO ZAO OOO PAO AO GMBH AG KG SA SAS SARL SRL SPA BV NV AB AS ASA OY
    OYJ PTE PVT PTY BHD SDN FZE FZC FZCO FZ LLC DMCC KK KABUSHIKI KAISHA GK YK SL SAL WLL EST
    HOESA HOSA COOPERATION COOP"""
)
# Words too common to identify anyone: never a match on their own, no blocking key of their own.
GENERIC_WORDS = _words(
    """THE OF AND FOR IN DE DU DES LA LE EL AL BIN BEN IBN ABU UMM BINT
    TRADING TRADE TRADERS GENERAL INTERNATIONAL INTL GROUP GROUPS HOLDING HOLDINGS SHIPPING SHIP
    MARITIME MARINE INDUSTRIAL INDUSTRY INDUSTRIES ENTERPRISE ENTERPRISES BANK BANKING COMMERCIAL
    COMMERCE SERVICES SERVICE SOLUTIONS GLOBAL IMPORT EXPORT LOGISTICS NATIONAL STATE DEVELOPMENT
    TECHNOLOGY TECHNOLOGIES CENTER CENTRE OFFICE BUREAU DEPARTMENT MINISTRY ASSOCIATION
    FOUNDATION ORGANIZATION ORGANISATION NETWORK FRONT BRIGADE MOVEMENT ARMY FORCE FORCES
    KOREA KOREAN DPRK IRAN IRANIAN CHINA HONG KONG SINGAPORE"""
)
# Equivalent spellings seen across romanisations (Cyrillic, Korean RR vs McCune-Reischauer,
# Arabic). Applied as substring rewrites on each upper-case token, longest first.
_FOLDS = [
    ("KH", "H"),
    ("PH", "F"),
    ("TH", "T"),
    ("DH", "D"),
    ("GH", "G"),
    ("SH", "S"),
    ("CH", "C"),
    ("TS", "C"),
    ("TZ", "C"),
    ("ZH", "J"),
    ("DJ", "J"),
    ("DZ", "J"),
    ("Q", "K"),
    ("CK", "K"),
    ("W", "V"),
    ("Y", "I"),
    ("EO", "O"),
    ("EU", "U"),
    ("OU", "U"),
    ("OO", "U"),
    ("EE", "I"),
    ("AA", "A"),
    ("II", "I"),
    ("UU", "U"),
    ("IE", "I"),
]
_FOLD_RE = re.compile("|".join(re.escape(a) for a, _ in _FOLDS))
_FOLD_MAP = dict(_FOLDS)
_NON_ALNUM = re.compile(r"[^0-9A-Z]+")
_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc\u02bb`\u00b4]")  # inside a word: Shari'a = Sharia
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
# anyascii gives Revised Romanisation; the list writes North Korean names in McCune-Reischauer
# style. Initial consonants that differ most, per syllable: G->K, B->P, L->R (D->T and J->CH are
# too irregular on the list to fold), and the surname I (이/리) is RI on the list.
_RR_INITIAL = {"G": "K", "B": "P", "L": "R"}


def _hangul_to_latin(text: str) -> str:
    """Each Hangul syllable becomes its own token (Korean names are written syllable by syllable)."""
    out = []
    for ch in text:
        if _HANGUL.match(ch):
            syl = anyascii(ch).upper()
            syl = _RR_INITIAL.get(syl[0], syl[0]) + syl[1:]
            out.append(" " + ("RI" if syl == "I" else syl) + " ")
        else:
            out.append(ch)
    return "".join(out)


def to_latin(text: str) -> str:
    """Any script to upper-case ASCII words separated by single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_CYRILLIC_PRE)
    if _HANGUL.search(text):
        text = _hangul_to_latin(text)
    if not text.isascii():
        text = anyascii(text)
    return " ".join(_NON_ALNUM.sub(" ", _APOSTROPHES.sub("", text).upper()).split())


_DOUBLE = re.compile(r"([A-Z])\1+")
# Cyrillic letters anyascii renders in a way that loses what Latin spellings of names keep.
_CYRILLIC_PRE = str.maketrans({"Ё": "YO", "ё": "yo", "Ъ": "", "ъ": "", "Ь": "", "ь": ""})


def _fold_raw(token: str) -> str:
    return _DOUBLE.sub(r"\1", _FOLD_RE.sub(lambda m: _FOLD_MAP[m.group(0)], token))


# Frequent given names with many accepted spellings: one canonical form each (after folding).
_CANON = {
    _fold_raw(v): _fold_raw(group[0])
    for group in (
        (
            "MUHAMMAD",
            "MOHAMMED",
            "MOHAMMAD",
            "MOHAMED",
            "MOHAMAD",
            "MUHAMMED",
            "MUHAMED",
            "MUHAMAD",
            "MOHD",
            "MHD",
            "MOHAMET",
        ),
        ("AHMAD", "AHMED"),
        ("MAHMUD", "MAHMOUD", "MAHMOOD"),
        ("HUSAIN", "HUSSEIN", "HUSSAIN", "HUSAYN", "HOSSEIN", "HUSEIN", "HOSEIN"),
        ("YUSUF", "YOUSSEF", "YOUSEF", "YUSEF", "YOUSSOUF", "JUSUF"),
        ("ABDUL", "ABDEL", "ABDOUL", "ABDULLA"),
        ("ABDULLAH", "ABDALLAH", "ABDULLAHI"),
        ("OSAMA", "USAMA", "OUSSAMA"),
        ("OMAR", "UMAR"),
        ("OTHMAN", "UTHMAN", "OSMAN", "USMAN"),
    )
    for v in group
}


@lru_cache(maxsize=131072)
def fold_token(token: str) -> str:
    folded = _fold_raw(token)
    return _CANON.get(folded, folded)


@dataclass(frozen=True, slots=True)
class NormName:
    latin: str  # upper-case ASCII, punctuation removed, suffixes kept (for explanations)
    tokens: tuple[str, ...]  # folded tokens, company suffixes removed
    key: str  # tokens sorted and joined: order-free comparison string
    informative: tuple[str, ...]  # tokens that may identify someone (not generic, >= 2 chars)

    @property
    def significant_length(self) -> int:
        return sum(len(t) for t in self.informative)


@lru_cache(maxsize=65536)
def normalise(name: str) -> NormName:
    latin = to_latin(name)
    raw_tokens = latin.split()
    tokens = tuple(fold_token(t) for t in raw_tokens if t not in COMPANY_SUFFIXES)
    if not tokens:  # a name made only of legal forms is kept as is (and is not informative)
        return NormName(latin, (), "", ())
    informative = tuple(
        f
        for t, f in zip((t for t in raw_tokens if t not in COMPANY_SUFFIXES), tokens, strict=True)
        if t not in GENERIC_WORDS and len(f) >= 2
    )
    return NormName(latin, tokens, " ".join(sorted(tokens)), informative)


@lru_cache(maxsize=65536)
def phonetic(token: str) -> str:
    """Blocking key of one folded token: metaphone, or the token itself when that is empty."""
    return jellyfish.metaphone(token) or token
