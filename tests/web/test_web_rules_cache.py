"""The measures pages reuse the parsed rule pack while its files are unchanged and pick up every
change (new text, same-size edits inside one timestamp tick, invalid edits) as a fresh load would.
A small pack copied from the committed rules/ (the live tree may be mid-edit) in a temp dir."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from engine.config import PROJECT_ROOT, reset_settings
from engine.rules.loader import RulePackError, load_pack
from web.pack_cache import RACY_SECONDS, PackCache

FILES = ("dprk/arms/UNSCR-1718-OP8b.yaml", "dprk/arms/UNSCR-1874-OP9.yaml", "exemptions.yaml")
TITLE = "title: DPRK arms exports (heavy conventional arms and related materiel)"


def committed(rel: str) -> str:
    try:
        return subprocess.run(
            ["git", "show", f"HEAD:rules/{rel}"],
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"committed rule files not readable: {exc}")


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    for rel in FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(committed(rel), encoding="utf-8")
    assert TITLE in (root / FILES[0]).read_text()
    return root


def age(root: Path, seconds: float = 3600) -> None:
    """Make every file look old (not 'racy'), so only the stat signature is consulted."""
    past = time.time() - seconds
    for p in root.rglob("*.yaml"):
        os.utime(p, (past, past))


def edit(path: Path, old: str, new: str, keep_mtime: bool = False) -> None:
    st = path.stat()
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_same_pack_until_the_text_changes(rules_dir: Path) -> None:
    cache = PackCache()
    age(rules_dir)
    first = cache.get(rules_dir)
    assert first.version == load_pack(rules_dir).version and {r.id for r in first.rules} == {
        "UNSCR-1718-OP8b",
        "UNSCR-1874-OP9",
    }
    assert cache.get(rules_dir) is first and cache.loads == 1

    age(rules_dir, 60)  # touched, same text: same pack, not parsed again
    assert cache.get(rules_dir) is first and cache.loads == 1

    edit(rules_dir / FILES[0], TITLE, "title: DPRK arms exports (edited)")
    second = cache.get(rules_dir)
    assert second is not first and cache.loads == 2
    assert second.version == load_pack(rules_dir).version != first.version
    assert second.rule("UNSCR-1718-OP8b").title == "DPRK arms exports (edited)"

    (rules_dir / FILES[1]).unlink()  # a removed file
    assert [r.id for r in cache.get(rules_dir).rules] == ["UNSCR-1718-OP8b"] and cache.loads == 3


def test_an_edit_of_the_vessel_register_is_a_new_pack(rules_dir: Path) -> None:
    register = rules_dir / "vessels" / "designated-vessels.yaml"
    register.parent.mkdir()
    register.write_text(committed("vessels/designated-vessels.yaml"), encoding="utf-8")
    cache = PackCache()
    age(rules_dir)
    first = cache.get(rules_dir)
    assert first.vessels is not None and first.version == load_pack(rules_dir).version
    edit(register, "name: PETREL 8", "name: PETREL 8 (edited)")
    second = cache.get(rules_dir)
    assert second.version != first.version and cache.loads == 2
    assert any(v.name == "PETREL 8 (edited)" for v in second.vessels.vessels)


def test_same_size_edit_with_the_same_mtime_is_seen_while_racy(rules_dir: Path) -> None:
    cache = PackCache()
    first = cache.get(rules_dir)  # files written just now: racy
    edit(rules_dir / FILES[0], "(heavy", "(HEAVY", keep_mtime=True)  # same size, same mtime
    second = cache.get(rules_dir)
    assert second.rule("UNSCR-1718-OP8b").title.startswith("DPRK arms exports (HEAVY")
    assert second.version != first.version and cache.loads == 2
    # once the files are older than the racy window, unchanged stats mean the cached pack
    age(rules_dir, RACY_SECONDS + 10)
    assert cache.get(rules_dir) is second


def test_invalid_edit_raises_like_a_fresh_load_and_is_not_cached(rules_dir: Path) -> None:
    cache = PackCache()
    good = cache.get(rules_dir)
    path = rules_dir / FILES[0]
    edit(path, "severity: critical", "severity: apocalyptic")
    with pytest.raises(RulePackError):
        load_pack(rules_dir)
    with pytest.raises(RulePackError):
        cache.get(rules_dir)
    with pytest.raises(RulePackError):
        cache.get(rules_dir)
    edit(path, "severity: apocalyptic", "severity: critical")
    assert cache.get(rules_dir).version == good.version


@pytest.fixture
def pages(rules_dir: Path, db, login_as, monkeypatch: pytest.MonkeyPatch):
    from web import create_app
    from web.pack_cache import PACKS

    monkeypatch.setenv("SANCTIONS_RULES_DIR", str(rules_dir))
    reset_settings()
    PACKS.clear()
    client = create_app({"TESTING": True}).test_client()
    login_as(client, "auditor")
    yield client
    monkeypatch.delenv("SANCTIONS_RULES_DIR")
    reset_settings()
    PACKS.clear()


def _without_csrf(page: bytes) -> bytes:
    # the CSRF token is timestamped (itsdangerous), so it changes at each second boundary
    return re.sub(rb'name="csrf_token" value="[^"]*"', b'name="csrf_token"', page)


def test_pages_follow_the_files(pages, rules_dir: Path) -> None:
    from web.pack_cache import PACKS

    index = pages.get("/rules")
    assert index.status_code == 200 and "heavy conventional arms" in index.text
    detail = pages.get("/rules/UNSCR-1718-OP8b")
    assert detail.status_code == 200
    loads = PACKS.loads
    # cached: the same bytes again, nothing parsed
    assert _without_csrf(pages.get("/rules").data) == _without_csrf(index.data)
    assert _without_csrf(pages.get("/rules/UNSCR-1718-OP8b").data) == _without_csrf(detail.data)
    assert PACKS.loads == loads

    edit(rules_dir / FILES[0], TITLE, "title: DPRK arms exports (edited for the cache test)")
    assert "edited for the cache test" in pages.get("/rules").text
    assert "edited for the cache test" in pages.get("/rules/UNSCR-1718-OP8b").text
    assert PACKS.loads == loads + 1
    (rules_dir / FILES[1]).unlink()
    assert pages.get("/rules/UNSCR-1874-OP9").status_code == 404
    assert "UNSCR-1874-OP9" not in pages.get("/rules").text
