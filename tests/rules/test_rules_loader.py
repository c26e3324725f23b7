"""Rule files: strict schema, the pack version, the data-file convention, `sanctions rules check`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.rules.loader import (
    RuleFileError,
    RulePackError,
    load_pack,
    pack_from_files,
    pack_version,
    parse_rule,
    read_files,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARMS = Path(__file__).resolve().parents[2] / "rules" / "dprk" / "arms"
BASE = (ARMS / "UNSCR-1874-OP9.yaml").read_text()


def parse(text: str, name: str = "UNSCR-1874-OP9"):
    return parse_rule(f"dprk/arms/{name}.yaml", text)


def test_a_real_rule_file_parses():
    rule = parse(BASE)
    assert str(rule.citation) == "UNSCR 1874 (2009) OP9"
    assert rule.when.fact == "goods" and rule.examples.fire and rule.examples.clear


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("severity: critical", "severity: critical\nseverty: high"), "severty"),
        (lambda t: t.replace('hs: ["93", "8710", "8906.10"]', "hs: [93]"), "quoted string"),
        (lambda t: t.replace('hs: ["93", "8710", "8906.10"]', 'hs: ["930"]'), "2, 4 or 6 digits"),
        (
            lambda t: t.replace(
                "effective_from: 2009-06-12", "effective_from: 2009-06-12\neffective_to: 2001-01-01"
            ),
            "after effective_from",
        ),
        (lambda t: t.replace("    - from: KP", "    - from: XX"), "country code"),
        (
            lambda t: t.replace("    - from: KP", "    - where: {vesel_flag: KP}"),
            "not a field of goods facts",
        ),
        (
            lambda t: t.replace('citation: {resolution: "1874 (2009)", paragraph: "9"}', ""),
            "citation",
        ),
        (
            lambda t: t.replace("confidence_note: Paragraph", "notes: Paragraph"),
            "confidence_note is required",
        ),
        (
            lambda t: t.replace("from the DPRK ({from_places})", "from the DPRK ({from_place})"),
            "unknown placeholders",
        ),
        (lambda t: t.split("examples:")[0] + "examples:\n  fire: []\n  clear: []\n", "at least 1"),
        (
            lambda t: t.replace(
                'occurred_at: "2009-06-12T00:00:00+00:00"', 'occurred_at: "2009-06-12T00:00:00"'
            ),
            "offset",
        ),
    ],
)
def test_schema_is_strict(edit, message):
    with pytest.raises(RuleFileError) as err:
        parse(edit(BASE))
    assert message in err.value.message


def test_file_name_must_equal_id():
    with pytest.raises(RuleFileError, match="must equal the rule id"):
        parse(BASE, name="SOMETHING-ELSE")


def test_norway_is_not_false():
    rule = parse(BASE.replace("    - from: KP", "    - from: [KP, NO]"))
    assert any(getattr(n, "countries", None) == ("KP", "NO") for n in rule.when.nodes())


def test_hs_ranges_and_dots_expand():
    rule = parse(BASE.replace('hs: ["93", "8710", "8906.10"]', 'hs: ["7201-7203", "8906.10"]'))
    goods = next(n for n in rule.when.nodes() if hasattr(n, "hs"))
    assert goods.hs == ("7201", "7202", "7203", "890610")


def copy_rules(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(ARMS, root / "dprk" / "arms")
    return root


def test_pack_version_changes_with_any_rule_file_edit(tmp_path):
    root = copy_rules(tmp_path)
    v1 = load_pack(root).version
    assert load_pack(root).version == v1  # stable
    f = root / "dprk" / "arms" / "UNSCR-1874-OP9.yaml"
    f.write_text(f.read_text() + "\n# reviewed\n")
    v2 = load_pack(root).version
    assert v2 != v1
    (root / "exemptions.yaml").write_text("entries: []\n")
    assert load_pack(root).version == v2  # an import format now: the registers are in the store
    assert pack_version(read_files(root)) == load_pack(root).version


def test_data_files_are_not_rules(tmp_path):
    root = copy_rules(tmp_path)
    (root / "data").mkdir()
    (root / "data" / "hs-notes.yaml").write_text("anything: [1, 2]\n")
    (root / "vessels").mkdir()
    (root / "vessels" / "notes.yaml").write_text("anything: [1, 2]\n")
    (root / "README.yaml").write_text("not: a rule\n")
    pack = load_pack(root)
    assert len(pack.rules) == 5
    assert not any(p.startswith(("data/", "vessels/")) or p == "README.yaml" for p in pack.files)
    assert pack.vessels is None


def test_vessel_register_is_part_of_the_pack(tmp_path):
    """The designated-vessel register is versioned with the rules: a change to it is a new pack
    version, and a stored pack rebuilds the register a decision relied on."""
    root = copy_rules(tmp_path)
    before = load_pack(root)
    (root / "vessels").mkdir()
    register = PROJECT_ROOT / "rules" / "vessels" / "designated-vessels.yaml"
    (root / "vessels" / "designated-vessels.yaml").write_text(register.read_text(encoding="utf-8"))
    pack = load_pack(root)
    assert pack.version != before.version
    assert "vessels/designated-vessels.yaml" in pack.files
    assert pack.vessels is not None and any(v.imo for v in pack.vessels.vessels)
    rebuilt = pack_from_files(pack.files)
    assert rebuilt.version == pack.version and rebuilt.vessels == pack.vessels
    (root / "vessels" / "designated-vessels.yaml").write_text(
        "regime: DPRK\nvessels: [{name: X}]\n"
    )
    with pytest.raises(RulePackError) as err:
        load_pack(root)
    assert [e.path for e in err.value.errors] == ["vessels/designated-vessels.yaml"]


def test_pack_errors_list_every_bad_file(tmp_path):
    root = copy_rules(tmp_path)
    (root / "dprk" / "arms" / "BAD-1.yaml").write_text("id: BAD-1\n")
    (root / "dprk" / "arms" / "BAD-2.yaml").write_text(": : :\n")
    with pytest.raises(RulePackError) as err:
        load_pack(root)
    assert sorted(e.path for e in err.value.errors) == [
        "dprk/arms/BAD-1.yaml",
        "dprk/arms/BAD-2.yaml",
    ]


def test_cli_check_reports_per_regime_and_fails_on_errors(tmp_path):
    from sanctions_cli import main

    root = copy_rules(tmp_path)
    ok = CliRunner().invoke(main, ["rules", "check", "--dir", str(root)])
    assert ok.exit_code == 0, ok.output
    assert "DPRK: 5 rule files" in ok.output and "5 rule files OK" in ok.output
    f = root / "dprk" / "arms" / "UNSCR-2270-OP6.yaml"
    f.write_text(
        f.read_text().replace(
            'occurred_at: "2016-03-01T12:00:00+00:00"', 'occurred_at: "2016-03-02T12:00:00+00:00"'
        )
    )
    bad = CliRunner().invoke(main, ["rules", "check", "--dir", str(root)])
    assert bad.exit_code == 1
    assert "1 problem(s)" in bad.output and "ex-2270-6-before" in bad.output.replace(
        "\n", ""
    ).replace("│", "").replace(" ", "")
