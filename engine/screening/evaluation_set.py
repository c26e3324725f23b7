"""An independent labelled set for name screening, built from a real list snapshot.

Positives are real list names (persons, entities) and real designated-vessel names
(../shared/data/un-vessels) under the variants real data carries; negatives are real look-alikes
(names built from OTHER real listed names' parts, real vessel names with another hull number) and
real-world names that are not listed (Faker's per-locale name and company tables).

The variant generators are written from linguistic knowledge (romanisation tables, honorific
lists, Arabic orthography, vessel-name conventions), NOT from the screener: this module imports
nothing from engine.screening.normalize or engine.screening.index (a test checks that), so a
fold the screener lacks shows up here as a miss instead of being generated away.
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rapidfuzz import fuzz, process

from engine.lists.model import ListEntry
from engine.screening.vessels import DesignatedVessel, VesselRegister

Kind = str  # "person" | "entity" | "vessel"


@dataclass(frozen=True, slots=True)
class Case:
    query: str
    reference: str | None  # the entry (or register vessel) it must hit; None: must stay clear
    kind: Kind
    variant: str  # how the query was made from its source
    source: str  # the real name it was made from


# -- plain, screener-independent helpers --------------------------------------------------------
_QUOTES = "'\u2018\u2019\u02bc\u02bb`\u00b4\u2019"


def plain(name: str) -> str:
    """Upper-case letters and digits only, words sorted: 'same name' for the exclusion check."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c))
    for q in _QUOTES:
        text = text.replace(q, "")
    text = re.sub(r"[^0-9A-Za-z\u0600-\u06ff\u0400-\u04ff]+", " ", text).upper()
    return " ".join(sorted(text.split()))


def _tokens(name: str) -> list[str]:
    return name.split()


def _typo(rng: random.Random, word: str) -> str:
    """One keyboard-style slip inside the word (first letter kept, as in most real typos)."""
    i = rng.randrange(1, len(word) - 1)
    op = rng.choice(["swap", "drop", "double", "substitute"])
    if op == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == "drop":
        return word[:i] + word[i + 1 :]
    if op == "double":
        return word[:i] + word[i] + word[i:]
    neighbours = {
        "A": "SQ",
        "E": "WR",
        "I": "UO",
        "O": "IP",
        "U": "YI",
        "N": "BM",
        "M": "N",
        "R": "ET",
        "T": "RY",
        "S": "AD",
        "L": "K",
        "K": "JL",
        "H": "GJ",
        "D": "SF",
        "G": "FH",
    }
    c = word[i].upper()
    repl = rng.choice(neighbours.get(c, "AEIOU"))
    repl = repl if word[i].isupper() else repl.lower()
    return word[:i] + repl + word[i + 1 :]


def typo(rng: random.Random, name: str) -> str | None:
    words = _tokens(name)
    long_ = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long_:
        return None
    i = rng.choice(long_)
    words[i] = _typo(rng, words[i])
    return " ".join(words)


# -- persons: honorifics --------------------------------------------------------------------------
# Titles and honorifics written before names in trade and banking documents (Arabic, Persian,
# South Asian, Korean-English usage, military ranks).
HONORIFICS = [
    "Mr",
    "Mr.",
    "Dr.",
    "Dr",
    "Sheikh",
    "Shaykh",
    "Sheik",
    "Haji",
    "Hajji",
    "Al-Hajj",
    "Mullah",
    "Mulla",
    "Maulvi",
    "Mawlawi",
    "Maulana",
    "Qari",
    "Mufti",
    "Prof.",
    "General",
    "Gen.",
    "Col.",
    "Colonel",
    "Commander",
    "H.E.",
    "His Excellency",
    "Comrade",
    "Eng.",
    "Engineer",
]


def honorific(rng: random.Random, name: str) -> str:
    return f"{rng.choice(HONORIFICS)} {name}"


# -- persons: dropped parts -----------------------------------------------------------------------
_ARTICLE = re.compile(r"^[" + _QUOTES + r"]*(AL|EL)[-\s]", re.IGNORECASE)


def name_units(entry: ListEntry) -> list[str]:
    """The list's own name fields (FIRST_NAME .. FOURTH_NAME): each a unit ("ABD AL-RAHMAN")."""
    out = []
    for f in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME"):
        out += [v for v in entry.fields.get(f, []) if v.strip()]
    return out


