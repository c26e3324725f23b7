"""Candidate index and scorer over the names of a list snapshot (or of the vessel register).

Blocking: each informative name token is posted under itself, its phonetic key and its first three
letters (a typo later in the word), and each whole name under its order-free key. A query collects candidates by IDF-weighted shared keys and scores
only the best few dozen with rapidfuzz, so one party costs tens of microseconds, not a list scan.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from engine.screening.normalize import NormName, normalise, phonetic

MAX_CANDIDATES = 40
# Phonetic and prefix keys shared by this many names carry no signal ("MHMT", "ABD"): skipped,
# so one common token cannot drag hundreds of names into scoring. Exact-token keys are always used.
MAX_WEAK_POSTING = 120
MIN_SIGNIFICANT_CHARS = 4  # shorter names ("AB", "FTB"...) never match on their own
MIN_TOKEN_SIMILARITY = 0.72  # every informative token of the query needs a counterpart this close
EXTRA_TOKEN_PENALTY = 0.06  # per identifying word of the longer name with no counterpart
# "FOREIGN TRADE BANK OF THE DPRK" holds all of "FOREIGN TRADE BANK" plus only generic words
CONTAINED_SCORE = 0.9
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


@dataclass(frozen=True, slots=True)
class NameMatch:
    record: NameRecord
    score: float  # 0..1
    exact: bool


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


RESULT_CACHE = 65536  # names remembered per index: counterparties repeat across a stream


class NameIndex:
    def __init__(self) -> None:
        self.records: list[NameRecord] = []
        self._postings: dict[str, list[int]] = defaultdict(list)
        self._idf: dict[str, float] = {}
        self._results: dict[tuple[str, float], list[NameMatch]] = {}

    def add(
        self, target: int, name: str, label: str, factor: float = 1.0, one_word: bool = True
    ) -> None:
        """Index one name of ``target``. ``one_word=False`` leaves out one-word names: a person's
        alias "Hassan" is a common given name and must never match on its own."""
        for variant, suffix in name_variants(name):
            norm = normalise(variant)
            if not norm.tokens or (len(norm.tokens) == 1 and not one_word):
                continue
            rid = len(self.records)
            self.records.append(
                NameRecord(
                    target,
                    variant,
                    label + suffix,
                    norm,
                    factor,
                    tuple(sorted(_DIGITS.findall(norm.latin))),
                    frozenset(norm.tokens),
                    "".join(norm.tokens),
                )
            )
            keys = {"K:" + norm.key}
            for tok in norm.informative:
                keys.add("T:" + tok)
                keys.add("P:" + phonetic(tok))
                keys.add("F:" + tok[:3])
            for key in keys:
                self._postings[key].append(rid)

    def freeze(self) -> None:
        n = max(len(self.records), 1)
        self._idf = {k: math.log(1 + n / len(v)) for k, v in self._postings.items()}

    def match(self, name: str, threshold: float) -> list[NameMatch]:
        """Records scoring at or above ``threshold``, best first (one per target). The index is
        immutable once frozen, so results are remembered (bounded; cleared when full)."""
        key = (name, threshold)
        found = self._results.get(key)
        if found is None:
            if len(self._results) >= RESULT_CACHE:
                self._results.clear()
            found = self._results[key] = self._match(name, threshold)
        return found

    def _match(self, name: str, threshold: float) -> list[NameMatch]:
        q = normalise(name)
        if not q.tokens:
            return []
        exact_ids = self._postings.get("K:" + q.key, ())
        if q.significant_length < MIN_SIGNIFICANT_CHARS and not (exact_ids and len(q.tokens) > 1):
            return []
        q_digits = tuple(sorted(_DIGITS.findall(q.latin)))
        best: dict[int, NameMatch] = {}
        for rid in exact_ids:
            rec = self.records[rid]
            if rec.digits == q_digits and (q.informative or len(q.tokens) > 1):
                self._keep(best, NameMatch(rec, rec.factor, True))
        if q.informative:
            weights: dict[int, float] = defaultdict(float)
            postings, idf = self._postings, self._idf
            for tok in q.informative:
                exact = postings.get("T:" + tok)
                # the prefix key only helps a word the list does not have as such (a typo)
                weak = (
                    (("P:" + phonetic(tok), 0.7),)
                    if exact
                    else (("P:" + phonetic(tok), 0.7), ("F:" + tok[:3], 0.4))
                )
                if exact:
                    wk = idf["T:" + tok]
                    for rid in exact:
                        weights[rid] += wk
                for key, w in weak:
                    ids = postings.get(key)
                    if ids and len(ids) <= MAX_WEAK_POSTING:
                        wk = w * idf[key]
                        for rid in ids:
                            weights[rid] += wk
            if len(weights) > MAX_CANDIDATES:
                ranked = heapq.nlargest(MAX_CANDIDATES, weights, key=weights.__getitem__)
            else:
                ranked = list(weights)
            records = self.records
            cutoff = threshold * 100
            # one C call scores every candidate's order-free key; Python only sees the passers
            passing = {
                ranked[i]
                for _, _, i in process.extract(
                    q.key,
                    [records[r].norm.key for r in ranked],
                    scorer=fuzz.ratio,
                    score_cutoff=cutoff * 0.9,
                    limit=None,
                )
            }
            q_joined = "".join(q.tokens)
            q_set = frozenset(q.tokens)
            n_q = len(q.tokens)
            for rid in ranked:
                rec = records[rid]
                if rid in exact_ids or rec.digits != q_digits:
                    continue
                if n_q > len(rec.tokset) >= 2 and _contains_plus_generic(q, q_set, rec):
                    self._keep(best, NameMatch(rec, CONTAINED_SCORE * rec.factor, False))
                    continue
                if rid not in passing:
                    continue
                raw = max(fuzz.ratio(q.key, rec.norm.key), fuzz.ratio(q_joined, rec.joined))
                score = raw * rec.factor / 100
                if score >= threshold:
                    score = _aligned_score(q, rec.norm, score)
                    if score >= threshold:
                        self._keep(best, NameMatch(rec, score, False))
        return sorted(best.values(), key=lambda m: -m.score)

    @staticmethod
    def _keep(best: dict[int, NameMatch], m: NameMatch) -> None:
        cur = best.get(m.record.target)
        if cur is None or (m.exact, m.score) > (cur.exact, cur.score):
            best[m.record.target] = m


def _contains_plus_generic(q: NormName, q_set: frozenset[str], c: NameRecord) -> bool:
    """Every word of a list name of two or more words (one identifying) is in the longer query,
    and the query's other words are all generic (country names, "of the", "trading" ...)."""
    return (
        bool(c.norm.informative) and c.tokset <= q_set and all(t in c.tokset for t in q.informative)
    )


def _aligned_score(q: NormName, c: NormName, score: float) -> float:
    """0 unless every informative word of the shorter name has a close counterpart in the other
    (one strong shared surname cannot carry a different given name into a match); identifying
    words of the longer name left over (a daughter's given name before her father's name) cost
    EXTRA_TOKEN_PENALTY each."""
    short, long_ = (q, c) if len(q.tokens) <= len(c.tokens) else (c, q)
    cutoff = MIN_TOKEN_SIMILARITY * 100
    if not all(
        any(fuzz.ratio(t, u, score_cutoff=cutoff) for u in long_.tokens) for t in short.informative
    ):
        return 0.0
    extra = sum(
        1
        for t in long_.informative
        if not any(fuzz.ratio(t, u, score_cutoff=cutoff) for u in short.tokens)
    )
    return score - EXTRA_TOKEN_PENALTY * extra
