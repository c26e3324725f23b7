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
from rapidfuzz.distance import Levenshtein

from engine.screening.titles import strip_titles  # (titles.py imports this module lazily)


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


# Arabic-script orthography that writers vary without changing the name: vowel marks and kashida
# dropped; hamza seats and madda to bare alef; alef maqsura to ya; ta marbuta to ha; Persian/Urdu
# ye, kaf and heh to their Arabic forms; 'abd' joined to the next word ("عبد الله" = "عبدالله").
_ARABIC_FOLD = str.maketrans(
    {
        **{chr(c): None for c in range(0x064B, 0x0653)},
        "\u0670": None,
        "\u0640": None,
        "\u0623": "\u0627",
        "\u0625": "\u0627",
        "\u0622": "\u0627",
        "\u0671": "\u0627",
        "\u0649": "\u064a",
        "\u0629": "\u0647",
        "\u06cc": "\u064a",
        "\u06d2": "\u064a",
        "\u06a9": "\u0643",
        "\u06c1": "\u0647",
        "\u06c0": "\u0647",
        "\u0624": "\u0648",
        "\u0626": "\u064a",
    }
)
_ARABIC = re.compile(r"[\u0600-\u06ff]")
_ABD_SPLIT = re.compile(r"(?<![\u0600-\u06ff])\u0639\u0628\u062f\s+(?=\u0627\u0644)")


def to_latin(text: str) -> str:
    """Any script to upper-case ASCII words separated by single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_CYRILLIC_PRE)
    if _ARABIC.search(text):
        text = _ABD_SPLIT.sub("\u0639\u0628\u062f", text.translate(_ARABIC_FOLD))
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
    tokens: tuple[str, ...]  # folded tokens, company suffixes and leading titles removed
    key: str  # tokens sorted and joined: order-free comparison string
    informative: tuple[str, ...]  # tokens that may identify someone (not generic, >= 2 chars)
    raw: tuple[str, ...] = ()  # the latin word behind each token (same order and length)
    titles: tuple[str, ...] = ()  # leading honorifics / vessel prefixes set aside ("SHEIKH", "MV")

    @property
    def significant_length(self) -> int:
        return sum(len(t) for t in self.informative)


_NUMBER_WORDS = frozenset({"NO", "NR", "NUMBER", "NUM"})
# Abbreviations of common words of company names, written out (as the list mostly writes them).
_ABBREVIATIONS = {
    "INTL": "INTERNATIONAL",
    "TRDG": "TRADING",
    "DEV": "DEVELOPMENT",
    "DEVT": "DEVELOPMENT",
    "IND": "INDUSTRIAL",
    "INDS": "INDUSTRIES",
    "ASSN": "ASSOCIATION",
    "ASSOC": "ASSOCIATION",
    "MFG": "MANUFACTURING",
    "ENGG": "ENGINEERING",
    "ENGR": "ENGINEERING",
    "TECH": "TECHNOLOGY",
    "DEPT": "DEPARTMENT",
    "MGMT": "MANAGEMENT",
    "NATL": "NATIONAL",
    "CTR": "CENTER",
    "BROS": "BROTHERS",
}


def _drop_number_words(words: list[str]) -> list[str]:
    """'JI SONG NO 6' / 'JI SONG NO. 6' / 'JI SONG #6': the number is 6 (hull-number formats)."""
    return [
        w
        for i, w in enumerate(words)
        if not (w in _NUMBER_WORDS and i + 1 < len(words) and words[i + 1].isdigit() and i > 0)
    ]


_LONG_FORMS = tuple(w for w in COMPANY_SUFFIXES if len(w) >= 7)


@lru_cache(maxsize=65536)
def _misspelt_legal_form(word: str) -> bool:
    """'LIMIRED', 'COMPSNY', 'CORPORATTION': a long legal-form word one edit away."""
    return len(word) >= 6 and any(
        abs(len(word) - len(f)) <= 1 and Levenshtein.distance(word, f, score_cutoff=1) <= 1
        for f in _LONG_FORMS
    )


_ARTICLES = frozenset({"AL", "EL", "UL", "UR", "AR", "AS", "AD", "AN", "AZ", "ASH", "AT"})


def _join_abd(words: list[str]) -> list[str]:
    """'ABD AL-RAHMAN', 'ABD-EL RAHMAN', 'ABDUL RAHMAN': one theophoric element, written ABDUL."""
    out: list[str] = []
    for w in words:
        if out and out[-1] == "ABD" and w in _ARTICLES:
            out[-1] = "ABDUL"
        else:
            out.append(w)
    return out


@lru_cache(maxsize=65536)
def normalise(name: str) -> NormName:
    latin = to_latin(name)
    titles, words = strip_titles(latin.split())
    words = _join_abd(
        [
            _ABBREVIATIONS.get(t, t)
            for t in _drop_number_words(words)
            if t not in COMPANY_SUFFIXES and not _misspelt_legal_form(t)
        ]
    )
    tokens = tuple(fold_token(t) for t in words)
    if not tokens:  # a name made only of legal forms is kept as is (and is not informative)
        return NormName(latin, (), "", ())
    informative = tuple(
        f for t, f in zip(words, tokens, strict=True) if t not in GENERIC_WORDS and len(f) >= 2
    )
    return NormName(latin, tokens, " ".join(sorted(tokens)), informative, tuple(words), titles)


@lru_cache(maxsize=65536)
def phonetic(token: str) -> str:
    """Blocking key of one folded token: metaphone, or the token itself when that is empty."""
    return jellyfish.metaphone(token) or token