def dropped_middle(rng: random.Random, units: list[str]) -> str | None:
    """A middle name (father's or grandfather's name in an Arabic nasab) left out."""
    if len(units) < 3:
        return None
    i = rng.randrange(1, len(units) - 1)
    return " ".join(units[:i] + units[i + 1 :])


def dropped_nisba(units: list[str]) -> str | None:
    """The nisba / laqab ('al-Anizi', 'al-Tikriti') at the end left out."""
    if len(units) < 3 or not _ARTICLE.match(units[-1]):
        return None
    return " ".join(units[:-1])


# -- persons: Arabic-name romanisation ------------------------------------------------------------
# Alternations between English, French and scholarly transliterations of Arabic and Persian names
# (e.g. Muhammad / Mohammed / Mohamed, Husayn / Hussein / Houssein, 'Abd al-Rahman / Abdul
# Rahman / Abderrahmane). Each is (pattern, replacements).
_ARABIC_RULES: list[tuple[str, list[str]]] = [
    (r"\bMUHAMMAD\b", ["MOHAMMED", "MOHAMED", "MOHAMMAD", "MUHAMMED", "MOHAMAD"]),
    (r"\bABD AL-", ["ABDUL ", "ABDEL ", "ABD-AL-", "ABDUL-", "ABDAL"]),
    (r"\bABU\b", ["ABOU", "ABO"]),
    (r"\bAL-", ["AL ", "EL-", "EL ", "AL"]),
    (r"AY", ["AI", "EI"]),
    (r"AW", ["OU", "AU"]),
    (r"(?<=[BCDFGHJKLMNPQRSTVWXZ])U(?=[BCDFGHJKLMNPQRSTVWXZ])", ["OU", "O"]),
    (r"(?<=[BCDFGHJKLMNPQRSTVWXZ])I(?=[BCDFGHJKLMNPQRSTVWXZ])", ["E", "EE"]),
    (r"Q", ["K"]),
    (r"DH", ["Z", "D"]),
    (r"(?<=[AEIOU])([BDFKLMNRST])(?=[AEIOU])", ["\\1\\1"]),  # consonant doubled (shadda)
    (r"([BDFKLMNRST])\1", ["\\1"]),  # doubled consonant written once
    (r"['\u2018\u2019\u02bc\u02bb`]", [""]),  # hamza / ayn marks dropped
    (r"IYA\b", ["IA", "IYAH"]),
    (r"A\b", ["AH"]),
]


def arabic_romanisation(rng: random.Random, name: str) -> str | None:
    up = name.upper()
    rules = [r for r in _ARABIC_RULES if re.search(r[0], up)]
    if not rules:
        return None
    for pattern, repls in rng.sample(rules, min(len(rules), rng.choice([1, 2]))):
        matches = list(re.finditer(pattern, up))
        if not matches:  # an earlier rewrite removed it
            continue
        m = rng.choice(matches)
        up = up[: m.start()] + m.expand(rng.choice(repls)) + up[m.end() :]
    return up if plain(up) != plain(name) else None


# -- persons: Arabic script orthography -------------------------------------------------------------
_ALEF_HAMZA = "\u0623\u0625\u0622"  # أ إ آ
_TASHKEEL = "\u064e\u064f\u0650\u0651\u0652"  # fatha damma kasra shadda sukun


