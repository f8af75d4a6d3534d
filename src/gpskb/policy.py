"""The policy folder as a validated KnowledgeBase: documents and their clauses, rules, lexicon, settings, training.

Loading is strict, in the manner of OpenFisca's parameter loader: every file is checked against a schema, duplicate
YAML keys and unknown keys are rejected, clause and rule ids must be unique and every reference must resolve. Each
error is a PolicyError naming the file and the field, e.g. `policy/documents/x.yaml: clauses[12].text: field required`.
"""
from __future__ import annotations

import difflib
import functools
import hashlib
import json
import os
import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import config
from .errors import PolicyError, UnknownClause, UnknownRule
from .jsontypes import JSON
from .policy_files import (
    CONCEPT_KINDS,
    DocumentFile,
    LanguageFile,
    LexiconFile,
    RetrievalFile,
    RulesFile,
    TrainingFile,
    check,
)
from .schema import ExamConfig, Examples, ExampleTexts, FrameConfig, Parties, Wording, validated
from .text import compile_pattern

# ---------------------------------------------------------------------------------------------------------------
# Strict YAML


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # libyaml's parser: ~10× faster start-up
    """SafeLoader that rejects duplicate keys (PyYAML silently keeps the last one) and keeps dates as strings."""


def _construct_mapping(loader: yaml.constructor.SafeConstructor, node: yaml.MappingNode,
                       deep: bool = False) -> dict[Hashable, Any]:
    seen: dict[Hashable, int] = {}  # key → the line it was first seen on
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay strings: 2023-04-10 is a citation detail, not a datetime to reformat.
_StrictLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def display_path(path: Path) -> str:
    """A path as users should see it in messages: relative to the working directory when inside it."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else str(path)
    except (ValueError, OSError):
        return str(path)


def read_yaml(path: Path) -> Any:
    """Parse one YAML file strictly; any problem becomes a PolicyError naming the file (and line)."""
    name = display_path(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(name, "", "file not found") from None
    except UnicodeDecodeError as exc:
        raise PolicyError(name, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise PolicyError(name, "", f"cannot read: {exc.strerror}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise PolicyError(name, where, f"malformed YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(name, "", f"malformed YAML: {exc}") from None


# ---------------------------------------------------------------------------------------------------------------
# The knowledge base


_CN = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


#: an article named in Chinese: 第十条, 第二十四条, 第5条
ARTICLE_RE = re.compile(r"第([一二三四五六七八九十百零两\d]+)条")


def chinese_number(s: str) -> int | None:
    """一 … 九百九十九 (十二, 一百零五, 一百一十, 两百) and arabic digits → int; None when it is not such a number."""
    if s.isdigit():
        return int(s)
    if not s or any(ch not in _CN and ch not in "十百" for ch in s):
        return None
    total, rest = 0, s
    if "百" in s:
        hundreds, _, rest = s.partition("百")
        if len(hundreds) != 1 or not _CN.get(hundreds) or "百" in rest:
            return None
        total = _CN[hundreds] * 100
        if not rest:
            return total
        if rest[0] == "零":  # 一百零五
            rest = rest[1:]
            return total + _CN[rest] if len(rest) == 1 and _CN.get(rest) else None
        if len(rest) == 1 and rest in _CN:  # 一百五 (150, as it is spoken)
            return total + _CN[rest] * 10
    if "十" not in rest:
        return _CN[rest] if len(rest) == 1 and not total else None
    tens, _, ones = rest.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return None
    return total + (_CN[tens] if tens else 1) * 10 + (_CN[ones] if ones else 0)


@dataclass(frozen=True)
class Document:
    id: str
    number: str
    title: str
    issuer: str
    excerpt: bool
    excerpt_note: str | None
    meta: JSON  # the document file's `document` mapping as read (its missing topics' patterns compiled)
    file: str

    def missing_topics(self, text: str) -> list[JSON]:
        """The topics an excerpt does not govern (document `missing_topics`) that a normalised question raises."""
        return [t for t in self.meta.get("missing_topics") or () if any(rx.search(text) for rx in t["compiled"])]

    def missing_article(self, n: int) -> str | None:
        """The `missing` entry (its articles text) that covers article n of an excerpt, if any."""
        for m in self.meta.get("missing") or ():
            parts = re.findall(ARTICLE_RE.pattern + r"|(末条)", m["articles"])
            nums = [chinese_number(a) if a else None for a, end in parts]
            articles: str = m["articles"]
            if "至" in articles and len(parts) == 2:
                lo, hi = nums[0], nums[1]
                if lo is not None and lo <= n and (hi is None or n <= hi):
                    return articles
            elif n in nums:
                return articles
        return None


@dataclass(frozen=True)
class Clause:
    id: str
    document: str
    kind: str
    text: str
    number: str | None = None
    title: str | None = None
    part: str | None = None
    sources: str | None = None
    aliases: tuple[str, ...] = ()  # names people use for the clause (负面清单 for 第十条): metadata, never part of the text

    @property
    def label(self) -> str:
        """How the clause is named in a citation: 「（十一）严禁变相用工」, 「一、深入推进…」, 「前言」, 「文尾」."""
        if self.kind == "preamble":
            return "正文开头（前言）"
        if self.kind == "closing":
            return "文尾（公开选项、抄送、印发）"
        if self.kind == "chapter" and self.title:
            return f"{self.number}　{self.title}"
        return f"{self.number or ''}{self.title or ''}"

    @property
    def ref(self) -> str:
        """How the clause is referred to in a sentence: 第（十一）项, 第一部分, 第十条, 第十条第（三）项, 前言, 文尾."""
        if self.kind == "item":
            return f"第{self.number}项"
        if self.kind == "part":
            return f"第{(self.number or '').rstrip('、')}部分"
        if self.kind in ("article", "article-item", "chapter"):
            return self.number or ""
        return {"preamble": "前言", "closing": "文尾"}.get(self.kind, self.label)


@dataclass(frozen=True)
class Condition:
    """any: at least one of these; any_groups: at least one of each group; all: every one; none: not one."""

    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    any_groups: tuple[tuple[str, ...], ...] = ()

    def holds(self, facts: set[str]) -> bool:
        """Whether a set of true concept ids satisfies the condition (the reference semantics the engine must match)."""
        return ((not self.any or any(c in facts for c in self.any))
                and all(any(c in facts for c in g) for g in self.any_groups)
                and all(c in facts for c in self.all)
                and not any(c in facts for c in self.none))

    @property
    def positive(self) -> tuple[str, ...]:
        """The concepts whose presence can make the condition hold."""
        return self.any + tuple(c for g in self.any_groups for c in g) + self.all

    @property
    def concepts(self) -> tuple[str, ...]:
        return self.positive + self.none


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    clauses: tuple[str, ...]
    quote: str
    when: Condition
    outcome: str
    priority: int
    overrides: tuple[str, ...]
    explanation: str
    override_note: str | None
    checks: tuple[str, ...]
    follow_ups: tuple[str, ...]
    file: str
    conclusion: str | None = None  # the 结论 when the outcome's default wording does not fit (e.g. a contract term)
    aspect: str = "can_buy"  # the aspect of a question this rule answers (policy/frame.yaml)
    fallback: bool = False  # a general test: any other rule that does not prohibit decides before it
    alone: bool = False  # decides only alone: it never turns another rule's `allowed` into `conditional`
    # a review of the service itself (第（八）项's 从严审核): it turns an `allowed` into `conditional` only when its own
    # aspect is the one asked (a one-year term asked about stays allowed; the review is listed with its checks)
    own_aspect_only: bool = False
    # conditional rules whose checks this allowed rule's facts answer (the auxiliary review when catalogue, budget and
    # pay by results are all stated): they support the answer, they do not make it conditional
    settles: tuple[str, ...] = ()


@dataclass(frozen=True)
class FollowUp:
    id: str
    ask_when: Condition
    question: str
    options: tuple[tuple[str, tuple[str, ...]], ...]  # (label, the concept ids it gives)


@dataclass(frozen=True)
class Concept:
    id: str
    label: str
    kind: str
    terms: tuple[str, ...]
    exceptions: tuple[str, ...]
    exception_patterns: tuple[re.Pattern[str], ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()  # regular expressions that mention the concept (派几个人到…上班)
    english: tuple[str, ...] = ()  # English words and phrases for the concept (lower case, matched on word boundaries)
    # groups of regexes: the concept is mentioned when every group matches, in any order
    together: tuple[tuple[re.Pattern[str], ...], ...] = ()


@dataclass
class KnowledgeBase:
    """Everything gpskb knows, loaded from one policy folder and checked for consistency."""

    policy_dir: Path
    documents: dict[str, Document]
    clauses: dict[str, Clause]
    rules: list[Rule]
    not_formalised: dict[str, str]
    follow_ups: dict[str, FollowUp]
    concepts: dict[str, Concept]
    language: JSON  # policy/language.yaml as read, its patterns compiled (`compiled_…` keys)
    retrieval: JSON  # policy/retrieval.yaml as read, its glossary compiled
    training: list[JSON]
    frame: FrameConfig
    examples: ExampleTexts  # slot → value → example questions (policy/examples.yaml)
    parties: Parties
    wording: Wording
    exam: ExamConfig  # how trainers' question banks are read (policy/exam.yaml, gpskb.bank)

    def clause(self, clause_id: str) -> Clause:
        """The clause with this id; UnknownClause (with near matches) otherwise."""
        try:
            return self.clauses[clause_id]
        except KeyError:
            raise UnknownClause(clause_id, difflib.get_close_matches(clause_id, list(self.clauses), n=3,
                                                                      cutoff=0.6)) from None

    def document_of(self, clause: Clause) -> Document:
        return self.documents[clause.document]

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id; UnknownRule (with near matches) otherwise."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise UnknownRule(rule_id, difflib.get_close_matches(rule_id, [r.id for r in self.rules], n=3, cutoff=0.5))

    @functools.cached_property
    def corpus_hash(self) -> str:
        """Hash of what the index is built from (documents, clause ids and texts, chunking): not of comments or rules."""
        payload = {
            "clauses": [[c.id, c.label, c.text, list(c.aliases)] for c in self.clauses.values()],
            "documents": [[d.id, d.number, d.title] for d in self.documents.values()],
            "chunking": self.retrieval["chunking"],
        }
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _condition(data: JSON, file: str, where: str, concepts: dict[str, Concept], positive: bool = True) -> Condition:
    cond = Condition(tuple(data.get("any") or ()), tuple(data.get("all") or ()), tuple(data.get("none") or ()),
                     tuple(tuple(g) for g in data.get("any_of_each") or ()))
    if positive and not cond.positive:
        # a rule that fires on the absence of facts alone would decide every question
        raise PolicyError(file, where, "a rule condition needs 'any', 'any_of_each' or 'all'")
    if not cond.concepts:
        raise PolicyError(file, where, "an empty condition")
    for key, values in (("any", cond.any), ("all", cond.all), ("none", cond.none),
                        ("any_of_each", tuple(c for g in cond.any_groups for c in g))):
        for i, c in enumerate(values):
            if c not in concepts:
                near = difflib.get_close_matches(c, list(concepts), n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise PolicyError(file, f"{where}.{key}[{i}]", f"unknown concept {c!r}{hint}")
    return cond


def _regexes(patterns: Iterable[str], file: str, field: str, groups: tuple[str, ...] = ()) -> list[re.Pattern[str]]:
    """Compile a list of regular expressions of a policy file; the error names the file and the field (and the
    named groups each pattern must capture)."""
    out = []
    for j, rx in enumerate(patterns):
        try:
            out.append(compile_pattern(rx))
        except re.error as exc:
            raise PolicyError(file, f"{field}[{j}]", f"invalid regular expression: {exc}") from None
        missing = [g for g in groups if g not in out[-1].groupindex]
        if missing:
            raise PolicyError(file, f"{field}[{j}]", "must capture " + " and ".join(f"(?P<{g}>…)" for g in groups))
    return out


def load(policy: str | os.PathLike[str] | None = None) -> KnowledgeBase:
    """Load and validate a policy folder (default: config.policy_dir()). Raises PolicyError on the first problem."""
    root = config.policy_dir(policy)
    if not root.is_dir():
        raise PolicyError(display_path(root), "", f"policy folder not found (set {config.Settings.variable('policy_dir')} or --policy-dir)")

    documents: dict[str, Document] = {}
    clauses: dict[str, Clause] = {}
    doc_files = sorted((root / "documents").glob("*.yaml"))
    if not doc_files:
        raise PolicyError(display_path(root / "documents"), "", "no document files (*.yaml)")
    for path in doc_files:
        name = display_path(path)
        data = check(DocumentFile, read_yaml(path), name)
        meta = data["document"]
        if meta["id"] in documents:
            raise PolicyError(name, "document.id", f"duplicate document id {meta['id']!r} "
                                                   f"(also in {documents[meta['id']].file})")
        if meta["excerpt"] and not meta.get("excerpt_note"):
            raise PolicyError(name, "document.excerpt_note", "field required when excerpt is true")
        for i, t in enumerate(meta.get("missing_topics") or ()):
            t["compiled"] = _regexes(t["patterns"], name, f"document.missing_topics[{i}].patterns")
        if not (path.parent.parent / meta["source"]).is_file():
            raise PolicyError(name, "document.source", f"source file {meta['source']!r} not found in the policy folder")
        documents[meta["id"]] = Document(meta["id"], meta["number"], meta["title"], meta["issuer"], meta["excerpt"],
                                         meta.get("excerpt_note"), meta, name)
        for i, c in enumerate(data["clauses"]):
            where = f"clauses[{i}]"
            if not c["id"].startswith(meta["id"] + "/"):
                raise PolicyError(name, f"{where}.id", f"{c['id']!r} must start with the document id "
                                                       f"'{meta['id']}/'")
            if c["id"] in clauses:
                raise PolicyError(name, f"{where}.id", f"duplicate clause id {c['id']!r}")
            if c["kind"] in ("item", "part", "article", "article-item", "chapter") and not c.get("number"):
                raise PolicyError(name, f"{where}.number", f"field required for a clause of kind {c['kind']}")
            clauses[c["id"]] = Clause(c["id"], meta["id"], c["kind"], c["text"], c.get("number"), c.get("title"),
                                      c.get("part"), c.get("sources"), tuple(c.get("aliases") or ()))
        for i, c in enumerate(data["clauses"]):
            if c.get("part") and c["part"] not in clauses:
                raise PolicyError(name, f"clauses[{i}].part", f"unknown clause {c['part']!r}")

    lex_path = root / "lexicon.yaml"
    lex_name = display_path(lex_path)
    lex = check(LexiconFile, read_yaml(lex_path), lex_name)
    concepts: dict[str, Concept] = {}
    term_owner: dict[str, str] = {}
    for i, c in enumerate(lex["concepts"]):
        if c["id"] in concepts:
            raise PolicyError(lex_name, f"concepts[{i}].id", f"duplicate concept id {c['id']!r}")
        for j, term in enumerate(c["terms"]):
            if term in term_owner and term_owner[term] != c["id"]:
                raise PolicyError(lex_name, f"concepts[{i}].terms[{j}]",
                                  f"term {term!r} already belongs to concept {term_owner[term]!r}")
            term_owner[term] = c["id"]
        compiled = {key: _regexes(c.get(key) or (), lex_name, f"concepts[{i}].{key}")
                    for key in ("exception_patterns", "patterns")}
        together = []
        for j, group in enumerate(c.get("together") or ()):
            if not isinstance(group, list) or not group or not all(isinstance(rx, str) for rx in group):
                raise PolicyError(lex_name, f"concepts[{i}].together[{j}]", "must be a non-empty list of regexes")
            together.append(tuple(_regexes(group, lex_name, f"concepts[{i}].together[{j}]")))
        concepts[c["id"]] = Concept(c["id"], c["label"], c["kind"], tuple(c["terms"]),
                                    tuple(c.get("exceptions") or ()), tuple(compiled["exception_patterns"]),
                                    tuple(compiled["patterns"]), tuple(t.lower() for t in c.get("english") or ()),
                                    tuple(together))

    language = check(LanguageFile, read_yaml(root / "language.yaml"), display_path(root / "language.yaml"))
    lang_name = display_path(root / "language.yaml")
    for i, q in enumerate(language.get("quantities") or ()):
        q["compiled"] = _regexes(q["patterns"], lang_name, f"quantities[{i}].patterns", ("n", "unit"))
        q["compiled_exceptions"] = _regexes(q.get("exceptions") or (), lang_name, f"quantities[{i}].exceptions")
        q["compiled_renewals"] = _regexes(q.get("renewals") or (), lang_name, f"quantities[{i}].renewals", ("k",))
        q["compiled_date_ranges"] = _regexes(q.get("date_ranges") or (), lang_name, f"quantities[{i}].date_ranges",
                                             ("y1", "y2"))
        asked = q.get("when_asked")
        q["compiled_when_asked"] = _regexes(asked["patterns"], lang_name, f"quantities[{i}].when_asked.patterns",
                                            ("n", "unit")) if asked else []
        for j, r in enumerate(q["ranges"]):
            if r["concept"] not in concepts:
                raise PolicyError(lang_name, f"quantities[{i}].ranges[{j}].concept", f"unknown concept {r['concept']!r}")
    mentions = language.get("mentions")
    if mentions:
        for key in ("topic_patterns", "concern_patterns", "uncertain_patterns", "step_patterns", "definition_patterns",
                    "analogy_patterns"):
            mentions["compiled_" + key] = _regexes(mentions.get(key) or (), lang_name, f"mentions.{key}")
        if mentions.get("countered"):
            mentions["countered"]["compiled_unless"] = _regexes(mentions["countered"].get("unless") or (), lang_name,
                                                                "mentions.countered.unless")
        for key in ("background_clause", "purchase_words"):
            if mentions.get(key):
                mentions["compiled_" + key] = _regexes([mentions[key]], lang_name, f"mentions.{key}")[0]
        kinds = {c.kind for c in concepts.values()}
        for key in ("by", "concepts"):
            for j, cid in enumerate((mentions.get("countered") or {}).get(key) or ()):
                if cid not in concepts:
                    raise PolicyError(lang_name, f"mentions.countered.{key}[{j}]", f"unknown concept {cid!r}")
        for key in ("step_concepts", "uncertain_said"):
            for j, cid in enumerate(mentions.get(key) or ()):
                if cid not in concepts:
                    raise PolicyError(lang_name, f"mentions.{key}[{j}]", f"unknown concept {cid!r}")
        for key in ("kinds", "uncertain_kinds", "analogy_kinds"):
            for j, kind in enumerate(mentions.get(key) or ()):
                if kind not in kinds:
                    raise PolicyError(lang_name, f"mentions.{key}[{j}]",
                                      f"no concept of policy/lexicon.yaml has kind {kind!r}")
    retrieval = check(RetrievalFile, read_yaml(root / "retrieval.yaml"), display_path(root / "retrieval.yaml"))
    retrieval["compiled_glossary"] = list(zip(
        _regexes([g["en"] for g in retrieval.get("english_glossary") or ()], display_path(root / "retrieval.yaml"),
                 "english_glossary.en"),
        [g["zh"] for g in retrieval.get("english_glossary") or ()], strict=False))
    for key in ("lexical_weight", "threshold"):
        try:
            retrieval["out_of_scope"][key] = float(retrieval["out_of_scope"][key])
        except ValueError:
            raise PolicyError(display_path(root / "retrieval.yaml"), f"out_of_scope.{key}", "expected a number") from None

    rules: list[Rule] = []
    rule_ids: dict[str, str] = {}
    not_formalised: dict[str, str] = {}
    follow_ups: dict[str, FollowUp] = {}
    for path in sorted((root / "rules").glob("*.yaml")):
        name = display_path(path)
        data = check(RulesFile, read_yaml(path), name)
        for i, f in enumerate(data.get("follow_ups") or ()):
            if f["id"] in follow_ups:
                raise PolicyError(name, f"follow_ups[{i}].id", f"duplicate follow-up id {f['id']!r}")
            opts = []
            for j, o in enumerate(f["options"]):
                for k, c in enumerate(o["facts"]):
                    if c not in concepts:
                        raise PolicyError(name, f"follow_ups[{i}].options[{j}].facts[{k}]", f"unknown concept {c!r}")
                opts.append((o["label"], tuple(o["facts"])))
            follow_ups[f["id"]] = FollowUp(f["id"], _condition(f["ask_when"], name, f"follow_ups[{i}].ask_when",
                                                               concepts, positive=False), f["question"], tuple(opts))
        for i, r in enumerate(data["rules"]):
            where = f"rules[{i}]"
            if r["id"] in rule_ids:
                raise PolicyError(name, f"{where}.id", f"duplicate rule id {r['id']!r} (also in {rule_ids[r['id']]})")
            rule_ids[r["id"]] = name
            for j, cid in enumerate(r["clauses"]):
                if cid not in clauses:
                    raise PolicyError(name, f"{where}.clauses[{j}]", f"unknown clause {cid!r}")
            if not any(r["quote"] in clauses[cid].text for cid in r["clauses"]):
                raise PolicyError(name, f"{where}.quote", "not found verbatim in the rule's clauses")
            rules.append(Rule(r["id"], r["title"], tuple(r["clauses"]), r["quote"],
                              _condition(r["when"], name, f"{where}.when", concepts), r["outcome"], r["priority"],
                              tuple(r.get("overrides") or ()), r["explanation"], r.get("override_note"),
                              tuple(r.get("checks") or ()), tuple(r.get("follow_ups") or ()), name,
                              r.get("conclusion"), r.get("aspect") or "can_buy", bool(r.get("fallback")),
                              bool(r.get("alone")), bool(r.get("own_aspect_only")), tuple(r.get("settles") or ())))
        for i, n in enumerate(data.get("not_formalised") or ()):
            if n["clause"] not in clauses:
                raise PolicyError(name, f"not_formalised[{i}].clause", f"unknown clause {n['clause']!r}")
            not_formalised[n["clause"]] = n["reason"]
    by_id = {r.id: r for r in rules}
    for r in rules:
        for j, f in enumerate(r.follow_ups):
            if f not in follow_ups:
                raise PolicyError(r.file, f"rules[{r.id}].follow_ups[{j}]", f"unknown follow-up {f!r}")
        for j, sid in enumerate(r.settles):
            if r.outcome != "allowed" or sid not in by_id or by_id[sid].outcome != "conditional":
                raise PolicyError(r.file, f"rules[{r.id}].settles[{j}]",
                                  f"{sid!r}: only an allowed rule settles, and only a conditional rule that exists")

    training: list[JSON] = []
    tpath = root / "training.yaml"
    if tpath.exists():
        tname = display_path(tpath)
        tdata = check(TrainingFile, read_yaml(tpath), tname)
        seen = set()
        for i, s in enumerate(tdata["scenarios"]):
            if s["id"] in seen:
                raise PolicyError(tname, f"scenarios[{i}].id", f"duplicate scenario id {s['id']!r}")
            seen.add(s["id"])
            for j, cid in enumerate(s["clauses"]):
                if cid not in clauses:
                    raise PolicyError(tname, f"scenarios[{i}].clauses[{j}]", f"unknown clause {cid!r}")
        training = tdata["scenarios"]

    frame, examples, parties = _load_reading(root, concepts)
    countered = (language.get("mentions") or {}).get("countered")
    if countered:  # the cue kinds that undo the counter are frame.yaml's: their regexes join the counter's own
        for j, kind in enumerate(countered.get("unless_cues") or ()):
            if kind not in frame.cues:
                raise PolicyError(lang_name, f"mentions.countered.unless_cues[{j}]", f"unknown cue {kind!r} (frame.yaml cues)")
        countered["compiled_unless"] += [compile_pattern(rx) for kind in countered.get("unless_cues") or ()
                                         for rx in frame.cues[kind]]
    for r in rules:  # the aspect a rule answers is one the frame can read
        if r.aspect not in frame.slots["aspect"].values:
            raise PolicyError(r.file, f"rules[{r.id}].aspect", f"unknown aspect {r.aspect!r} (policy/frame.yaml "
                                                               f"slots.aspect.values)")
    wording = validated(Wording, read_yaml(root / "wording.yaml"), display_path(root / "wording.yaml"))
    exam = validated(ExamConfig, read_yaml(root / "exam.yaml"), display_path(root / "exam.yaml"))
    return KnowledgeBase(root, documents, clauses, rules, not_formalised, follow_ups, concepts, language,
                         retrieval, training, frame, examples, parties, wording, exam)


def _load_reading(root: Path, concepts: dict[str, Concept]) -> tuple[FrameConfig, ExampleTexts, Parties]:
    """frame.yaml, examples.yaml and parties.yaml, validated against each other and the lexicon's concepts."""
    fname = display_path(root / "frame.yaml")
    frame = validated(FrameConfig, read_yaml(root / "frame.yaml"), fname)
    for slot_id, slot in frame.slots.items():
        for value_id, value in slot.values.items():
            for key in ("concept", "possible", "settled"):
                c = getattr(value, key)
                if c and c not in concepts:
                    raise PolicyError(fname, f"slots.{slot_id}.values.{value_id}.{key}", f"unknown concept {c!r}")
            for key in ("lexicon", "unless", "topic_of_services", "topic_words", "topic_form_words"):
                for j, c in enumerate(getattr(value, key)):
                    if c not in concepts:
                        raise PolicyError(fname, f"slots.{slot_id}.values.{value_id}.{key}[{j}]",
                                          f"unknown concept {c!r}")
            for j, a in enumerate(value.guess_for):
                if a not in frame.slots["aspect"].values:
                    raise PolicyError(fname, f"slots.{slot_id}.values.{value_id}.guess_for[{j}]", f"unknown aspect {a!r}")
            for key in ("topic_blocked_by", "topic_forms", "unless_contradicted_by"):
                for j, k in enumerate(getattr(value, key)):
                    if k not in frame.cues:
                        raise PolicyError(fname, f"slots.{slot_id}.values.{value_id}.{key}[{j}]",
                                          f"unknown cue {k!r} (frame.yaml cues)")
    for j, k in enumerate(frame.party_kinds):
        if k not in CONCEPT_KINDS:
            raise PolicyError(fname, f"party_kinds[{j}]", f"unknown concept kind {k!r} (one of {', '.join(CONCEPT_KINDS)})")
    aspects = frame.slots["aspect"].values
    for field_name, listed in (("party_aspects", frame.party_aspects),
                               ("general_test.asks_whether_with", frame.general_test.asks_whether_with)):
        for j, a in enumerate(listed):
            if a not in aspects:
                raise PolicyError(fname, f"{field_name}[{j}]", f"unknown aspect {a!r}")
    for section in ("denials", "contradictions"):
        for key, value in getattr(frame, section).items():
            for c in (key, value):
                if c not in concepts:
                    raise PolicyError(fname, f"{section}.{key}", f"unknown concept {c!r}")
    if frame.general_test.concept not in concepts:
        raise PolicyError(fname, "general_test.concept", f"unknown concept {frame.general_test.concept!r}")
    ename = display_path(root / "examples.yaml")
    examples = validated(Examples, read_yaml(root / "examples.yaml"), ename).slots
    for slot_id, values in examples.items():
        if slot_id not in frame.slots:
            raise PolicyError(ename, f"slots.{slot_id}", "not a slot of frame.yaml")
        unknown = set(values) - set(frame.slots[slot_id].values)
        if unknown:
            raise PolicyError(ename, f"slots.{slot_id}.{sorted(unknown)[0]}", "not a value of this slot in frame.yaml")
    pname = display_path(root / "parties.yaml")
    parties = validated(Parties, read_yaml(root / "parties.yaml"), pname)
    for i, c in enumerate(parties.categories):
        for key in ("concept", "as_purchaser"):
            if getattr(c, key) not in concepts:
                raise PolicyError(pname, f"categories.{i}.{key}", f"unknown concept {getattr(c, key)!r}")
    for key in ("purchaser_concept", "provider_concept"):
        if getattr(parties.roles, key) not in concepts:
            raise PolicyError(pname, f"roles.{key}", f"unknown concept {getattr(parties.roles, key)!r}")
    return frame, examples, parties
