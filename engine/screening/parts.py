"""Part-by-part comparison of two names, as OpenSanctions' logic-v2 does it.

Each name is a sequence of parts (folded words, engine.screening.normalize). Parts of the query
are paired with parts of the listed name: the same folded form; the same loose form (Korean and
Arabic romanisations differ in consonant voicing and vowels: Gim/Kim, Jae/Chae, Sung/Song); one
part against two adjacent ones (joined or split words: "Wonho" / "Won Ho"); a shared name symbol
(rigour's Wikidata-based name groups: Lee / Yi / Ri, Park / Pak / Bak, Young / Yong); or a close
spelling (typos). The score is the weighted mean of the pairs' strengths, where parts left
unpaired count as zero with an asymmetric weight: a query part missing from the listed name
weighs ``EXTRA_QUERY`` (it may name someone else), a listed part missing from the query weighs
the listed part's drop weight (by name kind and position: a dropped middle name or final nisba
is common in persons' names; a given or family name, a part of a Korean name, of an entity or of
a vessel name is seldom left out for nothing). Connectors ("al", "bin", "of") and generic words weigh less.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Indel

from engine.screening.normalize import GENERIC_WORDS, NormName, fold_token
from engine.screening.titles import is_title

EXTRA_QUERY = 0.8  # weight of a query part the listed name lacks (logic-v2's default)
SUBSTITUTED = 0.8  # weight of a listed part missing where the query has another word instead
MIN_PART_SIMILARITY = 0.72  # below this two parts are not a spelling of each other
MIN_FUZZY_LENGTH = 4  # shorter parts pair only when equal in some form ("RI" is not "RYU")
# Two different Korean syllables are two different name elements ("SONG" / "YONG", "CHOL" /
# "CHUL" aside, which the loose form pairs): they never pair as a typo of each other.
_KOREAN_SYLLABLE = re.compile(
    r"^(?:KK|TT|PP|SS|TCH|CH|K|N|T|R|L|M|P|S|J|H|G|B|D)?"
    r"(?:YAE|YEO|WAE|YA|YO|YU|YE|WA|WO|WE|WI|UI|AE|OE|EO|EU|A|O|U|I|E)(?:NG|K|N|L|M|P|T)?$"
)
LOOSE_SCORE = 0.92
SYMBOL_SCORE = 0.9
OTHER_INITIAL = 0.9
COMMON_FROM = 10  # a part in the names of more list entries than this is common
# One identifying part in common and something else unpaired ("Foreign Trade Company" and
# FOREIGN TRADE BANK share only FOREIGN), or only common parts in common and a listed part
# missing: weak evidence, whatever the other weights say.
WEAK_EVIDENCE = 0.9
# Three identifying parts in order agree: not weak evidence even if each is a common name
# ("HAMID AHMAD AL-ALI" for HAMID ABDALLAH AHMAD AL-ALI).
COMMON_ENOUGH = 3
JOIN_MIN = 0.9  # a joined word must spell the two parts (or nearly: a typo in a long one)

_CONNECTORS = frozenset(
    [
        "AL",
        "EL",
        "UL",
        "BIN",
        "BEN",
        "IBN",
        "BINT",
        "BINTI",
        "OF",
        "THE",
        "AND",
        "DE",
        "DU",
        "DES",
        "LA",
        "LE",
        "DEL",
        "VAN",
    ]
)
_KUNYA = frozenset({"ABU", "UMM", "ABOU"})
# Loose form: voicing and vowel quality folded (k/g, p/b, t/d, ch/j, r/l, o/u, e/i), h after a
# letter dropped, and the initial r before i that South Korean spelling drops (Ri/Yi, Rim/Im,
# Ryang/Yang); only ever compared within one candidate's parts, never used for retrieval.
_LOOSE = str.maketrans({"G": "K", "B": "P", "D": "T", "J": "C", "L": "R", "O": "U", "E": "I"})


# Generational suffixes ("RUBEN PESTANO LAVILLA, JR") say little about who is meant.
SUFFIXES = frozenset({"JR", "JNR", "SR", "SNR"})


def part_weight(raw: str) -> float:
    if raw in _CONNECTORS or raw in SUFFIXES or is_title(raw):
        return 0.2
    if raw in _KUNYA:
        return 0.5
    if raw in GENERIC_WORDS:
        return 0.35
    if len(raw) == 1 and raw.isalpha():
        return 0.3
    return 1.0


_HARD_C = re.compile(r"C(?!H)")


def loose_of(raw: str, folded: str) -> str:
    """Loose form of a word; a hard C and X spelled K and KS first (Cyrillic KOMPLEKS = COMPLEX)."""
    if "X" in raw or _HARD_C.search(raw):
        folded = fold_token(_HARD_C.sub("K", raw).replace("X", "KS"))
    return loose(folded)


def loose(folded: str) -> str:
    out = folded.translate(_LOOSE)
    if len(out) > 1:
        out = out[0] + out[1:].replace("H", "")
    if len(out) > 1 and out[0] == "R" and out[1] == "I":
        out = out[1:]
    return out


# Spellings of one name that the loose form does not bring together (Korean surnames written
# after English habit, Korean vowels written two ways), as in rigour's Wikidata name groups; a
# hand table because building rigour's person-name tagger costs ~10 s of CPU in every process.
_NAME_GROUPS = [
    ("PARK", "PAK", "BAK", "BARK"),
    ("RHEE", "LEE", "YI", "RI", "LI", "I"),
    ("ROH", "NOH", "NO", "RO"),
    ("WOO", "U", "OO"),
    ("HUI", "HEE", "HEUI", "HI"),
    ("CHWE", "CHOE", "CHOI"),
    ("RYU", "YU", "YOO", "RYOO"),
    ("SEONG", "SONG", "SUNG"),
]


def _group_key(word: str) -> str:
    return loose(fold_token(word))


_GROUP_OF = {_group_key(w): g[0] for g in _NAME_GROUPS for w in g}


def name_symbol(folded_loose: str) -> str | None:
    """The name group of a part (by its loose form), if it belongs to one."""
    return _GROUP_OF.get(folded_loose)


@dataclass(frozen=True, slots=True)
class Parts:
    folded: tuple[str, ...]
    raw: tuple[str, ...]
    weight: tuple[float, ...]
    loose: tuple[str, ...]
    symbols: tuple[str | None, ...]  # name group of each part (_NAME_GROUPS)
    drop: tuple[float, ...]  # listed names: weight of each part's absence from a query
    titles: int = 0  # the first ``titles`` parts are leading titles: free to leave unpaired
    # listed names: how much a pairing of the part tells (names shared by many listed people,
    # MUHAMMAD, ALI, AL-TIKRITI, KIM, count less than rare ones); 1.0 for queries
    evidence: tuple[float, ...] = ()


def evidence_of(listed_with: int) -> float:
    """Evidence of a part found in the names of ``listed_with`` list entries: 1.0 for a rare
    part, less for a common one (only "rare or not" is used so far)."""
    if listed_with <= COMMON_FROM:
        return 1.0
    return max(0.5, 1.0 - 0.15 * math.log2(listed_with / COMMON_FROM))


def parts_of(norm: NormName, drops: tuple[float, ...] | None = None) -> Parts:
    """The parts of a name: its leading titles too (low weight: "MAULAVI" in a query still
    pairs with the listed "MAULAWI"), then its words. ``drops``: per word of a listed name, the
    weight of its absence from a query (default 0: queries)."""
    raw = tuple(norm.titles) + (norm.raw or norm.tokens)
    folded = tuple(fold_token(t) for t in norm.titles) + norm.tokens
    lo = tuple(loose_of(r, f) for r, f in zip(raw, folded, strict=True))
    weight = tuple(0.2 for _ in norm.titles) + tuple(
        part_weight(r) for r in raw[len(norm.titles) :]
    )
    if drops is None:
        drops = (0.0,) * len(norm.tokens)
    return Parts(
        folded,
        raw,
        weight,
        lo,
        tuple(map(name_symbol, lo)),
        (0.0,) * len(norm.titles) + drops,
        len(norm.titles),
    )


SAME, SPELLING, JOINED, SYMBOL, FUZZY = "same", "spelling", "joined/split", "name symbol", "fuzzy"
Pair = tuple[tuple[int, ...], tuple[int, ...], float, str]


def _syllables(a: str, b: str) -> bool:
    return (
        len(a) <= 5
        and len(b) <= 5
        and bool(_KOREAN_SYLLABLE.match(a) and _KOREAN_SYLLABLE.match(b))
    )


def _ratio(a: str, b: str) -> float:
    return Indel.normalized_similarity(a, b)


def align(q: Parts, c: Parts) -> tuple[float, list[Pair], bool]:
    """(score 0..1, the pairs, whether an identifying part was paired)."""
    nq, nc = len(q.folded), len(c.folded)
    qfree = [True] * nq
    cfree = [True] * nc
    pairs: list[Pair] = []
    left = nq
    for i in range(nq):  # 1. same folded form
        f = q.folded[i]
        for j in range(nc):
            if cfree[j] and c.folded[j] == f:
                pairs.append(((i,), (j,), 1.0, SAME))
                qfree[i] = cfree[j] = False
                left -= 1
                break
    if left and len(pairs) < nc:
        for i in range(nq):  # 2. same loose form
            if qfree[i]:
                lq = q.loose[i]
                for j in range(nc):
                    if cfree[j] and c.loose[j] == lq:
                        pairs.append(((i,), (j,), LOOSE_SCORE, SPELLING))
                        qfree[i] = cfree[j] = False
                        left -= 1
                        break
    if left and len(pairs) < nc:
        _joins(q, c, qfree, cfree, pairs)
        _fuzzy(q, c, qfree, cfree, pairs)
    num = den = 0.0
    identifying = 0
    qw, cw, ce = q.weight, c.weight, c.evidence
    rare = False
    for qi, cj, s, _ in pairs:
        if len(qi) == 1 and len(cj) == 1:  # one part each (the usual case): no sums
            j = cj[0]
            w = max(qw[qi[0]], cw[j])
            e = ce[j] if ce else 1.0
        else:
            w = max(sum(qw[i] for i in qi), sum(cw[j] for j in cj))
            e = min(ce[j] for j in cj) if ce else 1.0
        num += w * s
        den += w
        if w >= 0.9:
            identifying += 1
            if e >= 1.0:
                rare = True
    loose_end = dropped = False
    for i in range(q.titles, nq):  # an unpaired leading title ("Sheikh", "M/V") costs nothing
        if qfree[i]:
            den += EXTRA_QUERY * qw[i]
            loose_end = loose_end or qw[i] > 0.2
    # with a query word left over, a listed word missing was replaced, not left out ("CENTRAL
    # MILITARY DEPARTMENT" for CENTRAL MILITARY COMMISSION): it costs what an extra word does
    swapped = SUBSTITUTED if loose_end else 0.0
    for j in range(nc):
        if cfree[j]:
            den += max(c.drop[j], swapped) * cw[j]
            dropped = dropped or cw[j] > 0.2
    score = num / den if den else 0.0
    if (identifying == 1 and (loose_end or dropped)) or (
        dropped and not rare and identifying < COMMON_ENOUGH
    ):
        # one identifying part in common, or a listed part missing while only two common name
        # parts agree ("Ahmad Ali" and ALI AHMED KHALFAN): weak evidence, whatever the weights
        score *= WEAK_EVIDENCE
    return score, pairs, identifying > 0


def _joins(q: Parts, c: Parts, qfree: list[bool], cfree: list[bool], pairs: list[Pair]) -> None:
    """One part against two adjacent parts of the other name ("YOUNGWON" ~ "YONG WON")."""
    for one, two, one_free, two_free, flip in (
        (q, c, qfree, cfree, False),
        (c, q, cfree, qfree, True),
    ):
        for k in range(len(two.folded) - 1):
            if not (two_free[k] and two_free[k + 1]):
                continue
            joined = two.folded[k] + two.folded[k + 1]
            jl = two.loose[k] + two.loose[k + 1]
            for m in range(len(one.folded)):
                if not one_free[m]:
                    continue
                f = one.folded[m]
                if f == joined:
                    s = 1.0
                elif one.loose[m] == jl:
                    s = LOOSE_SCORE
                else:
                    if abs(len(f) - len(joined)) > 1 or f[0] != joined[0]:
                        continue
                    s = _ratio(f, joined)
                    if s < JOIN_MIN:
                        continue
                one_free[m] = two_free[k] = two_free[k + 1] = False
                pair = ((m,), (k, k + 1), s, JOINED)
                pairs.append(((k, k + 1), (m,), s, JOINED) if flip else pair)
                break


def _fuzzy(q: Parts, c: Parts, qfree: list[bool], cfree: list[bool], pairs: list[Pair]) -> None:
    cands: list[tuple[float, int, int, str]] = []
    for i in range(len(q.folded)):
        if not qfree[i]:
            continue
        qf, qr, q_sym = q.folded[i], q.raw[i], q.symbols[i]
        for j in range(len(c.folded)):
            if not cfree[j]:
                continue
            cf = c.folded[j]
            s = 0.0
            lq, lc = len(qf), len(cf)
            # Indel similarity is at most 2 min / (sum): skip pairs too different in length
            if (
                lq >= MIN_FUZZY_LENGTH
                and lc >= MIN_FUZZY_LENGTH
                and 2 * min(lq, lc) >= 0.72 * (lq + lc)
            ):
                s = max(_ratio(qf, cf), _ratio(qr, c.raw[j]))
                if q.loose[i][0] != c.loose[j][0]:
                    s *= OTHER_INITIAL  # typos keep the first letter: "OBAIDULLAH" / "HAMIDULLAH"
            how = FUZZY
            if s < SYMBOL_SCORE and q_sym is not None and q_sym == c.symbols[j]:
                s, how = SYMBOL_SCORE, SYMBOL
            if s >= MIN_PART_SIMILARITY:
                if how == FUZZY and _syllables(qr, c.raw[j]):
                    continue
                cands.append((s, i, j, how))
    cands.sort(reverse=True)
    for s, i, j, how in cands:
        if qfree[i] and cfree[j]:
            qfree[i] = cfree[j] = False
            pairs.append(((i,), (j,), s, how))


@dataclass(frozen=True, slots=True)
class PartMatch:
    """One line of the explanation: which query part(s) met which listed part(s), how strongly."""

    query: str  # the query's word(s) as written after transliteration; "" if the listed part is unmatched
    listed: str  # the listed name's word(s); "" if the query part is unmatched
    score: float
    how: str  # same | spelling | joined/split | name symbol | fuzzy | not in listed name | not in query


def explain(q: Parts, c: Parts, pairs: Sequence[Pair]) -> tuple[PartMatch, ...]:
    out = [
        PartMatch(" ".join(q.raw[i] for i in qi), " ".join(c.raw[j] for j in cj), round(s, 3), how)
        for qi, cj, s, how in sorted(pairs, key=lambda p: p[0])
    ]
    used_q = {i for p in pairs for i in p[0]}
    used_c = {j for p in pairs for j in p[1]}
    out += [
        PartMatch(r, "", 0.0, "not in listed name") for i, r in enumerate(q.raw) if i not in used_q
    ]
    out += [PartMatch("", r, 0.0, "not in query") for j, r in enumerate(c.raw) if j not in used_c]
    return tuple(out)