def arabic_script(rng: random.Random, text: str) -> str | None:
    """The same name in Arabic script as other writers spell it: hamza seats, alef maqsura, ta
    marbuta, Persian/Urdu ye and kaf, vowel marks, kashida, 'abd' joined or split."""
    ops: list[Callable[[str], str]] = []
    if any(c in text for c in _ALEF_HAMZA):
        ops.append(lambda t: "".join("\u0627" if c in _ALEF_HAMZA else c for c in t))
    if "\u0649" in text:
        ops.append(lambda t: t.replace("\u0649", "\u064a"))  # ى -> ي
    if re.search("\u064a(?=\\s|$)", text):
        ops.append(lambda t: re.sub("\u064a(?=\\s|$)", "\u0649", t))  # final ي -> ى
    if "\u0629" in text:
        ops.append(lambda t: t.replace("\u0629", "\u0647"))  # ة -> ه
    if "\u06cc" in text or "\u06a9" in text:
        ops.append(lambda t: t.replace("\u06cc", "\u064a").replace("\u06a9", "\u0643"))
    elif "\u064a" in text or "\u0643" in text:
        ops.append(lambda t: t.replace("\u064a", "\u06cc").replace("\u0643", "\u06a9"))
    if "\u0639\u0628\u062f \u0627\u0644" in text:  # عبد ال -> عبدال
        ops.append(
            lambda t: t.replace("\u0639\u0628\u062f \u0627\u0644", "\u0639\u0628\u062f\u0627\u0644")
        )
    elif "\u0639\u0628\u062f\u0627\u0644" in text:
        ops.append(
            lambda t: t.replace("\u0639\u0628\u062f\u0627\u0644", "\u0639\u0628\u062f \u0627\u0644")
        )

    def marks(t: str) -> str:
        letters = [i for i, c in enumerate(t) if "\u0621" <= c <= "\u064a"]
        for i in sorted(rng.sample(letters, min(3, len(letters))), reverse=True):
            t = t[: i + 1] + rng.choice(_TASHKEEL) + t[i + 1 :]
        return t

    def kashida(t: str) -> str:
        letters = [i for i, c in enumerate(t[:-1]) if "\u0628" <= c <= "\u064a" and t[i + 1] != " "]
        if not letters:
            return t
        i = rng.choice(letters)
        return t[: i + 1] + "\u0640" + t[i + 1 :]

    ops += [marks, kashida]
    out = text
    for op in rng.sample(ops, min(len(ops), rng.choice([1, 2, 3]))):
        out = op(out)
    return out if out != text else None


# -- persons: Korean romanisation --------------------------------------------------------------------
# The list writes DPRK names in McCune-Reischauer without breves (o for o and o-breve, u for u and
# u-breve) and mostly without apostrophes. Other documents use Revised Romanisation (South Korea,
# 2000), older English spellings, or surname conventions. Surnames: common written forms.
KOREAN_SURNAMES: dict[str, list[str]] = {
    "RI": ["LEE", "YI", "RHEE", "LI"],
    "PAK": ["PARK", "BAK", "BAEK"],
    "CHOE": ["CHOI", "CHWE", "CH'OE"],
    "KIM": ["GIM", "KIHM"],
    "JONG": ["JEONG", "CHUNG", "JUNG", "CHONG"],
    "CHONG": ["JEONG", "JUNG", "CHUNG"],
    "KANG": ["GANG"],
    "KO": ["GO", "KOH"],
    "SIN": ["SHIN"],
    "SON": ["SOHN"],
    "YUN": ["YOON"],
    "RIM": ["LIM", "IM"],
    "RYU": ["YU", "YOO"],
    "O": ["OH"],
    "CHON": ["JEON", "JUN", "CHUN"],
    "JON": ["JEON", "CHON", "JUN"],
    "MUN": ["MOON"],
    "CHO": ["JO", "CHOH"],
    "JO": ["CHO"],
    "CHANG": ["JANG"],
    "JANG": ["CHANG"],
    "KWON": ["GWON", "KWEON"],
    "HYON": ["HYUN", "HYEON"],
    "PAEK": ["BAEK", "PAIK"],
    "RO": ["ROH", "NOH", "NO"],
    "HAN": ["HAHN"],
    "CHU": ["JU", "CHOO"],
    "SO": ["SEO", "SUH"],
    "KIL": ["GIL"],
    "KU": ["KOO", "GU"],
    "TONG": ["DONG"],
    "YANG": ["YANG"],
    "HWANG": ["HWANG"],
}
# Syllable-level MR -> RR / common English spellings (initial and vowel), applied to given names.
_KOREAN_SYLLABLE_RULES: list[tuple[str, list[str]]] = [
    (r"^K(?=[AEIOUWY])", ["G"]),
    (r"^P(?=[AEIOUWY])", ["B"]),
    (r"^T(?=[AEIOUWY])", ["D"]),
    (r"^CH(?=[AEIOUWY])", ["J"]),
    (r"^R(?=[AEIOUWY])", ["L", "N"]),
    (r"YO(?=NG|N|K|L|M|P)", ["YEO", "YOU"]),
    (r"(?<=[^Y])O(?=NG|N|K|L|M|P)", ["EO"]),
    (r"(?<=[^Y])U(?=N|NG|L|K)", ["EU"]),
    (r"^U$", ["WOO", "OO"]),
    (r"OE$", ["OI"]),
    (r"AE$", ["AI"]),
    (r"^SI", ["SHI"]),
]


