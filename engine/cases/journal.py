"""Tables of the case area that join the audit journal (engine.audit.records imports this
module): the snoozes' append-only history and the alerts they withheld. Only rows that never
change after insert are journaled; a snooze's own row changes (lifted, ended), its history not.
"""

from __future__ import annotations

from engine.audit.records import JournalSource, register
from engine.snoozes.tables import SnoozeChangeRow, SnoozeOccurrenceRow


def _source(kind: str, row: type, key: str) -> JournalSource:
    table = row.__table__  # type: ignore[attr-defined]
    return JournalSource(kind, table, key, tuple(c.name for c in table.columns))


register(_source("snooze_changes", SnoozeChangeRow, "version"))
register(_source("snooze_occurrences", SnoozeOccurrenceRow, "id"))
