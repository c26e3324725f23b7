"""Merkle proofs over the journal (RFC 9162 2.1.3 inclusion, 2.1.4 consistency), generated from
the leaf hashes; verification lives in verify_pack.py (standard library, shipped in the pack).

The frontier (compact range) of a tree of size n is the list of roots of the perfect subtrees
that n's binary decomposition splits the leaves into, largest first: 13 = 8 + 4 + 1 leaves gives
three nodes. RFC 9162's MTH splits at the largest power of two below n, so the tree hash is those
nodes folded from the right, and appending a leaf merges the last nodes as a binary counter
carries (one merge per trailing one bit of n). A new head therefore costs O(log n) hashes plus its
new leaves, not a pass over the whole journal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from engine.audit.speedups import speedups
from engine.audit.verify_pack import _split, merkle_root, node_hash


def frontier_append(frontier: list[bytes], size: int, leaf: bytes) -> int:
    """Append one leaf hash to the frontier of a tree of ``size`` leaves (in place); new size."""
    node, n = leaf, size
    while n & 1:
        node = node_hash(frontier.pop(), node)
        n >>= 1
    frontier.append(node)
    return size + 1


def frontier_extend_py(frontier: list[bytes], size: int, leaves: Iterable[bytes]) -> int:
    """frontier_append of each leaf, written out (the sequencer extends its tree by every
    entry it appends): node_hash(left, right) is SHA-256(0x01 || left || right). The C
    version (engine.audit.speedups, 32-byte digests only) runs where it is built."""
    sha256, pop, push = hashlib.sha256, frontier.pop, frontier.append
    for leaf in leaves:
        node, n = leaf, size
        while n & 1:
            node = sha256(b"\x01" + pop() + node).digest()
            n >>= 1
        push(node)
        size += 1
    return size


frontier_extend: Callable[[list[bytes], int, Iterable[bytes]], int] = (
    frontier_extend_py if speedups is None else speedups.frontier_extend
)


def frontier_root(frontier: list[bytes]) -> bytes:
    """MTH of the tree whose frontier this is (the empty tree: SHA-256 of nothing)."""
    if not frontier:
        return hashlib.sha256(b"").digest()
    root = frontier[-1]
    for node in reversed(frontier[:-1]):
        root = node_hash(node, root)
    return root


def frontier_valid(frontier: list[bytes], size: int) -> bool:
    """Has it one node per one bit of ``size`` (the shape of a size-n frontier), each a
    SHA-256 digest?"""
    return len(frontier) == bin(size).count("1") and all(len(n) == 32 for n in frontier)


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


__all__ = [
    "consistency_proof",
    "frontier_append",
    "frontier_extend",
    "frontier_extend_py",
    "frontier_root",
    "inclusion_path",
    "merkle_root",
    "node_hash",
]