def is_korean_entry(entry: ListEntry) -> bool:
    return entry.regime == "DPRK" and entry.kind == "individual" and len(name_units(entry)) == 2


def _korean_syllable(rng: random.Random, syl: str) -> str:
    rules = [r for r in _KOREAN_SYLLABLE_RULES if re.search(r[0], syl)]
    if not rules:
        return syl
    pattern, repls = rng.choice(rules)
    return re.sub(pattern, rng.choice(repls), syl, count=1)


def _korean_given(units: list[str]) -> list[str]:
    """The given-name syllables as the list writes them ('SONG IL', 'MYONG-CHIN')."""
    given = units[1]
    for q in _QUOTES:
        given = given.replace(q, "")
    return [s for s in re.split(r"[\s\-]+", given.upper()) if s]


def korean_romanisation(rng: random.Random, entry: ListEntry) -> str | None:
    units = name_units(entry)
    family = re.sub("[" + _QUOTES + "]", "", units[0].upper())
    given = _korean_given(units)
    out_family = family
    if family in KOREAN_SURNAMES and rng.random() < 0.7:
        out_family = rng.choice(KOREAN_SURNAMES[family])
    out_given = [_korean_syllable(rng, s) if rng.random() < 0.6 else s for s in given]
    if out_family == family and out_given == given:
        out_given = [_korean_syllable(rng, s) for s in given]
    sep = rng.choice([" ", "-"]) if len(out_given) > 1 else ""
    given_text = sep.join(out_given)
    if sep == "-":
        given_text = given_text.title()
    query = f"{out_family.title()} {given_text.title()}"
    if rng.random() < 0.3:  # western order, as on many foreign documents
        query = f"{given_text.title()} {out_family.title()}"
    return query if plain(query) != plain(entry.name) else None


def korean_joined(rng: random.Random, entry: ListEntry) -> str | None:
    """The two given-name syllables written as one word ('Ri Wonho'), as in passports."""
    units = name_units(entry)
    given = _korean_given(units)
    if len(given) != 2:
        return None
    family = re.sub("[" + _QUOTES + "]", "", units[0]).title()
    joined = (given[0] + given[1].lower()).title()
    return f"{family} {joined}" if rng.random() < 0.8 else f"{joined} {family}"


# Syllables of Korean written in McCune-Reischauer (initial + vowel + final): used to split a
# joined word ("TANCHON" -> "TAN CHON") the way the other writing convention does.
_K_INITIAL = [
    "KK",
    "TT",
    "PP",
    "SS",
    "CH",
    "K",
    "N",
    "T",
    "R",
    "M",
    "P",
    "S",
    "J",
    "H",
    "G",
    "B",
    "D",
    "",
]
_K_VOWEL = [
    "YAE",
    "YEO",
    "WAE",
    "YA",
    "YO",
    "YU",
    "YE",
    "WA",
    "WO",
    "WE",
    "WI",
    "UI",
    "AE",
    "OE",
    "EO",
    "EU",
    "A",
    "O",
    "U",
    "I",
    "E",
]
_K_FINAL = ["NG", "K", "N", "L", "M", "P", "T", ""]


def korean_syllables(word: str) -> list[str] | None:
    """Split an upper-case word into Korean syllables (longest first), or None."""
    out: list[str] = []
    i = 0
    while i < len(word):
        found = None
        for ini in _K_INITIAL:
            if not word.startswith(ini, i):
                continue
            for vow in _K_VOWEL:
                j = i + len(ini)
                if not word.startswith(vow, j):
                    continue
                j += len(vow)
                for fin in _K_FINAL:
                    if word.startswith(fin, j):
                        k = j + len(fin)
                        # a final consonant followed by a vowel belongs to the next syllable
                        if fin and k < len(word) and word[k] in "AEIOUWY":
                            continue
                        found = word[i:k]
                        break
                if found:
                    break
            if found:
                break
        if not found:
            return None
        out.append(found)
        i += len(found)
    return out


