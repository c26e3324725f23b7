"""The screener the rules engine calls: ``screen(event) -> list[ScreeningHit]``.

Which designations: the default screener reconstructs, from every stored snapshot, who was listed
on the event's day (engine.lists.history via engine.screening.designations): an entry counts from
its listing date until a snapshot no longer has it, at lower confidence inside the window where
its removal is known only to lie. The decision records the reconstruction's version (a hash of
the snapshots it was built from); ``pinned(version)`` rebuilds exactly that reconstruction for a
replay, whatever was imported since. A screener over bare snapshots (``from_entries``, and replays
of decisions that cited one snapshot) uses the newest snapshot at or before ``occurred_at`` (the
oldest for older events) with no date filter, as before.

Designated vessels come from the register file and count only from their designation date.
"""

from __future__ import annotations

import bisect
import copy
import gc
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from engine.lists.model import ListEntry
from engine.models.events import Entity, Event, Identifiers, Party, Vessel
from engine.models.screening import NamePartAlignment, ScreeningHit
from engine.screening.designations import LazyDesignations
from engine.screening.index import (
    DROP_ENTITY,
    DROP_PERSON,
    DROP_STRICT,
    NameIndex,
    NameMatch,
)
from engine.screening.parts import PartMatch
from engine.screening.settings import ScreeningSettings, get_screening_settings
from engine.screening.vessels import VesselRegister, load_register

_ALIAS_LABEL = {
    "Good": ("good-quality alias", 1.0),
    "Low": ("low-quality alias", 0.96),
    "a.k.a.": ("a.k.a.", 1.0),
    "f.k.a.": ("f.k.a. (former name)", 1.0),
    "": ("alias", 1.0),
}
MEMO_LIMIT = 200_000  # memoised party screenings kept (a replay's memo is emptied when full)
_METHOD_RANK = {
    "imo": 3,
    "bic": 3,
    "lei": 3,
    "passport": 3,
    "registration_number": 3,
    "name_exact": 2,
    "name_fuzzy": 1,
}


def _drop_weight(e: ListEntry) -> float:
    """How much a listed part missing from the query costs, by the name's kind: persons often
    go without a middle name or nisba; Korean names (family name + given name, no middle names)
    and entity names seldom lose a part for nothing."""
    if e.kind == "entity":
        return DROP_ENTITY
    korean = e.regime == "DPRK" or any("KOREA" in n.upper() for n in e.nationality)
    return DROP_STRICT if korean else DROP_PERSON


def alignment_text(parts: Sequence[PartMatch]) -> str:
    """'KIM = KIM, YOUNG ~ YONG 0.90 (name symbol), not in query: AL-ANIZI'."""
    paired = [
        f"{p.query} = {p.listed}"
        if p.how == "same"
        else f"{p.query} ~ {p.listed} {p.score:.2f} ({p.how})"
        for p in parts
        if p.query and p.listed
    ]
    extra_q = [p.query for p in parts if not p.listed]
    extra_c = [p.listed for p in parts if not p.query]
    out = ", ".join(paired)
    if extra_q:
        out += "; not in the listed name: " + " ".join(extra_q)
    if extra_c:
        out += "; not in the query: " + " ".join(extra_c)
    return out


@dataclass
class SnapshotIndex:
    """One list snapshot ready for screening: its entries, name index and identifier map."""

    version: str  # sha256 of the list file
    date_generated: datetime
    entries: Sequence[ListEntry]
    names: NameIndex = field(default_factory=NameIndex)
    identifiers: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    @classmethod
    def build(
        cls, version: str, date_generated: datetime, entries: Sequence[ListEntry]
    ) -> SnapshotIndex:
        idx = cls(version, date_generated, list(entries))
        for i, e in enumerate(idx.entries):
            entity = e.kind == "entity"  # "KOMID" names an entity; "Hassan" names no one person
            drop = _drop_weight(e)
            # a person listed under one word only ("WALIJAN", Taliban list) is found by it
            idx.names.add(i, e.name, "primary name", drop=drop)
            for a in e.aliases:
                label, factor = _ALIAS_LABEL.get(a.quality, ("alias", 1.0))
                idx.names.add(i, a.name, label, factor, one_word=entity, drop=drop)
            if e.original_script:
                idx.names.add(
                    i, e.original_script, "name in original script", one_word=entity, drop=drop
                )
            for ident in e.identifiers:
                key = ("bic", ident.value[:8]) if ident.kind == "bic" else (ident.kind, ident.value)
                idx.identifiers.setdefault(key, []).append(i)
        idx.names.freeze()
        return idx


