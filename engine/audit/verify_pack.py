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


_json_str = json.JSONEncoder(ensure_ascii=False).encode  # one string, as canonical_json writes it


ZERO_HASH = "0" * 64
LOG_ID = "sanctions-journal/v1"


def leaf_bytes(seq: int, kind: str, key: str, record_sha256: str, prev: str) -> bytes:
    """A journal entry as hashed: its entry_hash is SHA-256 of these bytes (the chain link),
    and its Merkle leaf hash is SHA-256(0x00 || these bytes)."""
    # canonical_json({"kind", "key", "prev", "record_sha256", "seq"}) written out in its key
    # order: the same bytes, without sorting a dict per entry (the sequencer and every check
    # compute one per entry)
    if type(seq) is not int or not all(type(s) is str for s in (kind, key, record_sha256, prev)):
        return canonical_json(
            {"kind": kind, "key": key, "prev": prev, "record_sha256": record_sha256, "seq": seq}
        )
    return (
        f'{{"key":{_json_str(key)},"kind":{_json_str(kind)},"prev":{_json_str(prev)},'
        f'"record_sha256":{_json_str(record_sha256)},"seq":{seq}}}'
    ).encode()


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


# --- the audit pack ------------------------------------------------------------------------

FORMAT = "sanctions-audit-pack/1"
WHAT_IS_PROVEN = """What this proves, if every check passed:
- the files are those the manifest lists (sha256), none missing, none added;
- every record in records/ is, byte for byte in canonical form, the record the journal entry of
  its kind and key hashed when it was sequenced;
- the journal segment is one unbroken hash chain, and its last entry, hence every entry before
  it in the segment, is in the Merkle tree of the newest signed head (RFC 9162 inclusion proof);
  older entries (rule packs, lists, register changes) each have their own inclusion proof;
- each earlier signed head is a prefix of the newest (consistency proofs): the log was only
  appended to between them;
- every head is signed (Ed25519) by the key in pack.json;
- each decision cites a rule pack whose stored text hashes to that version, a list version
  derived from the snapshots here, and a register version whose changes are all here.
What it does not prove:
- that the rules would decide the same today: re-running the rule engine needs the product
  (sanctions rules replay --from --to replays every decision against its pinned versions);
- who holds the signing key: compare pack.json's public key with the one the operator
  publishes; records sequenced after the newest head are not covered;
- that nothing was altered before the sequencer journaled it (seconds after commit), nor the
  mutable desk state of alerts beyond the review actions journaled.
"""


def _fail(problems: list[str], msg: str) -> None:
    problems.append(msg)


def _read_jsonl(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line]


def _pack_version(files: dict[str, str]) -> str:
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.encode() + b"\0" + files[path].encode("utf-8") + b"\0")
    return h.hexdigest()


def _reconstruction_version(shas: list[str]) -> str:
    return hashlib.sha256(("un-designations\n" + "\n".join(sorted(shas))).encode()).hexdigest()


