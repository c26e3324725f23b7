"""Snapshots in the database: import of all six real files, idempotence, change reports by
DATAID, delistings, the stored file, the CLI (local file and URL)."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from functools import partial

import pytest
from click.testing import CliRunner
from lists_support import FILES, list_file

from engine.lists import store
from engine.lists.importer import import_list


@pytest.fixture(scope="module")
def six(migrated_db: None) -> Iterator[dict[str, store.SnapshotInfo]]:
    """All six real files imported, oldest first (shared by this module's tests)."""
    from engine.storage.all_tables import clear_all

    clear_all()
    out = {}
    for day in sorted(FILES):
        result = import_list(str(list_file(day)), retro=False)
        assert result.created
        out[day] = result.snapshot
    yield out
    clear_all()


def test_all_six_imported_with_readme_counts(six: dict[str, store.SnapshotInfo]) -> None:
    stored = store.snapshots()
    assert [f"{s.date_generated:%Y-%m-%d}" for s in stored] == [FILES[d][0] for d in sorted(FILES)]
    for day, info in six.items():
        assert (info.individuals, info.entities) == FILES[day][1:]
        assert info.sha256 == hashlib.sha256(list_file(day).read_bytes()).hexdigest()
        assert len(store.entries(info.id)) == info.individuals + info.entities
        assert store.raw_file(info.id) == list_file(day).read_bytes()
    assert six["2026-05-08"].regimes["DPRK"] == sum(
        1 for e in store.entries(six["2026-05-08"].id) if e.reference.startswith("KP")
    )


def test_reimport_is_a_no_op(six: dict[str, store.SnapshotInfo]) -> None:
    before = store.state_token()
    again = import_list(str(list_file("2025-04-19")))
    assert not again.created and again.snapshot.id == six["2025-04-19"].id
    assert store.state_token() == before


def test_change_report_2026_05_08(six: dict[str, store.SnapshotInfo]) -> None:
    report = store.diff(six["2026-02-27"], six["2026-05-08"])
    assert [r.reference for r in report.added] == [
        "QDi.437",
        "QDi.438",
        "QDi.439",
        "SDi.011",
        "SDi.012",
        "SDi.013",
        "SDi.014",
    ]
    assert [r.reference for r in report.removed] == ["QDe.137"]
    # INTERPOL_LINK / DATE_OF_EXPIRY only exist in the newer file: a format change, not amendments
    assert all(
        "INTERPOL_LINK" not in a.fields and "HAS_INTERPOL_LINK" not in a.fields
        for a in report.amended
    )
    assert len(report.amended) < 200
    stored = store.stored_report(six["2026-05-08"].id)
    assert sorted(r["reference"] for r in stored if r["change"] == "added") == [
        r.reference for r in report.added
    ]
    assert {r["previous_id"] for r in stored} == {six["2026-02-27"].id}


def test_iran_list_leaves_and_returns(six: dict[str, store.SnapshotInfo]) -> None:
    gone = store.diff(six["2020-11-30"], six["2024-09-26"])
    assert gone.by_regime()["Iran"]["removed"] > 0 and "Iran" not in six["2024-09-26"].regimes
    back = store.diff(six["2025-04-19"], six["2026-02-27"])
    assert back.by_regime()["Iran"]["added"] == 121 == six["2026-02-27"].regimes["Iran"]
    # the DPRK list grows to 155 entries between 2017 and 2020
    assert six["2017-07-03"].regimes["DPRK"] == 99 and six["2020-11-30"].regimes["DPRK"] == 155


def test_diff_is_by_dataid_and_symmetric(six: dict[str, store.SnapshotInfo]) -> None:
    fwd = store.diff(six["2024-09-26"], six["2025-04-19"])
    back = store.diff(six["2025-04-19"], six["2024-09-26"])
    assert {r.dataid for r in fwd.added} == {r.dataid for r in back.removed}
    assert {r.dataid for r in fwd.removed} == {r.dataid for r in back.added}
    assert {a.entry.dataid for a in fwd.amended} == {a.entry.dataid for a in back.amended}


def test_delistings(six: dict[str, store.SnapshotInfo]) -> None:
    found = store.delistings(["QDe.137", "KPe.047", "NOPE.1"])
    assert set(found) == {"QDe.137"}
    assert found["QDe.137"].removed_in.id == six["2026-05-08"].id
    assert found["QDe.137"].last_listed_in.id == six["2026-02-27"].id
    history = store.reference_history("QDe.137")
    assert history[-1][1] is None and history[-2][1] is not None


def test_resolve_names_snapshots(six: dict[str, store.SnapshotInfo]) -> None:
    s = six["2026-05-08"]
    assert (
        store.resolve("2026-05-08") == s == store.resolve(str(s.id)) == store.resolve(s.sha256[:10])
    )
    with pytest.raises(LookupError):
        store.resolve("1999-01-01")


def test_cli_diff_and_snapshots(six: dict[str, store.SnapshotInfo]) -> None:
    from sanctions_cli import main

    out = CliRunner().invoke(main, ["lists", "diff", "2026-02-27", "2026-05-08", "--no-amended"])
    assert out.exit_code == 0, out.output
    assert "7 added, 1 removed" in out.output
    assert "- QDe.137" in out.output and "+ SDi.014" in out.output
    out = CliRunner().invoke(main, ["lists", "snapshots"])
    assert out.exit_code == 0 and "2017-07-04" in out.output
    out = CliRunner().invoke(main, ["lists", "diff", "2026-02-27", "1999-01-01"])
    assert out.exit_code != 0 and "no snapshot" in out.output


def test_cli_import_from_url_then_no_op(db: None) -> None:
    """A real HTTP server on localhost serves the file; the second import changes nothing."""
    from sanctions_cli import main

    directory = list_file("2026-05-08").parent
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/consolidated-2026-05-08.xml"
        first = CliRunner().invoke(main, ["lists", "import", url])
        assert first.exit_code == 0, first.output
        assert "737 individuals, 272 entities" in first.output
        second = CliRunner().invoke(main, ["lists", "import", url])
        assert second.exit_code == 0 and "already imported" in second.output
        missing = CliRunner().invoke(main, ["lists", "import", url.replace("2026", "1999")])
        assert missing.exit_code != 0 and "cannot download" in missing.output
    finally:
        server.shutdown()
    assert [s.source for s in store.snapshots()] == [url]


def test_cli_import_default_source_is_the_setting(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.config import reset_settings
    from sanctions_cli import main

    monkeypatch.setenv("SANCTIONS_UN_LIST_URL", str(list_file("2017-07-03")))
    reset_settings()
    try:
        out = CliRunner().invoke(main, ["lists", "import"])
    finally:
        monkeypatch.undo()
        reset_settings()
    assert out.exit_code == 0, out.output
    assert "650 individuals, 371 entities" in out.output
    bad = CliRunner().invoke(main, ["lists", "import", "/nonexistent/list.xml"])
    assert bad.exit_code != 0 and "cannot import" in bad.output
