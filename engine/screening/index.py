"""Candidate index and scorer over the names of a list snapshot (or of the vessel register).

Blocking: each informative name token is posted under itself, its phonetic key and its first three
letters (a typo later in the word), each pair of adjacent words under the two joined, and each
whole name under its order-free key. A query collects candidates by IDF-weighted shared keys (the
same candidates whatever the alert threshold) and compares only the best few dozen part by part
(engine.screening.parts), so one party costs tens of microseconds, not a list scan.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from operator import itemgetter

from rapidfuzz import fuzz, process

from engine.screening.normalize import NormName, normalise, phonetic
from engine.screening.parts import (
    SUFFIXES,
    Pair,
    PartMatch,
    Parts,
    align,
    evidence_of,
    explain,
    parts_of,
)

MAX_CANDIDATES = 30
# Of those, at most SHORTLIST whose quick whole-name pre-score reaches QUICK_MIN are compared
# part by part (every true match of the evaluation set pre-scores 65 or more).
SHORTLIST = 10
QUICK_MIN = 60
# Phonetic and prefix keys shared by this many names carry no signal ("MHMT", "ABD"): skipped,
# so one common token cannot drag hundreds of names into scoring. Exact-token keys are always used.
MAX_WEAK_POSTING = 120
MIN_SIGNIFICANT_CHARS = 4  # shorter names ("AB", "FTB"...) never match on their own
# Scores below this are not kept. It is the lowest threshold settings accept, so what a match
# returns never depends on the alert threshold: the screener filters by threshold afterwards.
REPORT_FLOOR = 0.5
# "FOREIGN TRADE BANK OF THE DPRK" holds all of "FOREIGN TRADE BANK" plus only generic words
CONTAINED_SCORE = 0.9
# Weight of a listed part the query lacks (see engine.screening.parts), by kind of name.
DROP_PERSON = 0.2  # dropped middle names and nisbas are common
DROP_ENTITY = 0.4
DROP_STRICT = 0.8  # Korean names (no middle names to drop) and vessel names
_DIGITS = re.compile(r"\d+")
_PAREN = re.compile(r"\(([^()]*)\)")


@dataclass(frozen=True, slots=True)
class NameRecord:
    target: int  # index of the list entry / vessel this name belongs to
    name: str  # as the list writes it
    label: str  # what kind of name: "primary name", "a.k.a.", "f.k.a.", "low-quality alias", ...
    norm: NormName
    factor: float  # score multiplier (low-quality aliases count a little less)
    digits: tuple[str, ...]  # numbers in the name must agree ("HAO FAN 6" is not "HAO FAN 2")
    tokset: frozenset[str]  # norm.tokens as a set (containment test)
    joined: str  # norm.tokens in order without spaces ("ABDUL RAHMAN" ~ "ABDULRAHMAN")
    parts: Parts  # for the part-by-part comparison
    drop: float  # weight of one of its parts missing from a query
    loose_key: str  # loose forms sorted: a quick, spelling-tolerant pre-score
    loose_joined: str  # loose forms in order without spaces


@dataclass(frozen=True, slots=True)
class NameMatch:
    record: NameRecord
    score: float  # 0..1
    exact: bool
    alignment: tuple[PartMatch, ...] = ()  # query part -> listed part, strength, unmatched parts
    pairs: tuple[Pair, ...] | list[Pair] = ()  # the alignment's raw pairs (query, listed indices)


def _is_acronym(inner: str, outer: str) -> bool:
    """ "FTB" of "FOREIGN TRADE BANK", "JAK-T" of "JUND AL-KHILAFAH IN TUNISIA": the letters are,
    in order, initials of the outer words. "(KENYA)" or "(HONG KONG)" are qualifiers, not names."""
    letters = re.sub(r"[^A-Z0-9]", "", inner.upper())
    if not 2 <= len(letters) <= 10 or " " in inner.strip():
        return False
    initials = iter(w[0] for w in re.split(r"[\s\-]+", outer.upper()) if w)
    return all(any(c == i for i in initials) for c in letters)


def name_variants(name: str) -> list[tuple[str, str]]:
    """The name, plus for "FOREIGN TRADE BANK (FTB)" the name without the bracket and the
    acronym as a name of its own."""
    out = [(name, "")]
    outer = _PAREN.sub(" ", name).strip()
    acronyms = [m.strip() for m in _PAREN.findall(name) if _is_acronym(m, outer)]
    if acronyms:
        out.append((outer, " (without bracketed acronym)"))
        out.extend((m, " (bracketed acronym)") for m in acronyms)
    return out


_second = itemgetter(1)
RESULT_CACHE = 65536  # names remembered per index: counterparties repeat across a stream


class NameIndex:
    def __init__(self) -> None:
        self.records: list[NameRecord] = []
        self._postings: dict[str, list[int]] = defaultdict(list)
        self._idf: dict[str, float] = {}
        self._results: dict[str, tuple[Parts | None, list[NameMatch]]] = {}
        self._tokens: dict[str, dict[int, float]] = {}
        self._loose_keys: list[str] = []

    def add(
        self,
        target: int,
        name: str,
        label: str,
        factor: float = 1.0,
        one_word: bool = True,
        drop: float = DROP_ENTITY,
    ) -> None:
        """Index one name of ``target``. ``one_word=False`` leaves out one-word names: a person's
        alias "Hassan" is a common given name and must never match on its own."""
        for variant, suffix in name_variants(name):
            norm = normalise(variant)
            single = len(norm.tokens) == 1 and not one_word
            if not norm.tokens or (single and not norm.titles):
                continue
            rid = len(self.records)
            self.records.append(
                NameRecord(
                    target,
                    variant,
                    label + suffix,
                    norm,
                    factor,
                    tuple(sorted(_DIGITS.findall(" ".join(norm.raw)))),
                    frozenset(norm.tokens),
                    "".join(norm.tokens),
                    (pp := parts_of(norm, _drops(variant, norm, drop))),
                    drop,
                    " ".join(sorted(pp.loose[pp.titles :])),
                    "".join(pp.loose[pp.titles :]),
                )
            )
            # "MULLAH SHAFIQULLAH" is compared part by part, never equal to "Shafiqullah" alone
            keys = set() if single else {"K:" + norm.key}
            for tok in norm.informative:
                keys.add("T:" + tok)
                keys.add("P:" + phonetic(tok))
                keys.add("F:" + tok[:3])
            for a, b in zip(norm.tokens, norm.tokens[1:], strict=False):
                keys.add("T:" + a + b)  # written joined elsewhere: "TAN CHON" as "TANCHON"
            for key in keys:
                self._postings[key].append(rid)

    def freeze(self) -> None:
        self._loose_keys = [rec.loose_key for rec in self.records]
        n = max(len(self.records), 1)
        self._idf = {k: math.log(1 + n / len(v)) for k, v in self._postings.items()}
        holders: dict[str, set[int]] = defaultdict(set)
        for rec in self.records:
            for f in rec.parts.folded:
                holders[f].add(rec.target)
        self.records = [
            replace(
                rec,
                parts=replace(
                    rec.parts,
                    evidence=tuple(evidence_of(len(holders[f])) for f in rec.parts.folded),
                ),
            )
            for rec in self.records
        ]

    def forget(self) -> None:
        """Clear what is remembered of earlier queries (the bench measures cold screening)."""
        self._results.clear()
        self._tokens.clear()

    def match(self, name: str, threshold: float = REPORT_FLOOR) -> list[NameMatch]:
        """Records scoring at or above ``threshold``, best first (one per target). Candidates
        and scores do not depend on ``threshold`` (it only filters what is returned). The index
        is immutable once frozen, so results are remembered (bounded; cleared when full); the
        part-by-part explanation is written only for what is returned."""
        found = self._results.get(name)
        if found is None:
            if len(self._results) >= RESULT_CACHE:
                self._results.clear()
            found = self._results[name] = self._match(name)
        qp, matches = found
        out = []
        for k, m in enumerate(matches):
            if m.score < threshold:
                break  # best first
            if qp is not None and not m.alignment:
                m = matches[k] = replace(m, alignment=explain(qp, m.record.parts, m.pairs))
            out.append(m)
        return out

    def _token_weights(self, tok: str) -> dict[int, float]:
        """What one query word adds to each record's candidate weight: its own posting, its
        phonetic key's and (for a word the list lacks: a typo) its prefix key's, IDF-weighted.
        The same word recurs across names, so this is remembered (bounded)."""
        found = self._tokens.get(tok)
        if found is not None:
            return found
        if len(self._tokens) >= RESULT_CACHE:
            self._tokens.clear()
        postings, idf = self._postings, self._idf
        out: dict[int, float] = {}
        exact = postings.get("T:" + tok)
        if exact:
            wk = idf["T:" + tok]
            out = dict.fromkeys(exact, wk)
        # the prefix key only helps a word the list does not have as such (a typo)
        weak = (
            (("P:" + phonetic(tok), 0.7),)
            if exact
            else (
                ("P:" + phonetic(tok), 0.7),
                ("F:" + tok[:3], 0.4),
            )
        )
        for key, w in weak:
            ids = postings.get(key)
            if ids and len(ids) <= MAX_WEAK_POSTING:
                wk = w * idf[key]
                get = out.get
                for rid in ids:
                    out[rid] = get(rid, 0.0) + wk  # (built once per word, then remembered)
        self._tokens[tok] = out
        return out

    def _candidates(self, q: NormName) -> list[int]:
        postings, idf = self._postings, self._idf
        weights: defaultdict[int, float] = defaultdict(float)
        # the query's adjacent words joined ("SAM JONG" for a listed "SAMJONG")
        for a, b in zip(q.tokens, q.tokens[1:], strict=False):
            key = "T:" + a + b
            ids = postings.get(key)
            if ids:
                wk = idf[key]
                for rid in ids:
                    weights[rid] += wk
        for tok in q.informative:
            add = self._token_weights(tok)
            if not weights:
                weights.update(add)
                continue
            for rid, w in add.items():
                weights[rid] += w
        if len(weights) > MAX_CANDIDATES:
            ranked = sorted(weights.items(), key=_second, reverse=True)  # stable: ties keep order
            return [rid for rid, _ in ranked[:MAX_CANDIDATES]]
        return list(weights)

    def _shortlist(self, qp: Parts, ids: list[int]) -> list[int]:
        """The candidates worth comparing part by part: a quick spelling-tolerant pre-score of
        the whole name (loose forms, order-free, one C call) of at least QUICK_MIN, at most
        SHORTLIST of them. Fixed bounds: the same whatever the alert threshold."""
        if len(ids) <= 1:
            return ids
        keys = self._loose_keys
        best = {
            i: sc
            for _, sc, i in process.extract(
                " ".join(sorted(qp.loose[qp.titles :])),
                [keys[r] for r in ids],
                scorer=fuzz.token_set_ratio,
                score_cutoff=QUICK_MIN,
                limit=None,
            )
        }
        top = heapq.nlargest(SHORTLIST, best, key=best.__getitem__)
        return [ids[i] for i in top]

    def _match(self, name: str) -> tuple[Parts | None, list[NameMatch]]:
        q = normalise(name)
        if not q.tokens:
            return None, []
        exact_ids = self._postings.get("K:" + q.key, ())
        if q.significant_length < MIN_SIGNIFICANT_CHARS and not (exact_ids and len(q.tokens) > 1):
            return None, []
        q_digits = tuple(sorted(_DIGITS.findall(" ".join(q.raw))))
        best: dict[int, NameMatch] = {}
        qp = parts_of(q)
        for rid in exact_ids:
            rec = self.records[rid]
            if rec.digits == q_digits and (q.informative or len(q.tokens) > 1):
                _, pairs, _ = align(qp, rec.parts)
                conflict = _title_conflict(q, rec)
                self._keep(best, NameMatch(rec, rec.factor * conflict, conflict == 1.0, (), pairs))
        if not q.informative:
            return qp, sorted(best.values(), key=lambda m: -m.score)
        q_set = frozenset(q.tokens)
        n_q = len(q.tokens)
        records = self.records
        for rid in self._shortlist(qp, self._candidates(q)):
            rec = records[rid]
            if rid in exact_ids or rec.digits != q_digits:
                continue  # hull and other numbers in a name must agree ("HAO FAN 6" != "HAO FAN 2")
            cur = best.get(rec.target)
            if cur is not None and cur.exact:
                continue
            if n_q > len(rec.tokset) >= 2 and _contains_plus_generic(q, q_set, rec):
                _, pairs, _ = align(qp, rec.parts)
                self._keep(best, NameMatch(rec, CONTAINED_SCORE * rec.factor, False, (), pairs))
                continue
            score, pairs, identifying = align(qp, rec.parts)
            score *= rec.factor * _title_conflict(q, rec)
            if identifying and score >= REPORT_FLOOR and (cur is None or score > cur.score):
                self._keep(best, NameMatch(rec, score, False, (), pairs))
        found = sorted(best.values(), key=lambda m: -m.score)
        return qp, _undominated(found, len(qp.folded), qp.titles)

    @staticmethod
    def _keep(best: dict[int, NameMatch], m: NameMatch) -> None:
        cur = best.get(m.record.target)
        if cur is None or (m.exact, m.score) > (cur.exact, cur.score):
            best[m.record.target] = m


def _drops(name: str, norm: NormName, drop: float) -> tuple[float, ...]:
    """Per word of a listed name, the weight of its absence from a query. For persons (``drop`` =
    DROP_PERSON) only middle names and a final nisba ("AL-TIKRITI") are cheap to leave out: the
    given name and the family name are what tells relatives apart. "FAMILY, Given Middle" puts
    the family name before the comma."""
    n = len(norm.tokens)
    if drop != DROP_PERSON or n < 3:
        return (drop if drop != DROP_PERSON else DROP_STRICT,) * n if n < 3 else (drop,) * n
    out = [drop] * n
    if "," in name and normalise(name.rsplit(",", 1)[1]).tokens not in ((), ("JR",), ("SR",)):
        head = len(normalise(name.split(",", 1)[0]).tokens)
        strict = set(range(min(head, n))) | ({head} if head < n else set())
    else:
        last = n - 2 if norm.raw[n - 1] in SUFFIXES else n - 1  # the family name before ", JR"
        nisba = n >= 3 and norm.raw[last - 1] in ("AL", "EL")
        strict = {0} if nisba else {0, last}
    for i in strict:
        out[i] = DROP_STRICT
    return tuple(out)


def _contains_plus_generic(q: NormName, q_set: frozenset[str], c: NameRecord) -> bool:
    """Every word of a list name of two or more words (one identifying) is in the longer query,
    and the query's other words are all generic (country names, "of the", "trading" ...)."""
    return (
        bool(c.norm.informative) and c.tokset <= q_set and all(t in c.tokset for t in q.informative)
    )