class LazySnapshot:
    """A stored snapshot whose index is built on first use (a worker mostly needs the newest
    one; older ones only for events that old). Thread-safe; the built index is kept."""

    def __init__(
        self, version: str, date_generated: datetime, load: Callable[[], Sequence[ListEntry]]
    ) -> None:
        self.version = version
        self.date_generated = date_generated
        self._load = load
        self._index: SnapshotIndex | None = None
        self._lock = threading.Lock()

    def index(self) -> SnapshotIndex:
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = SnapshotIndex.build(
                        self.version, self.date_generated, self._load()
                    )
                    gc.freeze()  # long-lived: keep the GC from rescanning it (ms-long pauses)
        return self._index


class _VesselIndex:
    def __init__(self, register: VesselRegister) -> None:
        self.register = register
        # one hull may have several designation episodes (EVER BRIGHT 88 in 2016, FAN KE in 2018)
        self.by_imo: dict[str, list[int]] = {}
        self.names = NameIndex()
        for i, v in enumerate(register.vessels):
            if v.designated_on is None:
                continue  # dates unknown: recorded, not screened
            if v.imo:
                self.by_imo.setdefault(v.imo, []).append(i)
            self.names.add(i, v.name, "designated vessel name", drop=DROP_STRICT)
            for former in v.former_names:
                self.names.add(i, former, "other name of the designated hull", drop=DROP_STRICT)
        self.names.freeze()


