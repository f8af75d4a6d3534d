"""The rules of policy/rules/*.yaml, run by durable_rules, and the verdict they give with its trace.

This is the only module that imports `durable`. What it guards against (each measured on durable_rules 2.0.28; tests/test_rules.py checks them):
- a ruleset name can be registered once per process: each RuleEngine registers a fresh, unique name;
- at most 1,024 live session ids per ruleset: every evaluation uses a fresh id and deletes its state in `finally`;
- exceptions raised inside actions are swallowed into the state's 'exception' key: checked and raised;
- the engine mutates the definition it is given: it gets a deep copy;
- the Python layer keeps shared state between calls: evaluations are serialised by a lock (~40 µs each);
- a fact that no rule matches raises MessageNotHandledException but still creates a session, and deleting that
  session corrupts the C heap (double free / segfault, measured: 12 crashes in 12 runs). So no fact is ever left
  unhandled: every fact carries `_gpskb: true` and a catch-all rule matches it (a `$ex` condition hangs the engine).
"""
from __future__ import annotations

import copy
import itertools
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import durable.engine as _engine

from .errors import EngineError, PolicyError
from .jsontypes import JSON
from .knowledge import Condition, FollowUp, KnowledgeBase, Rule
from .nlp.facts import Facts

if TYPE_CHECKING:
    from .frame.model import Frame

_ACTION_PREFIX = "fire:"
_HANDLED = "handled"  # the catch-all rule and its action: every fact is handled (see the module docstring)
_MARK = "_gpskb"
_host: _Host | None = None
_host_lock = threading.Lock()
_names = itertools.count()


class _Host(_engine.Host):  # type: ignore[misc]  # durable_rules has no type information: Host is Any
    """A durable_rules host whose named actions record which rule fired in the session state, without the
    background dispatch threads durable_rules' host starts.

    `Host.__init__` starts two self-rearming `threading.Timer` loops (queued-message dispatch and timer dispatch)
    that call into every registered ruleset outside any lock of ours: under concurrent evaluations about 1 answer
    in 10,000 came back with no state. gpskb asserts facts synchronously under the engine's lock and uses neither
    queued messages nor timers, so the loops are not started at all."""

    def _run(self) -> None:  # durable_rules starts its timer loops here
        return None

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        """The action a rule runs on its closure `c` (durable_rules' object: `c.s` is the session state)."""
        if action_name == _HANDLED:
            def handled(c: Any) -> None:
                c.s.handled = True

            return handled
        if not action_name.startswith(_ACTION_PREFIX):
            raise Exception(f"unknown action {action_name}")
        rule_id = action_name[len(_ACTION_PREFIX):]

        def record(c: Any) -> None:
            c.s.fired = list(c.s.fired or []) + [rule_id]

        return record


def _get_host() -> _Host:
    """One host per process, shared by every RuleEngine (each registers its own uniquely named ruleset)."""
    global _host
    with _host_lock:
        if _host is None:
            _host = _Host()
        return _host


def compile_condition(cond: Condition) -> JSON:
    """A Condition as a durable_rules expression over one fact whose keys are concept ids (True/False)."""
    terms: list[JSON] = []
    for group in ((cond.any,) if cond.any else ()) + cond.any_groups:
        alts = [{c: True} for c in group]
        terms.append(alts[0] if len(alts) == 1 else {"$or": alts})
    terms += [{c: True} for c in cond.all]
    terms += [{c: False} for c in cond.none]
    return terms[0] if len(terms) == 1 else {"$and": terms}


def compile_rules(kb: KnowledgeBase) -> dict[str, JSON]:
    """The ruleset definition (durable_rules' dict form, which keeps our rule ids) for the knowledge base's rules."""
    rules = {r.id: {"all": [{"m": compile_condition(r.when)}], "run": _ACTION_PREFIX + r.id} for r in kb.rules}
    rules[_HANDLED] = {"all": [{"m": {_MARK: True}}], "run": _HANDLED}  # rule ids are ASCII slugs: no clash
    return rules


def check_conflicts(kb: KnowledgeBase) -> None:
    """Every pair of rules with different outcomes must have its conflict declared: the rule with the higher priority
    lists the other's outcome in `overrides`; equal priorities with different outcomes are an error."""
    for a in kb.rules:
        for b in kb.rules:
            if a.outcome == b.outcome or a.priority < b.priority:
                continue
            if a.priority == b.priority:
                raise PolicyError(a.file, f"rules[{a.id}].priority",
                                  f"same priority as {b.id!r} ({b.file}) but a different outcome")
            if b.outcome not in a.overrides:
                raise PolicyError(a.file, f"rules[{a.id}].overrides",
                                  f"outranks {b.id!r} ({b.outcome}) but does not declare that it overrides "
                                  f"'{b.outcome}'")