def verify_pack(root: Any) -> list[str]:
    """Every check on the extracted pack in directory ``root``; returns the problems found."""
    import os
    import zlib

    problems: list[str] = []
    base = os.path.abspath(str(root))

    def read(rel: str) -> bytes:
        with open(os.path.join(base, rel), "rb") as fh:
            return fh.read()

    # 1. manifest: exact canonical form, known keys, every file's sha256, nothing extra
    try:
        raw = read("manifest.json")
        manifest = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError) as exc:
        return [f"manifest.json unreadable: {exc}"]
    if not isinstance(manifest, dict) or set(manifest) != {"format", "files"}:
        return ["manifest.json: unexpected structure"]
    if canonical_json(manifest) != raw or manifest["format"] != FORMAT:
        return ["manifest.json: not in canonical form or unknown format"]
    listed: dict[str, str] = manifest["files"]
    present = set()
    for dirpath, _dirs, names in os.walk(base):
        for n in names:
            rel = os.path.relpath(os.path.join(dirpath, n), base).replace(os.sep, "/")
            present.add(rel)
    for rel in sorted(present - set(listed) - {"manifest.json"}):
        _fail(problems, f"{rel}: not in the manifest")
    blobs: dict[str, bytes] = {}
    for rel, digest in sorted(listed.items()):
        if ".." in rel.split("/") or rel.startswith("/"):
            _fail(problems, f"{rel}: path outside the pack")
            continue
        try:
            blobs[rel] = read(rel)
        except OSError:
            _fail(problems, f"{rel}: missing")
            continue
        if hashlib.sha256(blobs[rel]).hexdigest() != digest:
            _fail(problems, f"{rel}: sha256 differs from the manifest")
    if problems:
        return problems

    pack = json.loads(blobs["pack.json"])
    proofs = json.loads(blobs["proofs.json"])
    public = bytes.fromhex(pack["public_key"])

    # 2. signed heads
    head = proofs["head"]
    if not verify_head(head, public):
        _fail(problems, f"newest head {head['id']}: bad signature")
    root_hash = bytes.fromhex(head["root_hash"])
    size = int(head["tree_size"])
    for item in proofs["earlier_heads"]:
        h = item["head"]
        if not verify_head(h, public):
            _fail(problems, f"head {h['id']}: bad signature")
        if not verify_consistency(
            int(h["tree_size"]),
            size,
            bytes.fromhex(h["root_hash"]),
            root_hash,
            [bytes.fromhex(x) for x in item["consistency"]],
        ):
            _fail(problems, f"head {h['id']} is not consistent with head {head['id']}")

    # 3. the journal segment: one chain, its last entry in the newest head
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    segment = _read_jsonl(blobs["journal.jsonl"])
    prev_hash = None
    for e in segment:
        leaf = leaf_bytes(int(e["seq"]), e["kind"], e["key"], e["record_sha256"], e["prev"])
        if prev_hash is not None and e["prev"] != prev_hash:
            _fail(problems, f"journal entry {e['seq']} ({e['kind']} {e['key']}): chain broken")
            break
        prev_hash = hashlib.sha256(leaf).hexdigest()
        entries[(e["kind"], e["key"])] = e
    if segment:
        last = segment[-1]
        ok = verify_inclusion(
            int(last["seq"]),
            size,
            leaf_hash(
                leaf_bytes(
                    int(last["seq"]), last["kind"], last["key"], last["record_sha256"], last["prev"]
                )
            ),
            [bytes.fromhex(x) for x in proofs["segment_last_path"]],
            root_hash,
        )
        if not ok:
            _fail(problems, f"journal entry {last['seq']}: not included in the signed head")
        seqs = [int(e["seq"]) for e in segment]
        if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
            _fail(problems, "journal segment: positions not contiguous")
    for item in proofs["outside"]:
        e = item["entry"]
        leaf = leaf_hash(
            leaf_bytes(int(e["seq"]), e["kind"], e["key"], e["record_sha256"], e["prev"])
        )
        if not verify_inclusion(
            int(e["seq"]), size, leaf, [bytes.fromhex(x) for x in item["audit_path"]], root_hash
        ):
            _fail(problems, f"journal entry {e['seq']} ({e['kind']} {e['key']}): not included")
        entries[(e["kind"], e["key"])] = e

    # 4. records against their entries
    records: dict[str, dict[str, dict[str, Any]]] = {}
    for rel, data in sorted(blobs.items()):
        if not rel.startswith("records/"):
            continue
        for line in _read_jsonl(data):
            kind, key, rec = line["kind"], line["key"], line["record"]
            found = entries.get((kind, key))
            if found is None:
                _fail(problems, f"{kind} {key}: no journal entry in the pack")
            elif hashlib.sha256(canonical_json(rec)).hexdigest() != found["record_sha256"]:
                _fail(problems, f"{kind} {key}: record differs from its journal entry")
            records.setdefault(kind, {})[key] = rec

    # 5. pinned versions of each decision, re-derived from the pack's own files
    packs = {k: _pack_version(r["files"]) == k for k, r in records.get("rule_packs", {}).items()}
    snaps = records.get("list_snapshots", {})
    for k, s in snaps.items():
        blob = blobs.get(f"lists/{k}.zlib")
        if blob is None or hashlib.sha256(blob).hexdigest() != s["raw_gz"]["sha256"]:
            _fail(problems, f"list snapshot {k}: stored file missing or altered")
            continue
        if hashlib.sha256(zlib.decompress(blob)).hexdigest() != s["sha256"]:
            _fail(problems, f"list snapshot {k}: file does not hash to its sha256")
    ordered = sorted(snaps.values(), key=lambda s: (s["date_generated"], s["sha256"]))
    list_versions = {s["sha256"] for s in ordered}
    list_versions |= {
        _reconstruction_version([s["sha256"] for s in ordered[: i + 1]])
        for i in range(len(ordered))
    }
    register_versions = {int(k) for k in records.get("register_changes", {})}
    events = {r["event_id"]: r for r in records.get("events", {}).values()}
    for r in events.values():
        if hashlib.sha256(canonical_json(r["raw"])).hexdigest() != r["sha256"]:
            _fail(problems, f"event {r['event_id']}: body does not hash to its sha256")
    unresolved_lists = 0
    for k, d in records.get("decisions", {}).items():
        if d["event_id"] not in events:
            _fail(problems, f"decision {k}: its event is not in the pack")
        v = d.get("rule_pack_version")
        if v and not packs.get(v):
            _fail(problems, f"decision {k}: rule pack {v[:12]} missing or its text altered")
        lv = d.get("list_version")
        if lv and lv not in list_versions:
            unresolved_lists += 1  # e.g. the pack's own designated-vessel register
        rv = d.get("register_version")
        if rv and not set(range(1, int(rv) + 1)) <= register_versions:
            _fail(problems, f"decision {k}: register changes up to version {rv} not all here")
    decisions_by_id = {int(k): d for k, d in records.get("decisions", {}).items()}
    for k, a in records.get("alerts", {}).items():
        backing = decisions_by_id.get(a.get("decision_id") or -1)
        if backing is None or a["rule_id"] not in {v["rule_id"] for v in backing["violations"]}:
            _fail(problems, f"alert {k}: not backed by a violation of its decision")
    if unresolved_lists:
        print(
            f"note: {unresolved_lists} decision(s) cite a list version not derived from the "
            "snapshots here (the rule pack's designated-vessel register, or no snapshot)"
        )
    return problems


def main(argv: list[str]) -> int:
    import os

    root = argv[1] if len(argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    try:
        problems = verify_pack(root)
    except (KeyError, ValueError, TypeError) as exc:
        problems = [f"pack malformed: {type(exc).__name__}: {exc}"]
    if problems:
        print("AUDIT PACK DOES NOT VERIFY:")
        for p in problems[:50]:
            print("  -", p)
        return 1
    counts = {}
    try:
        with open(os.path.join(root, "pack.json"), "rb") as fh:
            counts = json.load(fh).get("counts", {})
    except OSError:
        pass
    print("audit pack verified:", ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    print(WHAT_IS_PROVEN)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
