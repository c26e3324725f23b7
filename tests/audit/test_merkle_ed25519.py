"""The pack's standard-library verifier: RFC 8032 Ed25519 test vectors, signatures made by
`cryptography`, and RFC 9162 inclusion / consistency proofs checked against an independent
recursive MTH written here from the RFC's definition."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.audit.merkle import consistency_proof, inclusion_path
from engine.audit.signing import public_bytes
from engine.audit.verify_pack import (
    ed25519_verify,
    leaf_hash,
    merkle_root,
    verify_consistency,
    verify_inclusion,
)

# RFC 8032 section 7.1, TEST 1, 2, 3 and SHA(abc): (public key, message, signature)
RFC8032 = [
    (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    (
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    ),
]


@pytest.mark.parametrize(("pub", "msg", "sig"), RFC8032)
def test_rfc8032_vectors(pub: str, msg: str, sig: str) -> None:
    p, m, s = bytes.fromhex(pub), bytes.fromhex(msg), bytes.fromhex(sig)
    assert ed25519_verify(p, m, s)
    bad = bytearray(s)
    bad[5] ^= 1
    assert not ed25519_verify(p, m, bytes(bad))
    assert not ed25519_verify(p, m + b"x", s)


def test_cryptography_signatures_verify() -> None:
    for i in range(5):
        key = Ed25519PrivateKey.generate()
        msg = f"tree head {i}".encode() * (i + 1)
        sig = key.sign(msg)
        assert ed25519_verify(public_bytes(key), msg, sig)
        other = public_bytes(Ed25519PrivateKey.generate())
        assert not ed25519_verify(other, msg, sig)


def _mth(data: list[bytes]) -> bytes:
    """RFC 9162 2.1.1, literally (recursive split at the largest power of two below n)."""
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(data[:k]) + _mth(data[k:])).digest()


def test_root_matches_the_rfc_definition() -> None:
    for n in range(0, 40):
        data = [bytes([i]) * 3 for i in range(n)]
        assert merkle_root([leaf_hash(d) for d in data]) == _mth(data)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=70), st.data())
def test_inclusion_and_consistency_proofs(n: int, data: st.DataObject) -> None:
    leaves = [leaf_hash(f"leaf {i}".encode()) for i in range(n)]
    root = merkle_root(leaves)
    i = data.draw(st.integers(min_value=0, max_value=n - 1))
    path = inclusion_path(i, leaves)
    assert verify_inclusion(i, n, leaves[i], path, root)
    assert not verify_inclusion(i, n, leaf_hash(b"other"), path, root)
    if n > 1:
        assert not verify_inclusion((i + 1) % n, n, leaves[i], path, root)
    m = data.draw(st.integers(min_value=1, max_value=n))
    proof = consistency_proof(m, leaves)
    first_root = merkle_root(leaves[:m])
    assert verify_consistency(m, n, first_root, root, proof)
    if m < n:
        forged = merkle_root([*leaves[: m - 1], leaf_hash(b"forged")])
        assert not verify_consistency(m, n, forged, root, proof)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=90), min_size=1, max_size=6))
def test_frontier_extended_in_steps_equals_the_full_recomputation(steps: list[int]) -> None:
    """Heads written after each step (sizes summing up to a few hundred leaves): the frontier
    extended by each step's new leaves gives the RFC's MTH of everything so far, and the
    inclusion / consistency proofs between the heads still verify."""
    from engine.audit.merkle import frontier_extend, frontier_root, frontier_valid

    data: list[bytes] = []
    frontier: list[bytes] = []
    size = 0
    heads: list[tuple[int, bytes]] = []
    for step in steps:
        new = [f"entry {len(data) + i}".encode() for i in range(step)]
        data += new
        size = frontier_extend(frontier, size, [leaf_hash(d) for d in new])
        assert size == len(data) and frontier_valid(frontier, size)
        assert frontier_root(frontier) == _mth(data)
        heads.append((size, frontier_root(frontier)))
    leaves = [leaf_hash(d) for d in data]
    last_size, last_root = heads[-1]
    for m, root in heads:
        assert verify_consistency(m, last_size, root, last_root, consistency_proof(m, leaves))
    if last_size:
        i = last_size // 2
        assert verify_inclusion(i, last_size, leaves[i], inclusion_path(i, leaves), last_root)