@dataclass
class Firing:
    """One fired rule in the trace: what matched, and whether it decided, supported or was overridden."""

    rule: Rule
    matched: list[str]
    status: str  # decisive | supporting | overridden
    explanation: str
    overridden_by: str | None = None

    def as_dict(self) -> JSON:
        return {"rule_id": self.rule.id, "outcome": self.rule.outcome, "clause_ids": list(self.rule.clauses),
                "matched": self.matched, "explanation": self.explanation, "status": self.status,
                "overridden_by": self.overridden_by, "quote": self.rule.quote, "priority": self.rule.priority,
                "title": self.rule.title, "checks": list(self.rule.checks)}


@dataclass
class Outcome:
    """The rules' verdict on a set of facts: prohibited, conditional, allowed, or no_rule when no rule fired."""

    verdict: str
    firings: list[Firing] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)

    @property
    def decisive(self) -> Firing | None:
        return next((f for f in self.firings if f.status == "decisive"), None)

    def trace(self) -> list[JSON]:
        return [f.as_dict() for f in self.firings]


class RuleEngine:
    """The knowledge base's rules compiled once into a durable_rules ruleset; `evaluate` is safe across threads."""

    def __init__(self, kb: KnowledgeBase):
        check_conflicts(kb)
        self.kb = kb
        self.concepts = sorted(kb.concepts)
        self.rules = {r.id: r for r in kb.rules}
        # aspects that ask how to do something or what the texts say (policy/frame.yaml): other aspects' rules that
        # do not prohibit are listed but do not answer them
        self.info_aspects = tuple(kb.frame.info_aspects) if kb.frame else ()
        self.party_aspects = tuple(kb.frame.party_aspects) if kb.frame else ()
        self.order = {r.id: i for i, r in enumerate(kb.rules)}
        # A fresh name per engine: re-creating an engine (a Streamlit rerun, a reload, a second test module) never
        # collides with a ruleset already registered in this process.
        self.name = f"gpskb_{os.getpid()}_{next(_names)}"
        self._host = _get_host()
        self._lock = threading.Lock()
        self._host.set_rulesets({self.name: copy.deepcopy(compile_rules(kb))})

    def fire(self, concepts: set[str]) -> list[str]:
        """Ids of the rules whose conditions hold for this set of true concepts, as the engine reports them."""
        fact: dict[str, object] = {c: (c in concepts) for c in self.concepts}
        sid = uuid.uuid4().hex
        fact["sid"] = sid
        fact[_MARK] = True
        with self._lock:
            try:
                state = self._host.assert_fact(self.name, fact)
            except Exception as exc:  # the engine's own errors (MemoryError at the session cap, ...)
                raise EngineError(f"rule engine failed: {type(exc).__name__}: {exc}") from exc
            finally:
                self._host.delete_state(self.name, sid)
        if not isinstance(state, dict):
            raise EngineError(f"rule engine returned no state: {state!r}")
        if "exception" in state:  # raised inside an action and swallowed by the engine
            raise EngineError(f"rule action failed: {state['exception']}")
        if not state.get("handled"):
            raise EngineError("rule engine did not run the catch-all rule")
        fired = state.get("fired") or []
        unknown = [r for r in fired if r not in self.rules]
        if unknown:
            raise EngineError(f"rule engine reported unknown rules: {unknown}")
        return list(dict.fromkeys(fired))

    def evaluate(self, facts: Facts | Frame, aspect: str | None = None) -> Outcome:
        """The verdict for these facts (a Frame or bare Facts), the fired rules in order of precedence (decisive
        first) and open follow-ups.

        Precedence (policy/frame.yaml): a prohibition decides whatever was asked; then the rules that answer the
        aspect asked (合同期限 is answered by the contract-term rule, not by the service's review); then priority.
        A verdict is never `allowed` while a fired rule of the question says `conditional` (the conditional rule
        then decides, with its checks) unless a fired allowed rule names it in `settles`: the facts the
        conditional rule asks for are stated. For a question about how to do something or about the texts, rules
        of other aspects that do not prohibit are listed but do not decide (`not_asked`)."""
        concepts = facts.concepts
        aspect = aspect or getattr(facts, "rule_aspect", None) or "can_buy"
        fired = self._in_precedence([self.rules[r] for r in self.fire(concepts)], aspect)
        info = self.info_aspects
        if not fired:
            return Outcome("no_rule")
        deciding = [r for r in fired if r.outcome == "prohibited" or r.aspect == aspect or aspect not in info]
        top = deciding[0] if deciding else None
        verdict = top.outcome if top else "no_rule"
        # a conditional firing makes an allowed answer conditional — except a rule that decides only alone (the
        # who-provides / who-buys general checks: another rule's answer stands without them), a review of the
        # service when another aspect is asked (a one-year term of an auxiliary service: the term is allowed) and a
        # rule a fired allowed rule `settles` (the review's facts stated)
        settled = {s for r in deciding if r.outcome == "allowed" for s in r.settles}
        qualifying = [r for r in deciding if r.outcome == "conditional" and not r.alone
                      and not (r.own_aspect_only and r.aspect != aspect) and r.id not in settled]
        if verdict == "allowed" and qualifying:
            # the condition decides the answer: its rule leads the trace (and the conclusion); the allowed rules it
            # qualifies are listed as overridden by it, its override note saying what still holds
            verdict, top = "conditional", qualifying[0]
            fired.remove(top)
            fired.insert(0, top)
        firings = self._firings(fired, facts, top, deciding, verdict)
        follow_ups = self._follow_ups(firings, concepts) if verdict != "prohibited" else []
        return Outcome(verdict, firings, follow_ups)

    def _in_precedence(self, fired: list[Rule], aspect: str) -> list[Rule]:
        """The fired rules in order of precedence: prohibitions first, the more specific (higher priority) first;
        among the rest, the aspect asked first, then priority."""
        # asked who may buy or provide (frame.yaml `party_aspects`), a review of the service (own_aspect_only) ranks with
        # the fallbacks when a rule that answers that aspect fired: 人大机关能当购买主体吗 is answered by who may buy, the
        # review of the 速记 service bought qualifies it
        # — and a party's fallback rule is no fallback when its party is what is asked (乡政府有没有购买主体资格 is
        # answered by 第五条 on the buyer, not by 第六条 on the provider the question also names); the general checks
        # that decide only alone (who may provide, not said which kind) stay behind
        answered = aspect in self.party_aspects and any(r.aspect == aspect and not r.alone for r in fired)
        party_asked = aspect in self.party_aspects
        fired.sort(key=lambda r: (r.outcome != "prohibited", -r.priority if r.outcome == "prohibited" else 0,
                                  (r.fallback and not (party_asked and r.aspect == aspect and not r.alone))
                                  or (answered and r.own_aspect_only and r.aspect != aspect),
                                  r.aspect != aspect, -r.priority, self.order[r.id]))
        if aspect in self.info_aspects:  # the rules that may answer come first, so the decisive firing leads the trace
            fired.sort(key=lambda r: not (r.outcome == "prohibited" or r.aspect == aspect))
        return fired

    def _firings(self, fired: list[Rule], facts: Facts | Frame, top: Rule | None, deciding: list[Rule],
                 verdict: str) -> list[Firing]:
        """Each fired rule's part in the verdict — decisive, supporting, overridden (by `top`) or not asked — with the
        words that made it fire; the decisive rule's override note says what the overridden rules still give."""
        firings = []
        for rule in fired:
            matched = self._matched(rule, facts)
            if rule is top:
                status, by = "decisive", None
            elif top is None or rule not in deciding:
                status, by = "not_asked", None
            elif rule.outcome == verdict or rule.outcome == top.outcome:
                status, by = "supporting", None
            elif verdict == "prohibited" or rule.outcome == "allowed":
                status, by = "overridden", top.id
            else:
                status, by = "supporting", None
            firings.append(Firing(rule, matched, status, rule.explanation.format(matched="、".join(matched)), by))
        overridden = [f for f in firings if f.status == "overridden"]
        if overridden and top is not None and top.override_note:
            words = list(dict.fromkeys(w for f in overridden for w in f.matched))
            items = list(dict.fromkeys(self.kb.clauses[c].ref for f in overridden for c in f.rule.clauses))
            decisive = next(f for f in firings if f.status == "decisive")
            decisive.explanation += top.override_note.format(overridden="、".join(words),
                                                               overridden_items="、".join(items))
        return firings

    def _follow_ups(self, firings: list[Firing], concepts: set[str]) -> list[FollowUp]:
        """The follow-up questions of the decisive and supporting rules whose `ask_when` the facts meet (in order,
        once each)."""
        follow_ups: list[FollowUp] = []
        for f in firings:
            if f.status not in ("decisive", "supporting"):
                continue
            for fid in f.rule.follow_ups:
                fu = self.kb.follow_ups[fid]
                if fu.ask_when.holds(concepts) and fu not in follow_ups:
                    follow_ups.append(fu)
        return follow_ups

    def _matched(self, rule: Rule, facts: Facts | Frame) -> list[str]:
        out = []
        for c in rule.when.positive:
            if c in facts.concepts:
                words = facts.words(c) or [self.kb.concepts[c].label]  # given by a form: no words, use the label
                out += [w for w in words if w not in out]
        return out