# A title before a one-word name is part of what identifies it ("Haji Aminullah" is one person
# of several called Aminullah): another title in the query before the same word is weak evidence.
TITLE_CONFLICT = 0.85


def _title_conflict(q: NormName, rec: NameRecord) -> float:
    titles = rec.norm.titles
    if not titles or not q.titles or len(rec.norm.tokens) != 1 or set(q.titles) & set(titles):
        return 1.0
    return TITLE_CONFLICT


def _strengths(m: NameMatch, n: int, titles: int) -> list[float]:
    """Per query word (leading titles aside: free to leave unpaired), its pairing's strength."""
    out = [0.0] * n
    for qi, _, s, _ in m.pairs:
        for i in qi:
            out[i] = s
    return out[titles:]


def _unpaired_listed(m: NameMatch) -> int:
    """Listed words (not titles) the query left unpaired."""
    paired = {j for _, cj, _, _ in m.pairs for j in cj}
    return sum(
        1 for j in range(m.record.parts.titles, len(m.record.parts.folded)) if j not in paired
    )


def _undominated(found: list[NameMatch], n: int, titles: int) -> list[NameMatch]:
    """Drop a fuzzy match that another listed name explains better in every part: the other
    pairs each query part at least as strongly (more strongly in one, or leaving fewer of its own
    words unpaired) and scores higher as a whole. The list itself
    keeps "KOREA TAESONG TRADING" and "KOREA DAESONG TRADING" apart, so a query spelt exactly
    like one is not a variant of the other; "MOHAMMAD AHMADI" is not "Mohammad Shafiq Ahmadi"
    when MOHAMMAD AHMADI is listed. The better match is kept, so whatever the threshold a query
    that alerted still alerts."""
    if len(found) < 2:
        return found
    strengths = [_strengths(m, n, titles) for m in found]
    left = [_unpaired_listed(m) for m in found]
    out = []
    for k, m in enumerate(found):
        sk = strengths[k]
        dominated = not m.exact and any(
            found[a].score > m.score
            and found[a].record.target != m.record.target
            and all(x >= y for x, y in zip(strengths[a], sk, strict=True))
            and (strengths[a] != sk or left[a] < left[k])
            for a in range(k)
        )
        if not dominated:
            out.append(m)
    return out
