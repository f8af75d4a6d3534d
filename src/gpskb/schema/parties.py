"""The models of parties.yaml: the organisation types the gazetteer knows, their legal categories and the words that
give a party its role."""
from __future__ import annotations

from typing import Literal, Self

from pydantic import field_validator, model_validator

from .fields import Strict, check_patterns


class PartyType(Strict):
    id: str
    label: str
    category: str
    names: tuple[str, ...] = ()  # suffixes or whole names: 人民法院, 妇联, 村民委员会
    patterns: tuple[str, ...] = ()  # regular expressions for names that a suffix cannot catch
    exceptions: tuple[str, ...] = ()  # longer words in which a name is not this type (法院路, 工会费)
    english: tuple[str, ...] = ()

    _compiles = field_validator("patterns")(classmethod(lambda cls, patterns: check_patterns(patterns)))


class PartyCategory(Strict):
    id: str
    label: str
    concept: str
    as_purchaser: str  # the concept a party of this category asserts when it is the purchaser (第五条)
    may_buy: bool = False  # a purchaser under 第五条: named before the provider, it is the one who buys
    either_role: bool = False  # barred as purchaser and as provider (第八条): its concept holds whatever the role
    # a name that says it is a body but not what kind (某某服务中心): any other class word in the same name decides
    # (服务中心（民办非企业单位）), only a buyer's name before it does not (民政局养老服务中心 is the centre)
    placeholder: bool = False
    note: str | None = None


class SaidAround(Strict):
    """A role said by the words on both sides of a party's name (由民政局向社会组织购买: the party after 由 buys)."""

    before: str  # a pattern on the words just before the name
    after: str = ""  # and one on the words just after it ("" = anything)
    # describes: the name only describes another party (owned by X); none: these words give no role (the one-sided
    # patterns are not tried)
    role: Literal["purchaser", "provider", "describes", "none"]
    of_buyers: bool = False  # only a party whose category may buy (第五条) takes the role (由民政局付费: not 由企业付费)

    _compiles = field_validator("before", "after")(classmethod(lambda cls, pattern: check_patterns([pattern])[0]))


class Roles(Strict):
    said_around: tuple[SaidAround, ...] = ()  # checked first, in order, after a purchaser's role said outright
    provider_before: tuple[str, ...]  # patterns on the words just before a party: it is the provider (向…)
    provider_after: tuple[str, ...]  # on the words just after it (…来承接)
    purchaser_after: tuple[str, ...]  # …自己购买 / use its own funds to buy
    purchaser_outright: tuple[str, ...] = ()  # …作为购买主体: said outright, wins over a 由/向 before the name
    provider_pronoun: tuple[str, ...] = ()  # 向它购买: the party named last before it is the provider
    # a personal pronoun (buy it from him): the person named last before it (a party of `person_category`) is the provider
    person_pronoun: tuple[str, ...] = ()
    person_category: str | None = None
    subject_after: tuple[str, ...] = ()  # 街道办想…: a buyer that is the subject of the clause is not a pronoun's party
    purchaser_pronoun: tuple[str, ...] = ()  # 它以政府购买服务名义买…: the party named last before it buys
    self_before: tuple[str, ...] = ()  # 我们是（一家）…: the words before a party that say it is the one asking
    self_purchaser: tuple[str, ...] = ()  # 我们…自己当购买主体: the asker buys
    self_provider: tuple[str, ...] = ()  # 我们能接这个项目吗 / 向我们购买: the asker provides
    # the asker's own first person (我们) and the word it is read as when the asker speaks for the provider (对方): the
    # same length, so the question's offsets hold
    speaker_words: str = ""
    speaker_as_provider: str = ""
    beneficiary_before: tuple[str, ...] = ()  # 为…企业购买: the party bought for, not the buyer
    uncertain: tuple[str, ...] = ()  # 说不清是公益一类还是二类: the classes inside a match are not asserted
    uncertain_category: str | None = None  # …and the party is of this category instead
    # 不清楚算机关还是事业单位: an organ among the classes left open — the party is of this category (neither an organ nor
    # any other class asserted: the rules ask which it is)
    uncertain_organ: str = ""
    uncertain_organ_category: str | None = None
    # a bracket after a name that denies (财政局（机关，不是下属事业单位）): the bracket is an aside, not part of the name
    aside_denials: tuple[str, ...] = ()
    # the words between a class and a name given as an instance of it (实行企业化管理的事业单位，例如市规划设计院):
    # the named body is of that class
    example_joins: str = ""
    name_breaks: tuple[str, ...] = ()  # words between two names that keep them two parties (卫健委打算委托县统计局)
    # words between the names of one merged party that make the first the owner of the second (挂靠在民政局的协会): only
    # then does a describing cue before it describe the owner alone
    owner_joins: str = ""
    # discourse words between a name and the words of its role (居委会反过来可不可以做购买方): passed over
    adverbs_before_role: str = ""
    # words on a party's staffing or funding between its name and the words of its role (市残联机关核定行政编制，经费靠
    # 财政保障，能否作为承接主体): passed over like the adverbs, one clause or several
    attributes_before_role: str = ""
    # an aside right after a name, set off by commas (…, for example the city's bus group, …): passed over, like a
    # bracket, before the words that give the name its role
    aside_after: str = ""
    purchaser_concept: str  # the concept a party in the purchaser's role asserts (作为购买主体)
    provider_concept: str  # the concept a party in the provider's role asserts (作为承接主体)

    _compiles = field_validator("provider_before", "provider_after", "purchaser_after", "purchaser_outright", "provider_pronoun",
                                "person_pronoun",
                                "purchaser_pronoun", "self_before", "self_purchaser", "self_provider", "uncertain",
                                "beneficiary_before", "subject_after", "aside_denials", "name_breaks")(
        classmethod(lambda cls, patterns: check_patterns(patterns)))
    _compiles_one = field_validator("adverbs_before_role", "attributes_before_role", "aside_after", "owner_joins",
                                    "uncertain_organ",
                                    "example_joins")(
        classmethod(lambda cls, pattern: pattern and check_patterns([pattern])[0]))


class Parties(Strict):
    categories: list[PartyCategory]
    precedence: dict[str, int] = {}
    types: list[PartyType]
    roles: Roles

    @model_validator(mode="after")
    def _known_categories(self) -> Self:
        ids = {c.id for c in self.categories}
        for t in self.types:
            if t.category not in ids:
                raise ValueError(f"type {t.id!r}: unknown category {t.category!r}")
        for name in ("uncertain_category", "uncertain_organ_category", "person_category"):
            value = getattr(self.roles, name)
            if value is not None and value not in ids:
                raise ValueError(f"roles.{name}: unknown category {value!r}")
        return self

