"""The audit pack verifies with the system python3 in isolated mode (-I: no site packages, no
project on the path) in a fresh directory, and fails after any single byte of it is changed."""

from __future__ import annotations

import random
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from audit_support import store_decided, store_desk_records

from engine.audit.export import export_pack
from engine.audit.signing import generate_key

PYTHON = shutil.which("python3", path="/usr/bin:/bin:/usr/local/bin")


def _verify(root: Path) -> subprocess.CompletedProcess[str]:
    assert PYTHON is not None
    return subprocess.run(
        [PYTHON, "-I", "verify.py"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )


@pytest.fixture
def pack(db: None, tmp_path: Path) -> Path:
    key = tmp_path / "k" / "audit.key"
    generate_key(key)
    store_decided(7)
    store_desk_records()
    out = tmp_path / "pack.zip"
    summary = export_pack(
        out, datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC), key_path=key
    )
    assert summary["counts"]["events"] == 7 and summary["counts"]["alerts"] == 3
    return out


def _extract(pack: Path, where: Path) -> Path:
    where.mkdir()
    with zipfile.ZipFile(pack) as z:
        z.extractall(where)
    return where


@pytest.mark.skipif(PYTHON is None, reason="no system python3")
def test_pack_verifies_with_the_standard_library_alone(pack: Path, tmp_path: Path) -> None:
    root = _extract(pack, tmp_path / "fresh")
    done = _verify(root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "audit pack verified" in done.stdout and "does not prove" in done.stdout
    for name in ("verify.py", "manifest.json", "journal.jsonl", "proofs.json", "pack.json"):
        assert (root / name).is_file()


@pytest.mark.skipif(PYTHON is None, reason="no system python3")
def test_any_changed_byte_fails(pack: Path, tmp_path: Path) -> None:
    pristine = _extract(pack, tmp_path / "pristine")
    files = sorted(p.relative_to(pristine) for p in pristine.rglob("*") if p.is_file())
    rnd = random.Random(1500)
    for i, rel in enumerate(files):
        data = (pristine / rel).read_bytes()
        if not data:
            continue
        for pos in {0, len(data) - 1, rnd.randrange(len(data))}:
            copy = tmp_path / f"t{i}-{pos}"
            shutil.copytree(pristine, copy)
            changed = bytearray(data)
            changed[pos] = (changed[pos] + 1 + rnd.randrange(254)) % 256
            (copy / rel).write_bytes(bytes(changed))
            done = _verify(copy)
            assert done.returncode != 0, f"{rel} byte {pos} changed, still verified"
            shutil.rmtree(copy)