class Screener:
    """Screens events against list snapshots (by date in force) and the vessel register."""

    def __init__(
        self,
        snapshots: Iterable[SnapshotIndex | LazySnapshot | LazyDesignations],
        register: VesselRegister | None = None,
        settings: ScreeningSettings | None = None,
        resolver: Callable[[str], LazySnapshot | LazyDesignations | None] | None = None,
    ) -> None:
        self.snapshots = sorted(snapshots, key=lambda s: s.date_generated)
        # list version -> its snapshot or reconstruction, for replays of older decisions
        self.resolver = resolver
        self._dates = [s.date_generated for s in self.snapshots]
        self.vessels = _VesselIndex(register) if register else None
        self.settings = settings or get_screening_settings()
        self._floor = min([self.settings.threshold, *self.settings.regime_thresholds.values()])
        self.retro = False  # hits from a screener built for re-screening carry retro=True
        self._variants: dict[tuple[str, str | None], Screener] = {}
        self._variants_lock = threading.Lock()
        # memoised(): one party's hits per (snapshot, settings, party record), shared by the
        # screeners of one replay run; None: every party is screened afresh
        self.memo: dict[tuple[object, ...], list[ScreeningHit]] | None = None
        self._settings_key = (
            self.settings.threshold,
            tuple(sorted(self.settings.regime_thresholds.items())),
        )

    def _variant(self, key: tuple[str, str | None], build: Callable[[], Screener]) -> Screener:
        with self._variants_lock:
            found = self._variants.get(key)
            if found is None:
                found = self._variants[key] = build()
                found.retro = self.retro
                found.memo = self.memo
            return found

    def memoised(self, memo: dict[tuple[object, ...], list[ScreeningHit]]) -> Screener:
        """This screener (and the variants made from it) remembering each party's hits in
        ``memo``: a period replay screens the same parties against the same pinned snapshot
        many times. The key holds the snapshot's version, the thresholds and the whole party
        record (path, role, names, identifiers), so a memo shared by the screeners of several
        snapshots never answers one with another's hits. The allowlist is applied to the hits
        afterwards (by the evaluator), never memoised. The process-wide screener is left as it
        is: the copy has variants of its own."""
        other = copy.copy(self)
        other.memo = memo
        other._variants = {}
        other._variants_lock = threading.Lock()
        return other

    def with_register(self, register: VesselRegister | None) -> Screener:
        """The same snapshots with another designated-vessel register (the rule pack's own, so
        that a decision's vessel hits come from the register its pack version pins)."""
        current = self.vessels.register.version if self.vessels else None
        wanted = register.version if register else None
        if wanted == current:
            return self
        return self._variant(
            ("register", wanted),
            lambda: Screener(self.snapshots, register, self.settings, self.resolver),
        )

    def pinned(self, list_version: str | None) -> Screener:
        """Only the snapshot or designation reconstruction ``list_version`` (None: no list at
        all), whatever the date: a replay screens against exactly the list its decision used,
        even if snapshots were imported since. LookupError when it cannot be rebuilt here."""
        snaps = [s for s in self.snapshots if s.version == list_version][:1]
        if list_version is not None and not snaps and self.resolver is not None:
            found = self.resolver(list_version)
            snaps = [found] if found is not None else []
        if list_version is not None and not snaps:
            raise LookupError(
                f"list snapshot {list_version} is not stored: the decision cannot be replayed against it"
            )
        register = self.vessels.register if self.vessels else None
        return self._variant(
            ("pinned", list_version), lambda: Screener(snaps, register, self.settings)
        )

    @classmethod
    def from_entries(
        cls,
        entries: Sequence[ListEntry],
        version: str,
        date_generated: datetime,
        register: VesselRegister | None = None,
        settings: ScreeningSettings | None = None,
    ) -> Screener:
        """An in-memory screener over one snapshot's entries (tests, bench, retro-screening)."""
        return cls([SnapshotIndex.build(version, date_generated, entries)], register, settings)

    # -- which snapshot ------------------------------------------------------------------------
    def _in_force(self, when: datetime) -> SnapshotIndex | LazySnapshot | LazyDesignations | None:
        if not self.snapshots:
            return None
        pos = bisect.bisect_right(self._dates, when)
        return self.snapshots[max(pos - 1, 0)]

    def snapshot_at(self, when: datetime) -> SnapshotIndex | None:
        snap = self._in_force(when)
        return snap if snap is None or isinstance(snap, SnapshotIndex) else snap.index()

    def version_at(self, when: datetime) -> str | None:
        snap = self._in_force(when)
        return snap.version if snap else None

    # -- screening -----------------------------------------------------------------------------
    def _on_day(self, when: datetime, hits: list[ScreeningHit]) -> list[ScreeningHit]:
        """Keep the hits of entries designated on the day (a reconstruction knows the dates)."""
        holder = self._in_force(when)
        if isinstance(holder, LazyDesignations) and hits:
            return holder.designations().on_day(hits, when.date())
        return hits

    def screen(self, event: Event) -> list[ScreeningHit]:
        return self._on_day(event.occurred_at, self._screen(event))

    def _screen(self, event: Event) -> list[ScreeningHit]:
        snap = self.snapshot_at(event.occurred_at)
        hits: list[ScreeningHit] = []
        day = event.occurred_at.date()
        if event.shipment is not None:
            s = event.shipment
            for i, party in enumerate(s.parties):
                hits += self._subject(
                    snap,
                    f"shipment.parties[{i}]",
                    party.role,
                    [party.name] if party.name else [],
                    party.identifiers,
                )
            if s.vessel is not None:
                hits += self._vessel(s.vessel, "shipment.vessel", "vessel", day)
        elif event.vessel_movement is not None:
            m = event.vessel_movement
            if (
                m.vessel is not None
            ):  # an unidentified vessel (data-quality finding) is not screened
                hits += self._vessel(m.vessel, "vessel_movement.vessel", "vessel", day)
            if m.counterpart_vessel is not None:
                hits += self._vessel(
                    m.counterpart_vessel,
                    "vessel_movement.counterpart_vessel",
                    "counterpart_vessel",
                    day,
                )
        elif event.entity is not None:
            hits += self._entity(snap, event.entity, day)
        return hits

    def screen_party(self, party: Party, when: datetime, path: str = "party") -> list[ScreeningHit]:
        return self._on_day(
            when,
            self._subject(
                self.snapshot_at(when),
                path,
                party.role,
                [party.name] if party.name else [],
                party.identifiers,
            ),
        )

    def screen_name(self, name: str, when: datetime) -> list[ScreeningHit]:
        """One bare name (bench, CLI look-ups)."""
        return self._on_day(when, self._subject(self.snapshot_at(when), "name", None, [name], None))

    def screen_vessel_name(self, name: str, when: datetime) -> list[ScreeningHit]:
        """One bare vessel name against the designated-vessel register (bench, CLI look-ups)."""
        return self._vessel(Vessel(name=name), "vessel", "vessel", when.date())

    def _entity(self, snap: SnapshotIndex | None, ent: Entity, day) -> list[ScreeningHit]:
        names = [ent.name, *ent.aliases]
        hits: list[ScreeningHit] = []
        if ent.kind == "vessel":
            vessel = Vessel(name=ent.name, imo=ent.identifiers.imo if ent.identifiers else None)
            hits += self._vessel(vessel, "entity", "entity", day)
            for i, alias in enumerate(ent.aliases):
                hits += self._vessel(Vessel(name=alias), f"entity.aliases[{i}]", "entity", day)
            hits = _best_per_reference(hits)
        else:
            hits += self._subject(snap, "entity", "entity", names, ent.identifiers)
        for i, owner in enumerate(ent.owners):
            hits += self._subject(snap, f"entity.owners[{i}]", "owner", [owner.name], None)
        return hits

    def _subject(
        self,
        snap: SnapshotIndex | None,
        path: str,
        role: str | None,
        names: list[str],
        identifiers: Identifiers | None,
    ) -> list[ScreeningHit]:
        """One party/entity/owner: identifiers first, then each of its names; best hit per entry."""
        names = [n for n in names if n]  # a party without a name (data-quality finding)
        if snap is None:
            return []
        memo, key = self.memo, None
        if memo is not None:
            key = (
                snap.version,
                self._settings_key,
                self.retro,
                path,
                role,
                tuple(names),
                identifiers.model_dump_json() if identifiers is not None else None,
            )
            got = memo.get(key)
            if got is not None:
                return list(got)
        hits = self._subject_hits(snap, path, role, names, identifiers)
        if memo is not None and key is not None:
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            memo[key] = hits
            return list(hits)
        return hits

    def _subject_hits(
        self,
        snap: SnapshotIndex,
        path: str,
        role: str | None,
        names: list[str],
        identifiers: Identifiers | None,
    ) -> list[ScreeningHit]:
        hits: list[ScreeningHit] = []
        if identifiers is not None:
            hits += self._identifier_hits(snap, path, role, identifiers)
        for n, name in enumerate(names):
            npath = path if n == 0 else f"{path}.aliases[{n - 1}]"
            for m in snap.names.match(name, self._floor):
                entry = snap.entries[m.record.target]
                if m.score < self.settings.threshold_for(entry.regime):
                    continue
                hits.append(self._name_hit(snap, npath, role, name, entry, m))
        return _best_per_reference(hits)

    def _identifier_hits(
        self, snap: SnapshotIndex, path: str, role: str | None, ids: Identifiers
    ) -> list[ScreeningHit]:
        extra = ids.model_extra or {}
        wanted = [
            ("bic", "bic", ids.bic[:8] if ids.bic else None, ids.bic),
            ("imo", "imo_company", ids.imo_company, ids.imo_company),
            ("passport", "passport", _ident(ids.passport), ids.passport),
            ("passport", "national_id", _ident(extra.get("national_id")), extra.get("national_id")),
        ]
        hits = []
        for method, kind, key, given in wanted:
            for i in snap.identifiers.get((kind, key), []) if key else []:
                entry = snap.entries[i]
                hits.append(
                    ScreeningHit(
                        path=f"{path}.identifiers.{kind}",
                        role=role,
                        queried=str(given),
                        list_regime=entry.regime,
                        reference=entry.reference,
                        entry_name=entry.name,
                        entry_kind=entry.kind,
                        matched=f"{kind} {key}",
                        method=method,
                        score=1.0,
                        explanation=(
                            f"{kind} {given} equals the {kind} of {entry.reference} "
                            f"{entry.name} (from its list record)"
                        ),
                        list_version=snap.version,
                        retro=self.retro,
                    )
                )
        return hits

    def _name_hit(
        self,
        snap: SnapshotIndex,
        path: str,
        role: str | None,
        queried: str,
        entry: ListEntry,
        m: NameMatch,
    ) -> ScreeningHit:
        how = (
            "same name after transliteration, case, punctuation, word order, title and "
            "legal-form folding"
            if m.exact
            else f"name match {m.score:.2f}, part by part: {alignment_text(m.alignment)}"
        )
        return ScreeningHit(
            path=path,
            role=role,
            queried=queried,
            list_regime=entry.regime,
            reference=entry.reference,
            entry_name=entry.name,
            entry_kind=entry.kind,
            matched=m.record.name,
            method="name_exact" if m.exact else "name_fuzzy",
            score=round(m.score, 4),
            explanation=(
                f"'{queried}' matches the {m.record.label} '{m.record.name}' of "
                f"{entry.reference} {entry.name} ({entry.regime} list): {how}"
            ),
            list_version=snap.version,
            retro=self.retro,
            alignment=_alignment(m),
        )

    def _vessel(self, vessel: Vessel, path: str, role: str, day) -> list[ScreeningHit]:
        if self.vessels is None:
            return []
        reg = self.vessels.register
        found: list[tuple[int, str, str, float, str]] = []
        aligned: dict[int, NameMatch] = {}
        for i in self.vessels.by_imo.get(vessel.imo, []) if vessel.imo else []:
            v = reg.vessels[i]
            found.append(
                (
                    i,
                    "imo",
                    f"IMO {v.imo}",
                    1.0,
                    f"IMO {vessel.imo} is the designated vessel {v.name}",
                )
            )
        if vessel.name:
            for m in self.vessels.names.match(vessel.name, self._floor):
                v = reg.vessels[m.record.target]
                if v.imo and vessel.imo and v.imo != vessel.imo:
                    continue  # a different IMO: same-named ship, not the designated one
                method = "name_exact" if m.exact else "name_fuzzy"
                found.append(
                    (
                        m.record.target,
                        method,
                        m.record.name,
                        m.score,
                        f"vessel name '{vessel.name}' matches designated vessel {v.name}"
                        + ("" if m.record.name == v.name else f" (as {m.record.name})")
                        + (
                            ""
                            if m.exact
                            else f" ({m.score:.2f}, part by part: {alignment_text(m.alignment)})"
                        ),
                    )
                )
                aligned[m.record.target] = m
        hits = []
        for target, method, matched, score, expl in found:
            v = reg.vessels[target]
            standing = v.standing(day)
            if standing is None:
                continue  # not designated on the day (before, or after its removal / expiry)
            regime = v.regime or reg.regime
            if method != "imo" and score < self.settings.threshold_for(regime):
                continue
            windowed = standing.status != "listed"
            hits.append(
                ScreeningHit(
                    path=path,
                    role=role,
                    queried=vessel.imo if method == "imo" else (vessel.name or ""),
                    list_regime=regime,
                    reference=v.reference,
                    entry_name=v.name,
                    entry_kind="vessel",
                    matched=matched,
                    method=method,
                    score=round(score, 4),
                    explanation=f"{expl}, designated {v.designated_on} ({v.effect})"
                    + (f"; {standing.note}" if windowed else "")
                    + (f"; no longer designated from {v.removed_on}" if v.removed_on else ""),
                    list_version=reg.version,
                    designation_basis=list(v.legal_basis),
                    retro=self.retro,
                    listed_on=v.designated_on,
                    designation_status="removal_window" if windowed else "listed",
                    designation_window=standing.window,
                    alignment=_alignment(aligned[target]) if method != "imo" else [],
                )
            )
        return _best_per_reference(hits)


