"""Tamper evidence (issue 15): append-only journals chained by sha256, signed Merkle tree heads
(RFC 9162 hashing), verification, and the audit pack. See docs/AUDIT.md."""
