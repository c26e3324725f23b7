"""The one written form of a citation (issue 10): engine, web pages, CSV and notes all use
``engine.models.decisions.citation_text``."""

from __future__ import annotations

import pytest

from engine.models.decisions import Citation, citation_text
from engine.registers.model import Basis


def test_short_and_spelled_out_forms_of_a_citation_and_of_its_json() -> None:
    c = Citation(resolution="1718 (2006)", paragraph="8(b)")
    assert citation_text(c) == str(c) == "UNSCR 1718 (2006) OP8(b)"
    assert citation_text(c, spelled_out=True) == "UNSCR 1718 (2006), operative paragraph 8(b)"
    stored = {"resolution": "1874 (2009)", "paragraph": "9"}  # a violation's citations (JSON)
    assert citation_text(stored) == "UNSCR 1874 (2009) OP9"


def test_a_register_basis_is_a_citation_with_the_registers_limits() -> None:
    b = Basis(resolution="2397 (2017)", paragraph="25")
    assert isinstance(b, Citation) and citation_text(b) == "UNSCR 2397 (2017) OP25"
    assert str(Basis(resolution="2397", paragraph="25")) == "UNSCR 2397 OP25"  # as before
    with pytest.raises(ValueError):
        Citation(resolution="2397", paragraph="25")  # a rule's citation needs the year
    with pytest.raises(ValueError):
        Basis(resolution="", paragraph="25")


def test_the_web_filter_is_the_engine_formatter(db) -> None:
    from web import create_app

    app = create_app({"TESTING": True})
    assert app.jinja_env.filters["citation"] is citation_text
    html = app.jinja_env.from_string(
        "{{ c|citation }} / {{ c|citation(spelled_out=True) }}"
    ).render(c={"resolution": "2397 (2017)", "paragraph": "5"})
    assert html == "UNSCR 2397 (2017) OP5 / UNSCR 2397 (2017), operative paragraph 5"
