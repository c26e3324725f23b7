"""The phrase test is written twice on purpose (issue 10): compiled (``named.names_pattern``) for
the facts durable_rules matches (``kw__`` and ``pn__``/``area__`` fields), and ``keyword_in`` for
the oracle, the caps and the evidence (engine/rules/conditions.py). Over every keyword and name of
the repository's pack, with the texts where a phrase test can go wrong (word ends, suffixes,
separators, case, accents), the two must agree."""

from __future__ import annotations

from engine.models.events import Event
from engine.rules.conditions import goods_match, party_named
from engine.rules.facts import FactBuilder, keyword_field
from engine.rules.named import named_field, named_fields, named_nodes
from engine.rules.schema import GoodsMatch, PartyNamed


def _texts(phrase: str) -> list[str]:
    words = phrase.split()
    return [
        phrase,
        phrase.upper(),
        phrase + "s",
        phrase + "ING",
        "x" + phrase,
        "un" + phrase.replace(" ", ""),
        "-".join(words),
        "_".join(words),
        f"cargo: {phrase}, assorted",
        f"{phrase}/parts",
        " ".join(words[:-1]),
        "Munición " + phrase,
    ]


def test_keyword_flags_and_the_goods_leaf_agree_on_every_keyword(repo_pack) -> None:
    leaves = [n for r in repo_pack.rules for n in r.when.nodes() if isinstance(n, GoodsMatch)]
    keywords = {k for n in leaves for k in n.keywords}
    assert len(keywords) > 50  # the pack's vocabulary was read
    builder = FactBuilder(keywords, kinds=("goods",))
    texts = {t for k in keywords for t in _texts(k.text.rstrip("*"))}
    facts = {}  # text -> its goods fact (one event per text)
    for text in texts:
        raw = {
            "event_id": "kw",
            "event_type": "shipment",
            "occurred_at": "2024-01-01T00:00:00Z",
            "source": "test",
            "shipment": {"goods": [{"description": text}]},
        }
        (facts[text],) = builder.build(Event.model_validate(raw))
    checked = 0
    for leaf in {n.keywords: n for n in leaves}.values():  # distinct keyword sets
        fields = {keyword_field(k) for k in leaf.keywords}
        for text in {t for k in leaf.keywords for t in _texts(k.text.rstrip("*"))}:
            fact = facts[text]
            flagged = any(fact.fields.get(f) is True for f in fields)
            leaf_holds = goods_match(leaf, fact.payload["goods"], "low") is not None
            assert flagged == leaf_holds, (leaf.keywords, text)
            checked += 1
    assert checked > 500


def test_name_fields_and_the_party_leaf_agree_on_every_name(repo_pack) -> None:
    leaves = [n for r in repo_pack.rules for n in r.when.nodes() if isinstance(n, PartyNamed)]
    assert leaves
    prepared = named_nodes(leaves)
    seen_true = seen_false = 0
    for leaf in leaves:
        for k in leaf.names:
            for text in _texts(k.text.rstrip("*")):
                party = {"role": sorted(leaf.roles)[0] if leaf.roles else "consignee", "name": text}
                if leaf.country:
                    party["country"] = leaf.country
                raw = {
                    "event_id": "pn",
                    "event_type": "shipment",
                    "occurred_at": "2024-01-01T00:00:00Z",
                    "source": "test",
                    "shipment": {"parties": [party]},
                }
                event = Event.model_validate(raw)
                compiled = named_fields(prepared, event).get(named_field(leaf)) is True
                assert compiled == party_named(leaf, event), (k.text, text)
                seen_true += compiled
                seen_false += not compiled
    assert seen_true and seen_false  # both outcomes met: the texts test the word ends
