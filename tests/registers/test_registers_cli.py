"""`sanctions exemptions add|list|show|approve|revoke|import` against the real store."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner
from registers_support import HUMANITARIAN

from engine.cli import main
from engine.registers import store
from engine.registers.model import RegisterEntry

REF = HUMANITARIAN["ref"]


@pytest.fixture
def people(db):
    from web.auth.accounts import create_user

    for name, role in (("olga", "officer"), ("sam", "senior_officer"), ("sue", "senior_officer"),
                       ("audrey", "auditor")):  # fmt: skip
        create_user(name, "test-password-1", role, actor="pytest")
    return CliRunner()


def _run(runner: CliRunner, *args: str):
    return runner.invoke(main, list(args), catch_exceptions=False)


def test_add_from_file_then_approve_by_a_senior_officer(people, tmp_path) -> None:
    path = tmp_path / "entry.json"
    path.write_text(json.dumps(HUMANITARIAN))
    made = _run(people, "exemptions", "add", str(path), "--by", "olga")
    assert made.exit_code == 0, made.output
    assert "pending approval" in made.output
    assert store.get(REF).status == "pending"
    officer = _run(people, "exemptions", "approve", REF, "--by", "olga")
    assert officer.exit_code != 0 and "senior_officer" in officer.output
    nobody = _run(people, "exemptions", "approve", REF, "--by", "ghost")
    assert nobody.exit_code != 0 and "no active account" in nobody.output
    ok = _run(people, "exemptions", "approve", REF, "--by", "sam")
    assert ok.exit_code == 0, ok.output
    assert store.get(REF).approved_by == "sam"
    shown = json.loads(_run(people, "exemptions", "show", REF).output)
    assert shown["status"] == "approved" and [h["actor"] for h in shown["history"]] == [
        "olga",
        "sam",
    ]
    old = json.loads(_run(people, "exemptions", "show", REF, "--version", "1").output)
    assert old["status"] == "pending"


def test_a_senior_officer_cannot_approve_their_own_entry(people) -> None:
    made = _run(
        people, "exemptions", "add", "--by", "sam", "--ref", "N-2019-04", "--kind", "notification",
        "--regime", "DPRK", "--basis", "2397 (2017) OP5", "--holder", "Russian Federation",
        "--holder-country", "RU", "--hs", "2710", "--goods", "diesel", "--quantity", "5000",
        "--unit", "bbl", "--destination", "KP", "--valid-from", "2019-04-01",
        "--valid-to", "2019-04-30", "--covers", "UNSCR-2397-OP5-NOTIFY",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    e = store.get("N-2019-04").entry
    assert (e.basis.resolution, e.basis.paragraph) == ("2397 (2017)", "5")
    assert e.goods[0].quantity == 5000 and e.goods[0].unit.value == "bbl"
    own = _run(people, "exemptions", "approve", "N-2019-04", "--by", "sam")
    assert own.exit_code != 0 and "cannot also approve" in own.output
    assert store.get("N-2019-04").status == "pending"
    assert _run(people, "exemptions", "approve", "N-2019-04", "--by", "sue").exit_code == 0


def test_list_and_revoke(people) -> None:
    store.add(RegisterEntry.model_validate(HUMANITARIAN), "olga")
    listed = json.loads(_run(people, "exemptions", "list", "--json").output)
    assert [e["ref"] for e in listed] == [REF]
    auditor = _run(people, "exemptions", "revoke", REF, "--by", "audrey", "--reason", "x")
    assert auditor.exit_code != 0
    gone = _run(people, "exemptions", "revoke", REF, "--by", "olga", "--reason", "withdrawn")
    assert gone.exit_code == 0, gone.output
    assert (
        json.loads(_run(people, "exemptions", "list", "--json", "--status", "pending").output) == []
    )
    table = _run(people, "exemptions", "list")
    assert REF in table.output and "revoked" in table.output


def test_import_the_yaml_format(people, tmp_path) -> None:
    path = tmp_path / "register.yaml"
    path.write_text(yaml.safe_dump({"entries": [HUMANITARIAN, dict(HUMANITARIAN, ref="B-2")]}))
    same = _run(people, "exemptions", "import", str(path), "--by", "sam", "--approve-by", "sam")
    assert same.exit_code != 0
    done = _run(people, "exemptions", "import", str(path), "--by", "olga", "--approve-by", "sam")
    assert done.exit_code == 0, done.output
    assert {e.ref: e.status for e in store.entries()} == {REF: "approved", "B-2": "approved"}
    again = _run(people, "exemptions", "import", str(path), "--by", "olga")
    assert "imported 0 entries" in again.output and "2 already present" in again.output
    path.write_text("entries:\n  - ref: bad\n    kind: exemption\n")
    bad = _run(people, "exemptions", "import", str(path), "--by", "olga")
    assert bad.exit_code != 0 and "entry 1" in bad.output