# -- entities ---------------------------------------------------------------------------------------
LEGAL_FORMS = {
    "CORPORATION": ["CORP.", "CORP", "CO.", "COMPANY", "CO., LTD."],
    "CORP": ["CORPORATION", "CO"],
    "COMPANY": ["CO.", "CO", "COMPANY LIMITED", "CO. LTD"],
    "CO": ["COMPANY", "CO., LTD"],
    "LIMITED": ["LTD", "LTD."],
    "LTD": ["LIMITED"],
    "LLC": ["L.L.C.", "LIMITED LIABILITY COMPANY"],
    "INC": ["INCORPORATED"],
}
ABBREVIATIONS = {
    "INTERNATIONAL": "INTL",
    "TRADING": "TRDG",
    "COMPANY": "CO",
    "CORPORATION": "CORP",
    "AND": "&",
    "DEVELOPMENT": "DEV",
    "INDUSTRIAL": "IND",
    "ASSOCIATION": "ASSN",
    "SAINT": "ST",
}


def legal_form(rng: random.Random, name: str) -> str | None:
    words = _tokens(name)
    last = words[-1].upper().strip(".,")
    if last in LEGAL_FORMS and len(words) > 2:
        if rng.random() < 0.4:
            return " ".join(words[:-1])
        return " ".join(words[:-1] + [rng.choice(LEGAL_FORMS[last])])
    return f"{name} {rng.choice(['CO., LTD.', 'LLC', 'LIMITED', 'JSC', 'COMPANY'])}"


def abbreviation(rng: random.Random, name: str) -> str | None:
    words = _tokens(name)
    idx = [i for i, w in enumerate(words) if w.upper() in ABBREVIATIONS]
    if not idx:
        return None
    i = rng.choice(idx)
    words[i] = ABBREVIATIONS[words[i].upper()]
    return " ".join(words)


def joined_or_split(rng: random.Random, name: str) -> str | None:
    """Korean place-name words joined ('RYONG GANG' -> 'RYONGGANG') or split ('TANCHON' ->
    'TAN CHON'), as DPRK names are written both ways."""
    words = _tokens(name.upper())
    splits = [
        (i, s)
        for i, w in enumerate(words)
        if len(w) >= 6 and (s := korean_syllables(w)) and len(s) == 2
    ]
    pairs = [
        i
        for i in range(len(words) - 1)
        if korean_syllables(words[i]) == [words[i]]
        and korean_syllables(words[i + 1]) == [words[i + 1]]
    ]
    if splits and (not pairs or rng.random() < 0.5):
        i, s = rng.choice(splits)
        return " ".join(words[:i] + s + words[i + 1 :])
    if pairs:
        i = rng.choice(pairs)
        return " ".join(words[:i] + [words[i] + words[i + 1]] + words[i + 2 :])
    return None


# -- vessels ------------------------------------------------------------------------------------------
VESSEL_PREFIXES = ["M/V", "MV", "M.V.", "MT", "M/T", "M.T.", "SS", "The"]
_TRAILING_NUMBER = re.compile(r"^(.*\D)\s*(\d+)$")


def vessel_prefix(rng: random.Random, name: str) -> str:
    return f"{rng.choice(VESSEL_PREFIXES)} {name}"


def vessel_number(rng: random.Random, name: str) -> str | None:
    """'JI SONG 6' as 'JI SONG NO. 6', 'MT JI SONG No 6', 'JI SONG-6', 'JI SONG #6'."""
    m = _TRAILING_NUMBER.match(name)
    if not m:
        return None
    base, num = m.group(1).strip(), m.group(2)
    form = rng.choice(["NO. {n}", "No {n}", "NO.{n}", "No.{n}", "#{n}", "-{n}"])
    text = f"{base} {form.format(n=num)}" if not form.startswith("-") else f"{base}-{num}"
    if rng.random() < 0.5:
        text = f"{rng.choice(['MT', 'M/T', 'MV', 'M/V'])} {text}"
    return text


