"""Known false positives (issue 14): "party X is not list entry Y", kept by senior officers,
four-eyes approved, versioned like the exemption registers so a decision records the version
it read and a replay reads that version again.

``store`` records, approves, revokes and re-opens entries; ``matching`` applies a snapshot to a
batch's screening hits (the evaluator calls it after screening, before facts are built).
"""
