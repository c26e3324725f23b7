"""Merkle proofs over the journal (RFC 9162 2.1.3 inclusion, 2.1.4 consistency), generated from
the leaf hashes; verification lives in verify_pack.py (standard library, shipped in the pack)."""

from __future__ import annotations

from engine.audit.verify_pack import _split, merkle_root, node_hash


def _mth(leaves: list[bytes], lo: int, hi: int) -> bytes:
    return merkle_root(leaves[lo:hi])


def inclusion_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 2.1.3.1."""
    if not 0 <= index < len(leaves):
        raise IndexError(index)

    def path(m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return [*path(m, lo, lo + k), _mth(leaves, lo + k, hi)]
        return [*path(m - k, lo + k, hi), _mth(leaves, lo, lo + k)]

    return path(index, 0, len(leaves))


def consistency_proof(first: int, leaves: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 2.1.4.1 (n = len(leaves))."""
    n = len(leaves)
    if not 0 <= first <= n:
        raise ValueError(f"tree size {first} outside 0..{n}")
    if first in (0, n):
        return []

    def sub(m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        size = hi - lo
        if m == size:
            return [] if whole else [_mth(leaves, lo, hi)]
        k = _split(size)
        if m <= k:
            return [*sub(m, lo, lo + k, whole), _mth(leaves, lo + k, hi)]
        return [*sub(m - k, lo + k, hi, False), _mth(leaves, lo, lo + k)]

    return sub(first, 0, n, True)


__all__ = ["consistency_proof", "inclusion_path", "merkle_root", "node_hash"]
