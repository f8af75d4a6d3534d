"""The policy folder as a validated KnowledgeBase: documents and their clauses, rules, lexicon, settings, training.

Loading is strict, in the manner of OpenFisca's parameter loader: every file is checked against a schema, duplicate
YAML keys and unknown keys are rejected, clause and rule ids must be unique and every reference must resolve. Each
error is a PolicyError naming the file and the field, e.g. `policy/documents/x.yaml: clauses[12].text: field required`.

This module is the loader, load(), one step per file or group of files. What it builds is gpskb.knowledge's; the
files' models are gpskb.schema's; YAML is read by gpskb.yamlfiles; frame.yaml, examples.yaml
and parties.yaml are loaded by gpskb.policy_reading.
"""
from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from . import config, pattern_cache
from .errors import PolicyError
from .jsontypes import JSON
from .knowledge import Clause, Concept, Condition, Document, FollowUp, KnowledgeBase, Rule
from .policy_reading import load_reading
from .schema.check import check, validated
from .schema.exam import ExamConfig
from .schema.frame import FrameConfig
from .schema.language import LanguageFile, LexiconFile, RetrievalFile
from .schema.texts import DocumentFile, RulesFile, TrainingFile
from .schema.wording import Wording
from .text import compile_pattern
from .yamlfiles import display_path, read_yaml


def load(policy: str | os.PathLike[str] | None = None) -> KnowledgeBase:
    """Load and validate a policy folder (default: config.policy_dir()). Raises PolicyError on the first problem."""
    root = config.policy_dir(policy)
    if not root.is_dir():
        raise PolicyError(display_path(root), "", f"policy folder not found (set {config.Settings.variable('policy_dir')} or --policy-dir)")
    pattern_cache.use(config.cache_dir() / pattern_cache.FILE_NAME)
    documents, clauses = _load_documents(root)
    concepts = _load_lexicon(root)
    language = _load_language(root, concepts)
    retrieval = _load_retrieval(root)
    rules, not_formalised, follow_ups = _load_rules(root, clauses, concepts)
    training = _load_training(root, clauses)
    frame, examples, parties = load_reading(root, concepts)
    _check_against_frame(root, frame, language, rules)
    wording = validated(Wording, read_yaml(root / "wording.yaml"), display_path(root / "wording.yaml"))
    exam = validated(ExamConfig, read_yaml(root / "exam.yaml"), display_path(root / "exam.yaml"))
    pattern_cache.save()  # the patterns this load compiled afresh, for the next process
    return KnowledgeBase(root, documents, clauses, rules, not_formalised, follow_ups, concepts, language,
                         retrieval, training, frame, examples, parties, wording, exam)


def _load_documents(root: Path) -> tuple[dict[str, Document], dict[str, Clause]]:
    """documents/*.yaml: each document and its clauses, ids unique, every clause's part known."""
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
    return documents, clauses


def _load_lexicon(root: Path) -> dict[str, Concept]:
    """lexicon.yaml: the concepts, ids unique, each term owned by one concept, patterns compiled."""
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
    return concepts


def _load_language(root: Path, concepts: dict[str, Concept]) -> JSON:
    """language.yaml as read, its quantities' and mentions' patterns compiled (`compiled_…` keys) and the concepts and
    kinds they name known."""
    language: JSON = check(LanguageFile, read_yaml(root / "language.yaml"), display_path(root / "language.yaml"))
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
        _compile_mentions(mentions, lang_name, concepts)
    return language


def _compile_mentions(mentions: JSON, lang_name: str, concepts: dict[str, Concept]) -> None:
    """language.yaml `mentions`: its patterns compiled in place, the concepts and kinds it names known."""
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


def _load_retrieval(root: Path) -> JSON:
    """retrieval.yaml as read, its English glossary compiled and its out-of-scope figures read as numbers."""
    retrieval: JSON = check(RetrievalFile, read_yaml(root / "retrieval.yaml"), display_path(root / "retrieval.yaml"))
    retrieval["compiled_glossary"] = list(zip(
        _regexes([g["en"] for g in retrieval.get("english_glossary") or ()], display_path(root / "retrieval.yaml"),
                 "english_glossary.en"),
        [g["zh"] for g in retrieval.get("english_glossary") or ()], strict=False))
    for key in ("lexical_weight", "threshold"):
        try:
            retrieval["out_of_scope"][key] = float(retrieval["out_of_scope"][key])
        except ValueError:
            raise PolicyError(display_path(root / "retrieval.yaml"), f"out_of_scope.{key}", "expected a number") from None
    return retrieval


def _load_rules(root: Path, clauses: dict[str, Clause],
                concepts: dict[str, Concept]) -> tuple[list[Rule], dict[str, str], dict[str, FollowUp]]:
    """rules/*.yaml: the rules (ids unique, clauses known, quotes verbatim), the clauses not formalised (with why) and
    the follow-up questions; each rule's follow-ups and `settles` known."""
    rules: list[Rule] = []
    rule_ids: dict[str, str] = {}
    not_formalised: dict[str, str] = {}
    follow_ups: dict[str, FollowUp] = {}
    for path in sorted((root / "rules").glob("*.yaml")):
        name = display_path(path)
        data = check(RulesFile, read_yaml(path), name)
        _add_follow_ups(data.get("follow_ups") or (), name, concepts, follow_ups)
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
    return rules, not_formalised, follow_ups


def _add_follow_ups(entries: Iterable[JSON], name: str, concepts: dict[str, Concept],
                    follow_ups: dict[str, FollowUp]) -> None:
    """A rules file's follow-up questions, added to `follow_ups` (ids unique, the facts of each option known)."""
    for i, f in enumerate(entries):
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


def _load_training(root: Path, clauses: dict[str, Clause]) -> list[JSON]:
    """training.yaml's scenarios (none when there is no such file): ids unique, clauses known."""
    tpath = root / "training.yaml"
    if not tpath.exists():
        return []
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
    scenarios: list[JSON] = tdata["scenarios"]
    return scenarios


def _check_against_frame(root: Path, frame: FrameConfig, language: JSON, rules: list[Rule]) -> None:
    """What language.yaml and the rules name of frame.yaml: the cue kinds that undo a counter (their regexes join
    the counter's own), and the aspect each rule answers."""
    lang_name = display_path(root / "language.yaml")
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

