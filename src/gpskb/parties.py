"""Who the parties are: organisation names in a question, their legal category (policy/parties.yaml) and their role.

A name is read from its type words (人民法院, 妇联, 村委会 …): matches separated only by name characters belong to one
organisation, whose category is its last type word unless an explicit class (公益一类) is named in it. The role of a
party comes from the words around it (向某某购买: provider; 某某作为购买主体: purchaser: gpskb.party_roles), else from
the aspect asked.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from .party_roles import RoleWords
from .pattern_cache import compile_cached
from .schema.parties import Parties
from .text import compile_pattern, english_key, english_term, find_all, has_chinese, normalise

#: characters that end an organisation name: punctuation, spaces, and the function words that join two parties
_NAME_BREAK = re.compile(r"[，。；？！、,.;?!\s“”\"'和与及或向由把给从让请找对在是能可否要想拟准]")
#: a name that starts with the speaker (我们局, 本局) is a party of its own, never the tail of the name before it
_SPEAKER_NAME = re.compile(r"(我们|咱们|我|本)")

#: words that say two names are one party: X是Y, X为Y, X属于Y (right after the name: "X，是Y" starts a new clause)
_APPOSITION = re.compile(r"(是|为|属于|系)(一[家个所])?|\s+(is|was|are)\s+(a|an|the)\s+"
                         r"|\s*,?\s+(that|which|who)\s+(is|are|was)\s+((officially\s+)?(classified|registered|designated|listed)"
                         r"\s+as\s+)?(a|an|the)\s+|\s*,\s+(a|an)\s+|\s+\((a|an)\s+")
#: at most this many characters between two type words of one name (福建省泉州市丰泽区 between a class and a name)
_MAX_NAME_GAP = 16
#: a class said of the name after an attribute of its own (这所学校经费一半自筹、属于公益二类): the same organisation
_ATTRIBUTED = re.compile(r"[^。；？！?!;]{1,20}[、，,]\s*(也|则|就|本身)?(是|为|属于|系)(一[家个所])?")
#: a describing name (owned by the city government) passes its role words back at most this far, within a clause
_MAX_DESCRIBED_GAP = 40
_CLAUSE_END = re.compile(r"[。；？！.;?!]")


#: a type word found in the text: (start, end, type id)
NameMatch = tuple[int, int, str]


@dataclass(frozen=True)
class Party:
    """One organisation (or person) named in a question."""

    text: str  # the words of the question that name it (its type word and what joins it to other type words)
    start: int
    end: int
    category: str
    concept: str
    type_id: str
    role: str | None = None  # provider | purchaser | None (not said)
    describes: bool = False  # the name only describes another party (a company owned by the city government): no role
    as_purchaser: str = ""  # its category's concept when it is the purchaser
    may_buy: bool = False  # its category may be a purchaser (第五条)
    either_role: bool = False  # its category is barred in both roles (第八条)


class Gazetteer:
    """Recognises organisation types in normalised text and assigns each name its category."""

    def __init__(self, parties: Parties, uncertain: tuple[str, ...] = ()):
        """`uncertain`: patterns of words that leave a choice open (language.yaml `mentions.uncertain_patterns`), used
        beside the parties' own `roles.uncertain` — a class said inside them is not asserted."""
        self.categories = {c.id: c for c in parties.categories}
        self.precedence = dict(parties.precedence)
        self.names: list[tuple[str, str]] = []  # (normalised name, type id), longest first
        self.patterns: list[tuple[re.Pattern[str], str]] = []
        self.exceptions: dict[str, list[str]] = {}
        self.types = {t.id: t for t in parties.types}
        for t in parties.types:
            self.names += [(normalise(n), t.id) for n in t.names]
            self.patterns += [(compile_pattern(p), t.id) for p in t.patterns]
            self.exceptions[t.id] = [normalise(x) for x in t.exceptions]
        self.names.sort(key=lambda x: -len(x[0]))
        self._names_by_first: dict[str, list[tuple[str, str]]] = {}
        for name, tid in self.names:
            self._names_by_first.setdefault(name[:1], []).append((name, tid))
        words = sorted({e.lower() for t in parties.types for e in t.english}, key=lambda w: (-len(w), w))  # one text per run
        self._english_tid = {english_key(e): t.id for t in reversed(parties.types) for e in t.english}  # first wins
        # a name in the plural (courts and procuratorates, two bureaus) is the same type
        self._english_rx = (compile_cached(r"(?<![a-z])(?=(" + "|".join(english_term(w) for w in words) + r")((?:e?s)?)(?![a-z]))")
                            if words else None)
        self.type_names = {n for n, _ in self.names}
        self.uncertain = [compile_pattern(p) for p in (*parties.roles.uncertain, *uncertain)]
        self.uncertain_category = parties.roles.uncertain_category
        self.uncertain_organ = (compile_pattern(parties.roles.uncertain_organ)
                                if parties.roles.uncertain_organ and parties.roles.uncertain_organ_category else None)
        self.uncertain_organ_category = parties.roles.uncertain_organ_category or ""
        self.aside_denials = [compile_pattern(p) for p in parties.roles.aside_denials]
        self.owner_joins = compile_pattern(parties.roles.owner_joins) if parties.roles.owner_joins else None
        self.example_joins = compile_pattern(parties.roles.example_joins) if parties.roles.example_joins else None
        self.name_breaks = [compile_pattern(p) for p in parties.roles.name_breaks]  # 卫健委打算委托县统计局: two
        self.roles = RoleWords(parties.roles)  # the words that give each party its role

    def _matches(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, type id) of every type word, longest first where they overlap, exceptions removed."""
        found: list[tuple[int, int, str]] = []
        taken = [False] * len(text)
        candidates = []
        for ch in set(text):  # only the names that start with a character the text has
            for name, tid in self._names_by_first.get(ch, ()):
                candidates += [(i, i + len(name), tid) for i in find_all(text, name)]
        for rx, tid in self.patterns:
            candidates += [(m.start(), m.end(), tid) for m in rx.finditer(text) if m.end() > m.start()]
        if self._english_rx is not None and any("a" <= c <= "z" for c in text):
            # every English name at every position, in one pass (a lookahead sees overlapping names)
            for m in self._english_rx.finditer(text):
                word = m.group(1)
                candidates.append((m.start(), m.start() + len(word) + len(m.group(2)), self._english_tid[english_key(word)]))
        candidates.sort(key=lambda c: (-(c[1] - c[0]), c[0]))
        for s, e, tid in candidates:
            if any(taken[s:e]):
                continue
            if any(self._covers(text, x, s, e) for x in self.exceptions[tid]):
                continue
            for i in range(s, e):
                taken[i] = True
            found.append((s, e, tid))
        return sorted(found)

    @staticmethod
    def _covers(text: str, word: str, s: int, e: int) -> bool:
        """Whether an occurrence of `word` in text covers the span [s, e)."""
        i = text.find(word, max(0, s - len(word)))
        while 0 <= i <= s:
            if i + len(word) >= e:
                return True
            i = text.find(word, i + 1)
        return False

    def read(self, text: str) -> list[Party]:
        """The organisations named in a normalised question, one per name, with their role where the words say it."""
        parties = [self._party(text, g) for g in self._name_groups(text)]
        self._roles_of_owned(text, parties)
        self._bare_type_words(parties)
        self._classes_said_later(parties)
        self._examples_of_a_class(text, parties)
        self._unsure_classes(text, parties)
        self.roles.asker_role(text, parties)
        self.roles.pronouns(text, parties)
        return parties

    def _name_groups(self, text: str) -> list[list[NameMatch]]:
        """The type words of the text grouped into names: matches separated only by name characters (or joined as
        one party: X是Y, a bracketed class) are one organisation."""
        groups: list[list[NameMatch]] = []
        for m in self._matches(text):
            gap = text[groups[-1][-1][1]:m[0]] if groups else ""
            joined = groups and not _SPEAKER_NAME.match(text, m[0]) and (
                (not _NAME_BREAK.search(gap) and not any(rx.search(gap) for rx in self.name_breaks)
                 and len(gap) <= _MAX_NAME_GAP)
                or _APPOSITION.fullmatch(gap)  # 检测中心是公益二类事业单位
                or (_ATTRIBUTED.fullmatch(gap)  # (only a class word, and only of a name of lower rank: an institution)
                    and self.precedence.get(self.types[m[2]].category, 0)
                    > self.precedence.get(self.types[groups[-1][-1][2]].category, 0))
                # two Chinese words apart by a space only (pinyin read inside English: 公益二类 事业单位)
                or (gap.isspace() and has_chinese(text[m[0] - len(gap) - 1]) and has_chinese(text[m[0]]))
                or (gap[:1] in "（(" and not re.search(r"[）)]", gap)  # 事业单位（比如设计院）
                    and not any(rx.search(gap) for rx in self.aside_denials)))  # not 财政局（机关，不是下属事业单位）
            if joined:
                groups[-1].append(m)
            else:
                groups.append([m])
        # 某某研究所，公益二类事业单位: a bare category word right after a name, set off by a comma, names its class
        merged: list[list[NameMatch]] = []
        for g in groups:
            if (merged and text[merged[-1][-1][1]:g[0][0]] in ("，", ",") and len(g) == 1
                    # (or a type word with what it says of the class: 设计院，事业单位，一直搞经营)
                    and self._names_at(text, g[0][0])
                    and self.precedence.get(self.types[g[0][2]].category, 0)
                    > self.precedence.get(self.types[merged[-1][-1][2]].category, 0)):
                merged[-1].append(g[0])
            else:
                merged.append(g)
        return merged

    def _party(self, text: str, g: list[NameMatch]) -> Party:
        """The party a name group makes: of the category of its highest-ranked type word (a placeholder name — 某某服务中心
        — only when no class word but a buyer's name is in the group), with the role the words around it give."""
        ranked = list(range(len(g)))
        classes = [i for i in ranked if not self.categories[self.types[g[i][2]].category].placeholder]
        if any(not self.categories[self.types[g[i][2]].category].may_buy for i in classes):
            ranked = classes  # 服务中心（民办非企业单位）: the class word decides, a placeholder name never does
        best = max(ranked, key=lambda i: (self.precedence.get(self.types[g[i][2]].category, 0), i))
        s, e, tid = g[best]
        category = self.types[tid].category
        start, end = g[0][0], g[-1][1]
        cat = self.categories[category]
        role = self.roles.role(text, start, end, cat.may_buy)
        if (role == "describes" and len(g) > 1 and self.owner_joins is not None
                and self.owner_joins.search(text[g[0][1]:g[-1][0]])):
            # 挂靠在民政局的协会: the owner's cue is before the first name of a merged party, whose head (the
            # association) is a party in its own right: only the owner is described, so the words after decide
            role = self.roles.role(text, start, end, cat.may_buy, describes=False)
        return Party(text[start:end], start, end, category, cat.concept, tid,
                     None if role == "describes" else role, role == "describes",
                     cat.as_purchaser, cat.may_buy, cat.either_role)

    def _roles_of_owned(self, text: str, parties: list[Party]) -> None:
        """A company owned by the city government may be the provider: the role words after a name that only
        describes another party are that party's — the party named just before the describing words (in the same
        clause, at most _MAX_DESCRIBED_GAP characters back), never a buyer (the bureau … a canteen owned by the city
        that provides …)."""
        for i, p in enumerate(parties):
            if p.describes and i > 0:
                owned = parties[i - 1]
                gap = text[owned.end:p.start]
                role = self.roles.after_role(self.roles.after(text, p.start, p.end))
                if (role and owned.role is None and not owned.describes and not owned.may_buy
                        and len(gap) <= _MAX_DESCRIBED_GAP and not _CLAUSE_END.search(gap)):
                    parties[i - 1] = dataclasses.replace(owned, role=role)

    def _bare_type_words(self, parties: list[Party]) -> None:
        """某某中心…中心想…: a bare type word names the party named before with that type word (its class)."""
        for i, p in enumerate(parties):
            if p.text in self.type_names:
                # (a name of the same kind or standing — a bureau said after 民政局退休干部, a person, is the bureau)
                earlier = [q for q in parties[:i] if p.text in q.text and q.text != p.text
                           and (q.text.endswith(p.text) or q.concept == p.concept or q.may_buy == p.may_buy)]
                if earlier:
                    parties[i] = self._of_category(p, earlier[-1].category)

    def _classes_said_later(self, parties: list[Party]) -> None:
        """想请一家医院派医生巡诊…这家医院属于公益二类: a class said later of a name like the one given a role earlier
        (same type word, no role of its own) is that party's class."""
        for i, p in enumerate(parties):
            if p.role is None and not p.describes and self.precedence.get(p.category, 0) > 0:
                given = [j for j, q in enumerate(parties[:i]) if q.role and (
                    (q.category == self.uncertain_category
                     and ((q.text in self.type_names and p.text.startswith(q.text))
                          # 县人民医院…医院是公益二类: the later name opens with the earlier name's own type word
                          or any(q.text.endswith(w) for w in self._names_at(p.text, 0))))
                    # 总工会想当购买主体…工会机关是行政编制: a finer class of the same kind (its concept), said of a name
                    # that begins with a type word of the earlier name
                    or (q.concept == p.concept and q.category != p.category
                        and self.precedence.get(q.category, 0) < self.precedence.get(p.category, 0)
                        and any(w in q.text for w in self._names_at(p.text, 0))))]
                if given:
                    parties[given[-1]] = self._of_category(parties[given[-1]], p.category)

    def _examples_of_a_class(self, text: str, parties: list[Party]) -> None:
        """实行企业化管理的事业单位，例如市规划设计院: a name given as an instance of the class named just before it
        (`roles.example_joins` between them), whose own name leaves its class open, is of that class."""
        if self.example_joins is None:
            return
        for i in range(1, len(parties)):
            cls, named = parties[i - 1], parties[i]
            if (named.category == self.uncertain_category and cls.category != named.category
                    and self.precedence.get(cls.category, 0) > self.precedence.get(named.category, 0)
                    and self.example_joins.search(text[cls.end:named.start])):
                parties[i] = self._of_category(named, cls.category)

    def _unsure_classes(self, text: str, parties: list[Party]) -> None:
        """不知道算一类还是二类: a class the asker is unsure of is not asserted; the party is of `uncertain_category`
        (or of `uncertain_organ_category` when an organ is among the classes left open)."""
        unsure = [(m.start(), m.end()) for rx in self.uncertain for m in rx.finditer(text)]
        if unsure and self.uncertain_category:
            for i, p in enumerate(parties):
                # the class word (the name's end) inside the unsure words: 事业单位，公益一类还是二类还没定 joins into one name
                spans = [(s, e) for s, e in unsure if s < p.end <= e]
                if spans:
                    organ = self.uncertain_organ is not None and any(self.uncertain_organ.search(text, s, e) for s, e in spans)
                    parties[i] = self._of_category(p, self.uncertain_organ_category if organ else self.uncertain_category)
            for s, e in unsure:
                # 某某中心来承接…，我们拿不准它算社会组织还是事业单位: the classes left open are the named body's — the
                # nearest party before, in the same sentence, that is no buyer — when the words name no party of their own
                inside = [p for p in parties if s < p.end <= e]
                if not inside or any(p.role for p in inside):
                    continue
                before = [j for j, p in enumerate(parties) if p.end <= s and not p.may_buy and not p.describes
                          and s - p.end <= _MAX_DESCRIBED_GAP and not _CLAUSE_END.search(text, p.end, s)]
                if before and parties[before[-1]].category != inside[0].category:
                    parties[before[-1]] = self._of_category(parties[before[-1]], inside[0].category)

    def _names_at(self, text: str, pos: int) -> list[str]:
        """The type words that begin at `pos` in text (the index by first character the matcher uses)."""
        return [name for name, _ in self._names_by_first.get(text[pos:pos + 1], ()) if text.startswith(name, pos)]

    def _of_category(self, party: Party, category: str) -> Party:
        """The party read as of another category (its concept and role attributes follow the category)."""
        cat = self.categories[category]
        return dataclasses.replace(party, category=cat.id, concept=cat.concept, as_purchaser=cat.as_purchaser,
                                   may_buy=cat.may_buy, either_role=cat.either_role)

    def classify(self, name: str) -> str | None:
        """The category of one organisation name (the last name in it when it names several), None if unknown."""
        parties = self.read(normalise(name))
        return parties[-1].category if parties else None



