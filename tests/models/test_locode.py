"""UN/LOCODE lookup: the packaged seaports (searoute), an imported UNECE edition, the update
command. Expected places and positions are public facts about these ports, not read from the
code under test."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.normalise import locode
from engine.normalise.cli import locode_cli

# Two rows in the UNECE CSV form (no header, Latin-1): one replacing a packaged port's data, one
# a location no port list has, one marked for deletion, one country header row.
UNECE_ROWS = (
    ',KP,,".KOREA, DEMOCRATIC PEOPLE\'S REPUBLIC OF",,,,,,,,\n'
    ',KP,NJN,"Rajin (Najin)","Rajin (Najin)",13,AI,1-------,0701,,4215N 13018E,\n'
    ',KP,PYG,"Pyongyang","Pyongyang",01,AI,---4----,0701,FNJ,3901N 12545E,\n'
    'X,KP,ZZZ,"Gone","Gone",,,1-------,,,,\n'
    ',FR,MUL,"Mulhouse-Gare d\'Èpinal","Mulhouse",,RL,--3-----,0001,,4745N 00720E,\n'
)


def _near(got: tuple[float, float] | None, lat: float, lon: float) -> bool:
    return got is not None and abs(got[0] - lat) < 0.3 and abs(got[1] - lon) < 0.3


def test_packaged_ports_give_country_name_and_position() -> None:
    najin = locode.lookup("KPNJN")
    assert najin is not None and najin.country == "KP" and najin.name == "Najin"
    assert _near(najin.coordinates, 42.25, 130.3)  # Rajin, 42°15'N 130°18'E
    assert locode.lookup("kp nam").name == "Nampo"  # type: ignore[union-attr]
    assert _near(locode.lookup("RUVVO").coordinates, 43.1, 131.9)  # type: ignore[union-attr]
    assert _near(locode.lookup("NLRTM").coordinates, 51.9, 4.4)  # type: ignore[union-attr]
    assert locode.lookup("KPXQZ") is None
    assert locode.country_of_locode("KPXQZ") == "KP"
    cl = locode.code_list()
    assert cl.named("Rajin") == cl.named("Najin") == najin  # the UNECE alias form
    assert len(cl.by_code) > 3000  # a port list, not an excerpt


def test_coordinates_in_the_unece_form() -> None:
    assert locode.parse_coordinates("4215N 13018E") == (42.25, 130.3)
    assert locode.parse_coordinates("3352S 15112E") == (-33.8667, 151.2)
    assert locode.parse_coordinates("5130N 00007W") == (51.5, -0.1167)
    for odd in ("", "4275N 13018E", "9530N 00007W", "42N 130E"):
        assert locode.parse_coordinates(odd) is None


def test_an_imported_edition_comes_first(tmp_path: Path) -> None:
    edition = tmp_path / "code-list.csv"
    count = locode.write_edition(
        UNECE_ROWS.encode("latin-1").decode("latin-1").splitlines(), edition
    )
    assert count == 3  # the header row and the deleted entry are not locations
    cl = locode.CodeList.load(edition=edition)
    assert cl.code("KPNJN") == locode.Location(
        "KPNJN", "KP", "Rajin (Najin)", (42.25, 130.3), "unece"
    )
    assert cl.code("KPPYG").coordinates == (39.0167, 125.75)  # type: ignore[union-attr]
    assert cl.code("KPZZZ") is None
    assert cl.code("FRMUL").name == "Mulhouse-Gare d'Èpinal"  # type: ignore[union-attr]
    assert cl.code("RUVVO").source == "searoute"  # type: ignore[union-attr]  # the ports stay


@pytest.fixture
def edition_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "locode" / "code-list.csv"
    monkeypatch.setattr(locode, "edition_path", lambda: target)
    locode.code_list.cache_clear()
    yield target
    locode.code_list.cache_clear()


def test_update_command_takes_the_unece_zip_and_reports_bad_input(
    edition_here: Path, tmp_path: Path
) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("2024-2 UNLOCODE CodeListPart1.csv", UNECE_ROWS.encode("latin-1"))
    (tmp_path / "loc.zip").write_bytes(buf.getvalue())
    runner = CliRunner()
    out = runner.invoke(locode_cli, ["update", str(tmp_path / "loc.zip")])
    assert out.exit_code == 0, out.output
    assert "3 locations imported" in out.output
    assert locode.lookup("KPPYG").name == "Pyongyang"  # type: ignore[union-attr]
    shown = runner.invoke(locode_cli, ["show", "KPNJN"])
    assert shown.exit_code == 0 and "Rajin (Najin)" in shown.output and "42.25" in shown.output

    (tmp_path / "junk.csv").write_text("not,a,code,list\n")
    bad = runner.invoke(locode_cli, ["update", str(tmp_path / "junk.csv")])
    assert bad.exit_code == 1 and "not a UN/LOCODE code list" in bad.output
    missing = runner.invoke(locode_cli, ["update", str(tmp_path / "absent.zip")])
    assert missing.exit_code == 1 and "cannot read" in missing.output
    assert locode.lookup("KPPYG") is not None  # a failed update leaves the edition in place
