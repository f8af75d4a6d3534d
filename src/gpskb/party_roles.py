"""The role of a party — purchaser, provider, or a name that only describes another party — from the words around its
name (policy/parties.yaml `roles`): 向某某购买 (provider), 某某作为购买主体 (purchaser), a pronoun pointing back at it,
or the asker saying it is the party (我们是一家社工机构…)."""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .schema.parties import Roles
from .text import compile_pattern, has_chinese

if TYPE_CHECKING:
    from .parties import Party

_ASIDE = re.compile(r"^\s*\([^()]{1,40}\)\s*")  # an aside in brackets (normalised to ASCII brackets)


class RoleWords:
    """parties.yaml `roles`, compiled: the words before and after a name, the pronouns and the asker's own words that
    give a party its role."""

    def __init__(self, roles: Roles) -> None:
        self.provider_before = [compile_pattern(p) for p in roles.provider_before]
        self.provider_after = [compile_pattern(p) for p in roles.provider_after]
        self.purchaser_after = [compile_pattern(p) for p in roles.purchaser_after]
        self.purchaser_outright = [compile_pattern(p) for p in roles.purchaser_outright]
        self.provider_pronoun = [compile_pattern(p) for p in roles.provider_pronoun]
        self.person_pronoun = [compile_pattern(p) for p in roles.person_pronoun]
        self.person_category = roles.person_category
        self.said_around = [(compile_pattern(a.before), compile_pattern(a.after), a.role, a.of_buyers)
                            for a in roles.said_around]
        self.subject_after = [compile_pattern(p) for p in roles.subject_after]
        self.purchaser_pronoun = [compile_pattern(p) for p in roles.purchaser_pronoun]
        self.self_before = [compile_pattern(p) for p in roles.self_before]
        self.speaker_words = compile_pattern(roles.speaker_words) if roles.speaker_words else None
        self.speaker_as_provider = roles.speaker_as_provider
        self.self_purchaser = [compile_pattern(p) for p in roles.self_purchaser]
        self.self_provider = [compile_pattern(p) for p in roles.self_provider]
        self.beneficiary_before = [compile_pattern(p) for p in roles.beneficiary_before]
        adverbs = roles.adverbs_before_role
        self.adverbs_before_role = compile_pattern(rf"^\s*(?:(?:{adverbs})\s*[，,]?\s*)+") if adverbs else None
        self.aside_after = compile_pattern(roles.aside_after) if roles.aside_after else None
        attributes = roles.attributes_before_role
        self.attributes_before_role = (compile_pattern(rf"^\s*(?:[、，,]?\s*(?:{attributes})\s*[、，,]\s*)+") if attributes
                                       else None)

    def role(self, text: str, start: int, end: int, may_buy: bool, describes: bool = True) -> str | None:
        """provider | purchaser | describes (the name only describes another party) | None, from the words around."""
        before, after = text[max(0, start - 24):start], self.after(text, start, end)
        wide = text[max(0, start - 72):start]  # English needs more words (founded by the provincial education …)
        said = [(role, of_buyers) for rx_before, rx_after, role, of_buyers in self.said_around
                if (may_buy or not of_buyers) and (describes or role != "describes")
                and rx_before.search(wide) and rx_after.search(after)]
        if any(role == "describes" for role, _ in said):
            return "describes"  # a company owned by the city government … be the provider: the words are the company's
        if any(rx.search(after) for rx in self.purchaser_outright):
            return "purchaser"  # X作为购买主体: the role said outright wins over a 由 or 向 before the name
        if said:  # 由民政局向…购买 (the buyer), 向财政局报送 (none: no role from these words)
            return None if said[0][0] == "none" else said[0][0]
        if any(rx.search(wide) for rx in self.provider_before):  # (end-anchored: the wide window only lets English reach)
            return "provider"
        if any(rx.search(before) for rx in self.beneficiary_before):
            return self.after_role(after, purchaser=False)  # …not the buyer when it is the one bought for: 为园区企业购买
        return self.after_role(after)

    def after(self, text: str, start: int, end: int) -> str:
        """The words right after a name that may give its role (past its own bracket, an aside, its attributes and
        adverbs), 40 characters."""
        # a name in quotes (那个「某某站」来承接行吗): the words after the closing quote (not an English 's)
        after = text[end:end + 80].lstrip("」』”\"")
        if "(" in text[start:end] and ")" not in text[start:end]:
            after = after.lstrip(") ")  # the name took in its own bracketed category: 某市科协(群团组织)可以作为…
        # an aside in brackets right after the name (向某局(局机关)购买) says nothing of its role: the words after it do
        after = _ASIDE.sub("", after, count=1)
        if self.aside_after:  # …or set off by commas (a state-owned company, for example the bus group, may it bid…)
            after = self.aside_after.sub("", after, count=1)
        if self.attributes_before_role:  # 市残联机关核定行政编制，经费靠财政保障，能否作为承接主体: the role comes after
            after = self.attributes_before_role.sub("", after, count=1)
        if self.adverbs_before_role:  # 居委会反过来可不可以做购买方: the role's words come after the adverb
            after = self.adverbs_before_role.sub("", after, count=1)
        return after[:40]

    def after_role(self, after: str, purchaser: bool = True) -> str | None:
        """The role the words right after a name give it (…来承接, …自己购买), None when they give none."""
        if any(rx.search(after) for rx in self.provider_after):
            return "provider"
        if purchaser and any(rx.search(after) for rx in self.purchaser_after):
            return "purchaser"
        return None

    def selves(self, text: str, parties: list[Party]) -> list[int]:
        """The index of the party the asker says it is (我们是一家社工机构…, we are a small consultancy), at most one."""
        return [i for i, p in enumerate(parties)
                if not p.describes and any(rx.search(self._before(text, p.start)) for rx in self.self_before)][:1]

    @staticmethod
    def _before(text: str, start: int) -> str:
        """The words before a party in which the asker names itself: 24 characters, or 48 when they hold no Chinese
        (our centre is basically a … needs more letters than 我们是一家…)."""
        near = text[max(0, start - 24):start]
        return near if has_chinese(near) else text[max(0, start - 48):start]

    def speaker_provides(self, text: str, parties: list[Party]) -> bool:
        """Whether the asker speaks for the provider's side (我是物业公司的经理…; 我们是社工机构…): a body that may not
        buy, said to be the asker and not said to buy. Its 我们 is then the provider, not the office."""
        selves = self.selves(text, parties)
        return bool(selves) and not parties[selves[0]].may_buy and parties[selves[0]].role != "purchaser"

    def as_provider(self, text: str) -> str:
        """`text` with the asker's first person written as the provider (parties.yaml roles `speaker_words`,
        `speaker_as_provider`), for an asker who speaks for the provider; only words of the same length are replaced, so
        offsets into `text` hold."""
        if self.speaker_words is None:
            return text
        word = self.speaker_as_provider

        def same_length(m: re.Match[str]) -> str:
            said: str = m.group(0)
            return word if len(said) == len(word) else said

        return self.speaker_words.sub(same_length, text)

    def asker_role(self, text: str, parties: list[Party]) -> None:
        """我们是一个行业协会…自己当购买主体: the party the asker says it is takes the asker's role."""
        selves = self.selves(text, parties)
        if selves:
            role = ("purchaser" if any(rx.search(text) for rx in self.self_purchaser)
                    else "provider" if any(rx.search(text) for rx in self.self_provider) else None)
            for i in selves:
                if role and parties[i].role is None:
                    parties[i] = dataclasses.replace(parties[i], role=role)

    def pronouns(self, text: str, parties: list[Party]) -> None:
        """A pronoun points back at the party named last before it: 向它购买 (provider), 它以…名义买 (purchaser) — for a
        provider not a buyer that is the subject of the clause (某局能否向它购买 / 街道办想…，请他…: 它 and 他 are
        someone else), nor a name that only describes another party."""
        self.point_back(text, parties, self.provider_pronoun, "provider",
                        skip=lambda p, at: p.describes or p.may_buy and (
                            at - p.end <= 6 or any(rx.search(text[p.end:p.end + 12]) for rx in self.subject_after)))
        self.point_back(text, parties, self.purchaser_pronoun, "purchaser", skip=lambda p, at: p.describes)
        # him, her: the person named last, never an office named after them (a retired agronomist … for our county
        # agriculture bureau … buy this from him)
        self.point_back(text, parties, self.person_pronoun, "provider",
                        skip=lambda p, at: p.describes or p.category != self.person_category)

    @staticmethod
    def point_back(text: str, parties: list[Party], patterns: Iterable[re.Pattern[str]], role: str,
                    skip: Callable[[Party, int], bool] = lambda p, at: False) -> None:
        """Give `role` to the party named last before each pronoun match (unless it already has a role); a party the
        words already gave the other role is not the one the pronoun means (…from an NGO. Can it be the purchaser?)."""
        for rx in patterns:
            for m in rx.finditer(text):
                before = [i for i, p in enumerate(parties) if p.end <= m.start() and not skip(p, m.start())
                          and p.role in (None, role)]
                if before and parties[before[-1]].role is None:
                    parties[before[-1]] = dataclasses.replace(parties[before[-1]], role=role)