def _alignment(m: NameMatch) -> list[NamePartAlignment]:
    return [
        NamePartAlignment(query=p.query, listed=p.listed, score=p.score, how=p.how)
        for p in m.alignment
    ]


def _ident(value: object) -> str | None:
    from engine.lists.parser import normalise_identifier

    return normalise_identifier(str(value)) or None if value else None


def _best_per_reference(hits: list[ScreeningHit]) -> list[ScreeningHit]:
    """One hit per list entry for a subject: identifiers beat exact names beat fuzzy names."""
    best: dict[str, ScreeningHit] = {}
    for h in hits:
        cur = best.get(h.reference)
        if cur is None or (_METHOD_RANK[h.method], h.score) > (_METHOD_RANK[cur.method], cur.score):
            best[h.reference] = h
    return list(best.values())


# -- the process-wide screener built from the database ----------------------------------------
_lock = threading.Lock()
_cached: dict[str, object] = {}


def invalidate_default_screener() -> None:
    """Make the next default_screener() call rebuild (snapshot indexes are immutable: kept)."""
    with _lock:
        for key in ("screener", "token", "checked"):
            _cached.pop(key, None)


def default_screener() -> Screener:
    """Screener over the designation history of every stored snapshot plus the vessel register,
    cached in-process and rebuilt when a snapshot is imported (here, or by another process:
    polled every ``refresh_seconds``). The reconstruction is built when an event first needs it;
    each snapshot's entries are read from the database once per process."""
    from engine.lists import store

    settings = get_screening_settings()
    now = time.monotonic()
    with _lock:
        screener = _cached.get("screener")
        if screener is not None and now - _cached["checked"] < settings.refresh_seconds:  # type: ignore[operator]
            return screener  # type: ignore[return-value]
        token = store.state_token()
        _cached["checked"] = now
        if screener is not None and _cached.get("token") == token:
            return screener  # type: ignore[return-value]
        stored = store.snapshots()
        register = (
            load_register(settings.vessel_register) if settings.vessel_register.exists() else None
        )
        current = [_reconstruction(stored)] if stored else []
        screener = Screener(current, register, settings, resolver=_resolve_stored)
        _cached.update(screener=screener, token=token)
        return screener


