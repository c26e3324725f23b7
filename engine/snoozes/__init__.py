"""Snoozes (issue 14): "no new alert for this party and rule for N days unless the facts change".

A senior officer snoozes an alert: key (a party or vessel case key), rule id, the material facts
of that alert (``facts``: fingerprint), N days and a reason. While it is active, a later flagged
decision with the same key, rule and fingerprint is still decided and stored as ever (flagged,
same violations) but opens no alert for that rule: the event is attached to the snoozed case as
an occurrence marked snoozed. Versioned like the allowlist: a decision records the snooze version
it was judged against and which snoozes withheld its alerts; replay reads that version.

``store`` creates, lifts and ends snoozes; ``facts`` defines the fingerprint; ``matching`` applies
a snapshot at alert time (engine.storage.repository, engine.screening.retro).
"""