def load_vessel_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def register_from_rows(rows: Sequence[dict[str, str]]) -> VesselRegister:
    """A screening register of the designated vessels in the shared table (names only matter
    here; rows with an IMO failing its check digit keep their name without the IMO)."""
    vessels = []
    for r in rows:
        day = date.fromisoformat(r["designated_on"]) if r.get("designated_on") else date(2016, 1, 1)
        try:
            v = DesignatedVessel(
                name=r["name"],
                imo=r.get("imo") or None,
                designated_on=day,
                legal_basis=[r.get("basis", "")],
                effect=r.get("measures", ""),
                source="shared/data/un-vessels",
            )
        except ValueError:
            v = DesignatedVessel(
                name=r["name"],
                designated_on=day,
                legal_basis=[r.get("basis", "")],
                effect=r.get("measures", ""),
                source="shared/data/un-vessels",
            )
        vessels.append(v)
    digest = hashlib.sha256(repr([v.name for v in vessels]).encode()).hexdigest()
    return VesselRegister(version=digest, regime="DPRK", vessels=vessels)


# -- real-world names that are not listed -------------------------------------------------------------
_LOCALES = [
    "ar_AA",
    "ar_SA",
    "fa_IR",
    "ko_KR",
    "ru_RU",
    "zh_CN",
    "en_US",
    "tr_TR",
    "fr_FR",
    "en_IN",
]


def realworld_names(rng: random.Random, n: int, companies: bool) -> list[str]:
    from faker import Faker

    out: list[str] = []
    fakers = {loc: Faker(loc) for loc in _LOCALES}
    for f in fakers.values():
        f.seed_instance(rng.randrange(1 << 30))
    while len(out) < n:
        f = fakers[rng.choice(_LOCALES)]
        if companies:
            out.append(f.company())
        else:  # given + family, without the titles some locales add
            out.append(f"{f.first_name()} {f.last_name()}")
    return out


