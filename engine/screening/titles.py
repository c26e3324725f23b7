"""Titles written before a name that are not part of it: honorifics ("Mr", "Dr", "Sheikh",
"Mullah", "His Excellency") and vessel prefixes ("M/V", "MT", "SS").

The person and object prefix lists are rigour's (OpenSanctions, the data behind yente's
matcher); rigour has no Islamic religious and honorific titles, which are frequent before the
names on the Al-Qaida and Taliban lists and in documents naming those persons, so those are
added here. Removed only from the head of a name, and never all of it.
"""

from __future__ import annotations

from functools import lru_cache

# Religious and honorific titles of Arabic, Persian, Pashto and Urdu usage (romanised), and ranks
# written in abbreviated form in trade documents.
_EXTRA_TITLES = """SHEIKH SHAYKH SHEIK SHAIKH SHEKH HAJI HAJJI HADJI ALHAJ ALHAJJ AL-HAJ AL-HAJJ
HAJ HADJ MULLAH MULLA MOLLA MOLLAH MAULVI MAWLAWI MOULVI MOLVI MAWLAVI MAULAWI MAULANA MAWLANA
MOLANA QARI QAARI MUFTI USTADH USTAZ USTAD AMIR-UL-MOMININ SAYYIDUNA HAZRAT JANAB
ENG ENGR ENGINEER GEN COL LT MAJ CAPT CPT BRIG CMDR SGT ADM DR PROF MR MRS MS MISS COMRADE
H.E. H.H."""


def _key(phrase: str) -> tuple[str, ...]:
    from engine.screening.normalize import to_latin

    return tuple(to_latin(phrase).split())


@lru_cache(maxsize=1)
def title_phrases() -> frozenset[tuple[str, ...]]:
    from rigour._core import obj_name_prefixes_list, person_name_prefixes_list

    phrases = [*person_name_prefixes_list(), *obj_name_prefixes_list(), *_EXTRA_TITLES.split()]
    return frozenset(k for k in map(_key, phrases) if k)


@lru_cache(maxsize=1)
def _longest() -> int:
    return max(len(p) for p in title_phrases())


@lru_cache(maxsize=1)
def _first_words() -> frozenset[str]:
    return frozenset(p[0] for p in title_phrases())


def strip_titles(words: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """(the titles removed, the rest) for upper-case latin words; at least one word is kept."""
    if len(words) < 2 or words[0] not in _first_words():
        return (), words
    phrases, removed, i = title_phrases(), [], 0
    while i < len(words) - 1:
        for n in range(min(_longest(), len(words) - 1 - i), 0, -1):
            if tuple(words[i : i + n]) in phrases:
                removed += words[i : i + n]
                i += n
                break
        else:
            break
    return tuple(removed), words[i:]


@lru_cache(maxsize=1)
def _single_titles() -> frozenset[str]:
    return frozenset(p[0] for p in title_phrases() if len(p) == 1)


def is_title(word: str) -> bool:
    """A one-word title ("HAJJI" in "AGHA JAN HAJJI") anywhere in a name."""
    return word in _single_titles()
