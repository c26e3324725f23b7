"""The ONLY module that imports durable_rules. A narrow, safe wrapper around its C engine.

Sharp edges of durable_rules 2.0.28 handled here (measured by the team and in tests):

- ``Host.__init__`` starts background timer threads that dispatch pending actions on another
  thread, so a caller could get an incomplete result: ``_QuietHost._run`` starts none.
- The C engine has no locks; concurrent calls corrupt results silently: every call goes through
  one process-wide lock (``_ENGINE_LOCK``), shared by all backends.
- ``post`` fires only the first matching rule: facts are asserted (``assert_facts``) and retracted
  afterwards, so every (fact, rule) match fires and no state leaks into the next call.
- A batch in which ANY fact matches no rule returns "not handled" and the Python wrapper raises
  before running the actions of the other facts (they would fire on the NEXT call, attributed to
  the wrong batch): we call the C functions directly, flush the actions of the state whatever the
  code, and drain any left-over action before returning.
- Fact ids are a process-wide counter (no 32-bit hash collisions between distinct facts).
- Only single-fact patterns; ``$or`` with no positive anchor hangs the engine, so the compiler
  always anchors a pattern on ``kind`` (``check_definitions`` enforces it).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import durable.engine as _durable
import durable_rules_engine as _dre

_ENGINE_LOCK = threading.RLock()
_FACT_IDS = itertools.count(1)
_RULESET_IDS = itertools.count(1)
_RESERVED = frozenset({"id", "sid"})

BATCH_FACTS = 2000  # facts per assert_facts call


class _QuietHost(_durable.Host):
    """A Host without the dispatch/timer threads: actions run only inside our own calls."""

    def _run(self) -> None:
        self._d_timer = None
        self._t_timer = None


class DurableError(RuntimeError):
    pass


def check_definitions(definitions: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse rule shapes known to misbehave: joins (several patterns) and unanchored patterns."""
    for name, rule in definitions.items():
        pats = rule.get("all")
        if not isinstance(pats, list) or len(pats) != 1 or set(pats[0]) != {"m"}:
            raise DurableError(
                f"rule {name}: only single-fact patterns ({{'all': [{{'m': ...}}]}}) are allowed"
            )
        expr = pats[0]["m"]
        anchored = isinstance(expr, dict) and (
            "kind" in expr or any(isinstance(p, dict) and "kind" in p for p in expr.get("$and", []))
        )
        if not anchored:
            raise DurableError(f"rule {name}: a pattern must be anchored on an equality on `kind`")


class DurableBackend:
    """``DurableBackend(definitions).match([(fact_key, fields), ...]) -> [(fact_key, rule_name)]``.

    ``definitions`` is one ruleset: ``{rule_name: {"all": [{"m": <expression>}]}}`` (no ``run``).
    ``fields`` are flat scalars; keys ``id``, ``sid`` and ``$...`` are refused.
    """

    def __init__(self, definitions: Mapping[str, Mapping[str, Any]]) -> None:
        check_definitions(definitions)
        self._fired: list[tuple[int, str]] = []
        self._name = f"pack{next(_RULESET_IDS)}"
        ruleset: dict[str, Any] = {}
        for rule_name, rule in definitions.items():
            ruleset[rule_name] = {**json.loads(json.dumps(rule)), "run": self._action(rule_name)}
        with _ENGINE_LOCK:
            self._host = _QuietHost({self._name: ruleset}) if ruleset else None
            # durable.engine.Ruleset (untyped), None for an empty pack
            self._ruleset: Any = self._host.get_ruleset(self._name) if self._host else None

    def _action(self, rule_name: str):
        fired = self._fired

        def run(c: Any) -> None:
            fired.append((int(c.m["id"]), rule_name))

        return run

    def _collect(self, first: Any, state: int) -> None:
        """Consume the pending actions of one state straight from the C engine.

        Equivalent to Ruleset.do_actions with our trivial action (record fact id and rule name),
        without the per-action Python Closure and state round-trip: we never change the state.
        """
        handle = self._ruleset._handle
        messages = first
        while messages:
            for rule_name, message in json.loads(messages).items():
                self._fired.append((int(message["m"]["id"]), rule_name))
            messages = _dre.complete_and_start_action(handle, state)

    def _drain(self) -> None:
        """Run any action still pending in the engine (there should be none)."""
        handle = self._ruleset._handle
        while True:
            pending = _dre.start_action(handle)
            if not pending:
                return
            self._collect(pending[1], pending[2])

    def _call(self, fn: Any, payload: str) -> None:
        handle = self._ruleset._handle
        code, state = fn(handle, payload)
        if code == 2:
            raise DurableError("durable_rules: a fact id was asserted twice")
        if code not in (0, 1, 3):
            raise DurableError(f"durable_rules: unexpected result code {code}")
        if code in (0, 1) and state:
            first = _dre.start_action_for_state(handle, state)
            if first:
                self._collect(first[1], state)
        self._drain()

    def match(self, facts: Sequence[tuple[str, Mapping[str, Any]]]) -> list[tuple[str, str]]:
        """Every (fact_key, rule_name) pair where the rule matches the fact, each once, in order."""
        if self._ruleset is None or not facts:
            return []
        docs: list[dict[str, Any]] = []
        keys: dict[int, str] = {}
        for key, fields in facts:
            for k in fields:
                if k in _RESERVED or k.startswith("$"):
                    raise ValueError(f"fact field {k!r} is reserved by durable_rules")
            fid = next(_FACT_IDS)
            keys[fid] = key
            docs.append({**fields, "id": str(fid)})
        out: list[tuple[int, str]] = []
        with _ENGINE_LOCK:
            for start in range(0, len(docs), BATCH_FACTS):
                payload = json.dumps(docs[start : start + BATCH_FACTS], ensure_ascii=False)
                self._fired.clear()
                try:
                    self._call(_dre.assert_facts, payload)
                    out.extend(self._fired)
                finally:
                    self._fired.clear()
                    self._call(_dre.retract_facts, payload)  # same facts, same ids
                    self._fired.clear()
        seen: set[tuple[int, str]] = set()
        result: list[tuple[str, str]] = []
        for fid, name in out:  # an $or can fire the same (fact, rule) twice
            if (fid, name) not in seen and fid in keys:
                seen.add((fid, name))
                result.append((keys[fid], name))
        return result

    def stored_facts(self) -> list[dict[str, Any]]:
        """Facts left in the engine (always empty between calls; for tests)."""
        if self._ruleset is None:
            return []
        with _ENGINE_LOCK:
            return self._ruleset.get_facts(None)

    def close(self) -> None:
        with _ENGINE_LOCK:
            if self._ruleset is not None:
                _dre.delete_ruleset(self._ruleset._handle)
                self._ruleset = None
                self._host = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
