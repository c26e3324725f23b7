#!/usr/bin/env python3
"""Audit pack verifier: Python standard library only (run it as ``python3 -I verify.py``).

This file is copied verbatim into every audit pack as ``verify.py``; the engine imports its
Merkle and Ed25519 functions too, so what the auditor runs is what the product checks with.

Hashing follows RFC 9162 (Certificate Transparency v2) section 2.1: leaf hash =
SHA-256(0x00 || leaf), node hash = SHA-256(0x01 || left || right). Ed25519 verification follows
RFC 8032 section 5.1.7 (a small, slow, not constant-time verifier: it only checks public data).
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

# --- canonical JSON (the form every record and leaf is hashed over) -------------------------


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


ZERO_HASH = "0" * 64
LOG_ID = "sanctions-journal/v1"


def leaf_bytes(seq: int, kind: str, key: str, record_sha256: str, prev: str) -> bytes:
    """A journal entry as hashed: its entry_hash is SHA-256 of these bytes (the chain link),
    and its Merkle leaf hash is SHA-256(0x00 || these bytes)."""
    return canonical_json(
        {"kind": kind, "key": key, "prev": prev, "record_sha256": record_sha256, "seq": seq}
    )


def head_message(tree_size: int, root_hash: str, timestamp: str) -> bytes:
    """The bytes a tree head's Ed25519 signature is over."""
    return canonical_json(
        {"log": LOG_ID, "root_hash": root_hash, "timestamp": timestamp, "tree_size": tree_size}
    )


# --- RFC 9162 Merkle tree -------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def merkle_root(leaves: list[bytes]) -> bytes:
    """MTH over already-hashed leaves (iterative: RFC 9162's split equals pairing left to right
    and carrying an odd node up unchanged)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    level = list(leaves)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def _lsb(x: int) -> int:
    return x & 1


def verify_inclusion(
    index: int, tree_size: int, leaf: bytes, path: list[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: is ``leaf`` (a leaf hash) at ``index`` of the tree with ``root``?"""
    if index >= tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if _lsb(fn) or fn == sn:
            r = node_hash(p, r)
            if not _lsb(fn):
                while not _lsb(fn) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: is the tree of size ``first`` a prefix of the tree of size ``second``?"""
    if first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not proof:
        return False
    if first & (first - 1) == 0:
        proof = [first_root, *proof]
    fn, sn = first - 1, second - 1
    while _lsb(fn):
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if _lsb(fn) or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not _lsb(fn):
                while not _lsb(fn) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


# --- RFC 8032 Ed25519 verification ----------------------------------------------------------

_P = 2**255 - 19
_Q = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _recover_x(y: int, sign: int) -> int | None:
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


_Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T)


def _add(a: _Point, b: _Point) -> _Point:
    aa = (a[1] - a[0]) * (b[1] - b[0]) % _P
    bb = (a[1] + a[0]) * (b[1] + b[0]) % _P
    cc = 2 * a[3] * b[3] * _D % _P
    dd = 2 * a[2] * b[2] % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(s: int, pt: _Point) -> _Point:
    acc: _Point = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            acc = _add(acc, pt)
        pt = _add(pt, pt)
        s >>= 1
    return acc


def _equal(a: _Point, b: _Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


def _decompress(s: bytes) -> _Point | None:
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % _P)


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0) or 0
_G: _Point = (_GX, _GY, 1, _GX * _GY % _P)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """RFC 8032 5.1.7 (cofactorless check [S]B = R + [k]A, as the RFC's reference code)."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a = _decompress(public_key)
    r = _decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _Q:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little")
    return _equal(_mul(s, _G), _add(r, _mul(k % _Q, a)))


def verify_head(head: dict[str, Any], public_key: bytes) -> bool:
    msg = head_message(int(head["tree_size"]), str(head["root_hash"]), str(head["timestamp"]))
    try:
        sig = bytes.fromhex(str(head["signature"]))
    except ValueError:
        return False
    return ed25519_verify(public_key, msg, sig)


if __name__ == "__main__":  # the pack's own checks are appended by the exporter (slice 3)
    sys.exit(0)
