"""Decisions: what the engine concluded about one event, and why."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Severity = Literal["low", "medium", "high", "critical"]
# Most severe first (lists, filters); the rank orders violations and the alert queue.
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
SEVERITY_RANK: dict[str, int] = {"critical": 4, "high": 3, "medium": 2, "low": 1}
DecisionStatus = Literal["clear", "flagged", "rejected"]


def citation_text(cite: Citation | Mapping[str, Any], *, spelled_out: bool = False) -> str:
    """The one written form of a citation, for every page, CSV, note and message: 'UNSCR 1874
    (2009) OP9', or spelled out as the alert page gives it: 'UNSCR 1874 (2009), operative
    paragraph 9'. ``cite``: a Citation (or a register's basis) or its JSON form (a violation's
    stored ``citations``). The web registers it as the Jinja filter ``citation``."""
    if isinstance(cite, Mapping):
        resolution, paragraph = cite["resolution"], cite["paragraph"]
    else:
        resolution, paragraph = cite.resolution, cite.paragraph
    if spelled_out:
        return f"UNSCR {resolution}, operative paragraph {paragraph}"
    return f"UNSCR {resolution} OP{paragraph}"


class Citation(BaseModel):
    """A paragraph of a Security Council resolution: the one citation class, of the rule files
    (engine.rules.schema), the decisions, the alerts and the web."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    resolution: Annotated[str, Field(pattern=r"^\d{3,4} \(\d{4}\)$")]  # "1874 (2009)"
    paragraph: Annotated[str, Field(min_length=1, max_length=40)]  # "9", "8(a)(i)"

    @field_validator("paragraph", mode="before")
    @classmethod
    def _str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v  # YAML reads `paragraph: 9` as a number

    @property
    def year(self) -> int:
        """The year of adoption: 2009 for "1874 (2009)" (the pattern above guarantees it)."""
        return int(self.resolution[-5:-1])

    def __str__(self) -> str:
        return citation_text(self)


class Evidence(BaseModel):
    """One fact of the event that made the rule fire: a path into the event and its value."""

    path: str  # e.g. shipment.goods[0].hs_code
    value: Any
    note: str | None = None  # e.g. "prefix 93 of the measure", "origin in DPRK"
    # Screening hits: how the party matched, for a match table: method (imo, bic, name_fuzzy,
    # ...), the listed name or identifier matched, score, and the part-by-part name alignment.
    screening: dict[str, Any] | None = None


class Violation(BaseModel):
    rule_id: str
    regime: str
    title: str
    severity: Severity
    citations: list[Citation]
    evidence: list[Evidence] = Field(default_factory=list)
    reason: str  # one readable sentence: why this event breaches this measure
    confidence: Literal["high", "medium", "low"] = "high"
    # True when the measure fires only if values the event left unknown are as feared (an arms
    # HS code to an unknown destination): the alert needs information before it can be closed.
    needs_information: bool = False
    unknown: list[str] = Field(default_factory=list)  # pointers of the deciding unknown values


class Decision(BaseModel):
    event_id: str
    status: DecisionStatus
    violations: list[Violation] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)  # for rejected: why
    # Data-quality findings of the event (engine.models.quality.Finding as dicts): values that could
    # not be read (treated as unknown) and every interpretation the intake made.
    data_quality: list[dict[str, Any]] = Field(default_factory=list)
    needs_information: bool = False  # some violation is decided by an unknown value
    rule_pack_version: str | None = None
    list_version: str | None = None
    # The exemption / notification register version read for this event (None: no reference
    # cited, or the register embedded in an older rule pack) and what the register said.
    register_version: int | None = None
    register_notes: list[str] = Field(default_factory=list)
    # Allowlist (known false positives, engine.allowlist) version read for an event with screening
    # hits, and a note per hit it set aside (migration 1401_allowlist).
    allowlist_version: int | None = None
    allowlist_notes: list[str] = Field(default_factory=list)
    # Snoozes (engine.snoozes, migration 1430_snoozes): the snooze version a flagged decision was
    # judged against when its alerts were opened, and each rule whose alert a snooze withheld
    # ({rule_id, snooze_id, case_id}); the decision itself stays as evaluated.
    snooze_version: int | None = None
    snoozed: list[dict[str, Any]] = Field(default_factory=list)
    engine_version: str
    evaluated_at: datetime