_KEPT_RECONSTRUCTIONS = 3


def _snapshot_entries(info) -> Sequence[ListEntry]:
    from engine.lists import store

    kept: dict[str, Sequence[ListEntry]] = _cached.setdefault("entries", {})  # type: ignore[assignment]
    found = kept.get(info.sha256)
    if found is None:
        found = kept[info.sha256] = store.entries(info.id)
    return found


def _reconstruction(infos) -> LazyDesignations:
    """The (cached) reconstruction over exactly ``infos``."""
    from engine.lists.history import SnapshotFile, reconstruction_version

    version = reconstruction_version([i.sha256 for i in infos])
    kept: dict[str, LazyDesignations] = _cached.setdefault("reconstructions", {})  # type: ignore[assignment]
    found = kept.pop(version, None)
    if found is None:
        newest = max(infos, key=lambda i: i.date_generated)
        found = LazyDesignations(
            version,
            newest.date_generated,
            lambda: [SnapshotFile(i.sha256, i.date_generated, _snapshot_entries(i)) for i in infos],
        )
    kept[version] = found  # most recently used last; a long-lived worker keeps only a few
    while len(kept) > _KEPT_RECONSTRUCTIONS:
        kept.pop(next(iter(kept)))
    return found


def _resolve_stored(version: str) -> LazySnapshot | LazyDesignations | None:
    """A stored snapshot (decisions from before reconstructions cited one) or the
    reconstruction over the snapshots stored when a decision was made."""
    from engine.lists import store

    info = store.snapshot_by_sha(version)
    if info is not None:
        return LazySnapshot(info.sha256, info.date_generated, partial(_snapshot_entries, info))
    infos = store.reconstruction_snapshots(version)
    return _reconstruction(infos) if infos else None