# -- the set -------------------------------------------------------------------------------------------
class _Known:
    """Every listed name (plain form), to drop look-alikes that turn out to be listed, or to be
    spellings of a listed name (a near-identical string is a variant, not a look-alike)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.keys = sorted({plain(n) for n in names if n.strip()})
        self.key_set = set(self.keys)
        # word -> the listed names holding it: a look-alike whose words are all in one listed
        # name is that name with parts left out (a variant, not a look-alike)
        self.holders: dict[str, set[int]] = {}
        for i, k in enumerate(self.keys):
            for w in k.split():
                self.holders.setdefault(w, set()).add(i)

    def listed_like(self, name: str) -> bool:
        key = plain(name)
        if key in self.key_set:
            return True
        words = key.split()
        if (
            words
            and all(w in self.holders for w in words)
            and set.intersection(*(self.holders[w] for w in words))
        ):
            return True
        best = process.extractOne(key, self.keys, scorer=fuzz.ratio, score_cutoff=90)
        return best is not None


def _person_names(e: ListEntry) -> list[str]:
    return [e.name] + [a.name for a in e.aliases if a.quality in ("Good", "a.k.a.", "")]


def build_cases(
    entries: Sequence[ListEntry],
    vessels: Sequence[dict[str, str]],
    seed: int = 2026,
    per_variant: int = 150,
) -> list[Case]:
    """Positives: up to ``per_variant`` per (kind, variant); negatives about as many as the
    positives, from real look-alikes and real-world names."""
    rng = random.Random(seed)
    known = _Known(
        [n for e in entries for n in [e.name, *(a.name for a in e.aliases)]]
        + [r["name"] for r in vessels]
        + [f for r in vessels for f in (r.get("former_names") or "").split(";")]
    )
    people = [e for e in entries if e.kind == "individual"]
    orgs = [e for e in entries if e.kind == "entity"]
    cases: list[Case] = []

    def add(kind: Kind, variant: str, made: list[tuple[str | None, str, str]]) -> None:
        made = [(q, r, s) for q, r, s in made if q and q.strip()]
        rng.shuffle(made)
        seen: set[str] = set()
        for q, ref, src in made:
            if len(seen) >= per_variant or q in seen:
                continue
            seen.add(q)
            cases.append(Case(q, ref, kind, variant, src))

    # persons
    korean = [e for e in people if is_korean_entry(e)]
    others = [e for e in people if not is_korean_entry(e)]
    add(
        "person",
        "honorific",
        [(honorific(rng, n), e.reference, n) for e in people for n in [e.name]],
    )
    add(
        "person",
        "dropped_middle",
        [(dropped_middle(rng, name_units(e)), e.reference, e.name) for e in others],
    )
    add(
        "person",
        "dropped_nisba",
        [(dropped_nisba(name_units(e)), e.reference, e.name) for e in others],
    )
    add(
        "person",
        "arabic_romanisation",
        [
            (arabic_romanisation(rng, n), e.reference, n)
            for e in others
            if e.regime in _ARABIC_REGIMES
            for n in _person_names(e)[:2]
        ],
    )
    add(
        "person",
        "arabic_script",
        [
            (arabic_script(rng, e.original_script), e.reference, e.original_script)
            for e in people
            if e.original_script and re.search("[\u0600-\u06ff]", e.original_script)
        ],
    )
    add(
        "person",
        "korean_romanisation",
        [(korean_romanisation(rng, e), e.reference, e.name) for e in korean],
    )
    add("person", "korean_joined", [(korean_joined(rng, e), e.reference, e.name) for e in korean])
    add(
        "person",
        "typo",
        [(typo(rng, n), e.reference, n) for e in people for n in _person_names(e)[:1]],
    )

    # entities
    add("entity", "legal_form", [(legal_form(rng, e.name), e.reference, e.name) for e in orgs])
    add(
        "entity",
        "abbreviation",
        [(abbreviation(rng, n), e.reference, n) for e in orgs for n in _person_names(e)],
    )
    add(
        "entity",
        "joined_split",
        [(joined_or_split(rng, n), e.reference, n) for e in orgs for n in _person_names(e)],
    )
    add(
        "entity",
        "typo",
        [(typo(rng, n), e.reference, n) for e in orgs for n in _person_names(e)[:1]],
    )

    # vessels (references as the screening register keys them)
    register = register_from_rows(vessels)
    vrefs = [(v.name, v.reference) for v in register.vessels]
    add("vessel", "vessel_prefix", [(vessel_prefix(rng, n), r, n) for n, r in vrefs] * 2)
    add("vessel", "vessel_number", [(vessel_number(rng, n), r, n) for n, r in vrefs] * 3)
    add("vessel", "joined_split", [(joined_or_split(rng, n), r, n) for n, r in vrefs])
    add("vessel", "typo", [(typo(rng, n), r, n) for n, r in vrefs])

    positives = Counter(c.kind for c in cases)
    _negatives(rng, cases, known, people, orgs, [n for n, _ in vrefs], positives)
    return cases


_ARABIC_REGIMES = {"Al-Qaida", "Taliban", "Iraq", "Libya", "Yemen", "Somalia", "Sudan", "Iran"}


def _negatives(
    rng: random.Random,
    cases: list[Case],
    known: _Known,
    people: Sequence[ListEntry],
    orgs: Sequence[ListEntry],
    vessel_names: Sequence[str],
    positives: Counter[str],
) -> None:
    def keep(kind: Kind, variant: str, pool: Iterable[tuple[str, str]], n: int) -> None:
        seen: set[str] = set()
        for q, src in pool:
            if len(seen) >= n:
                return
            if q in seen or known.listed_like(q):
                continue
            seen.add(q)
            cases.append(Case(q, None, kind, variant, src))

    def person_swaps() -> Iterable[tuple[str, str]]:
        """Given name(s) of one listed person with the family name / last part of another of
        the same regime: real name parts, a person who is not listed."""
        by_regime: dict[str, list[list[str]]] = {}
        for e in people:
            u = name_units(e)
            if len(u) >= 2:
                by_regime.setdefault(e.regime, []).append(u)
        groups = [g for g in by_regime.values() if len(g) > 5]
        while True:
            g = rng.choice(groups)
            a, b = rng.sample(g, 2)
            if rng.random() < 0.5:
                yield " ".join(a[:-1] + b[-1:]), " ".join(a)
            else:
                yield " ".join(b[:1] + a[1:]), " ".join(a)

    def org_swaps() -> Iterable[tuple[str, str]]:
        """A listed entity's name with one distinctive word taken from another listed name."""
        vocab = sorted(
            {w for e in orgs for w in _tokens(e.name.upper()) if len(w) >= 5 and w.isalpha()}
        )
        while True:
            e = rng.choice(orgs)
            words = _tokens(e.name.upper())
            idx = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
            if not idx:
                continue
            i = rng.choice(idx)
            words[i] = rng.choice(vocab)
            yield " ".join(words), e.name

    def vessel_lookalikes() -> Iterable[tuple[str, str]]:
        """Same words, another hull number; or one word from another designated vessel."""
        words_all = sorted(
            {w for n in vessel_names for w in _tokens(n) if w.isalpha() and len(w) >= 3}
        )
        while True:
            n = rng.choice(vessel_names)
            m = _TRAILING_NUMBER.match(n)
            if m and rng.random() < 0.6:
                yield f"{m.group(1).strip()} {int(m.group(2)) + rng.randint(1, 9)}", n
            else:
                words = _tokens(n)
                idx = [i for i, w in enumerate(words) if w.isalpha() and len(w) >= 3]
                if idx:
                    i = rng.choice(idx)
                    words[i] = rng.choice(words_all)
                    yield " ".join(words), n

    keep("person", "lookalike_swap", person_swaps(), positives["person"] // 2)
    keep(
        "person",
        "realworld",
        ((n, "faker") for n in realworld_names(rng, 4 * positives["person"], False)),
        positives["person"] // 2,
    )
    keep("entity", "lookalike_swap", org_swaps(), positives["entity"] // 2)
    keep(
        "entity",
        "realworld",
        ((n, "faker") for n in realworld_names(rng, 4 * positives["entity"], True)),
        positives["entity"] // 2,
    )
    keep("vessel", "lookalike_swap", vessel_lookalikes(), positives["vessel"])


# -- development / held-out halves -----------------------------------------------------------------
DEV, HELD = "development", "held-out"


def half_of(case: Case) -> str:
    """The half a case belongs to, by list entry: a positive by the entry (or vessel) it must
    hit, a look-alike by the real name it was made from, a real-world name by itself. Every
    variant of one entry lands in the same half, so tuning on the development half cannot learn
    the held-out entries' names. Deterministic (a hash, not the seed)."""
    key = case.reference or (case.query if case.source == "faker" else case.source)
    return DEV if hashlib.sha256(key.encode()).digest()[0] % 2 == 0 else HELD


def split_halves(cases: Sequence[Case]) -> dict[str, list[Case]]:
    out: dict[str, list[Case]] = {DEV: [], HELD: []}
    for c in cases:
        out[half_of(c)].append(c)
    return out


# -- scoring ------------------------------------------------------------------------------------------
@dataclass
class Counts:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    total: Counts
    by_kind: dict[str, Counts]
    by_variant: dict[tuple[str, str], Counts]
    misses: list[tuple[Case, list[str]]]


def score_cases(cases: Sequence[Case], screen: Callable[[Case], Sequence[object]]) -> Report:
    """``screen(case)`` returns the hits (objects with .reference and .method). A positive is a
    true positive when its reference is among the hits; any hit on another entry by a fuzzy name
    is a false positive too (an exact hit on another entry means the same name is listed twice).
    A negative with any hit is one false positive."""
    total, by_kind, by_variant = Counts(), {}, {}
    misses: list[tuple[Case, list[str]]] = []
    for c in cases:
        hits = list(screen(c))
        refs = [h.reference for h in hits]  # type: ignore[attr-defined]
        tallies = [
            total,
            by_kind.setdefault(c.kind, Counts()),
            by_variant.setdefault((c.kind, c.variant), Counts()),
        ]
        for t in tallies:
            if c.reference is None:
                if refs:
                    t.fp += 1
                else:
                    t.tn += 1
            elif c.reference in refs:
                t.tp += 1
                t.fp += sum(
                    1 for h in hits if h.reference != c.reference and h.method == "name_fuzzy"
                )  # type: ignore[attr-defined]
            else:
                t.fn += 1
                t.fp += len(refs)
        if (c.reference is None and refs) or (c.reference is not None and c.reference not in refs):
            misses.append((c, refs))
    return Report(total, by_kind, by_variant, misses)
