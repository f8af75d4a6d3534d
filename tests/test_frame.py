"""The question frame: the aspect asked, what is bought, parties and roles, the general test, asking instead of
guessing, English questions, the one scope stage, and the trained readers stored with the index."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gpskb import policy
from gpskb.errors import IndexStale, PolicyError
from gpskb.index import Index

ROOT = Path(__file__).resolve().parents[1]


# -- parties ------------------------------------------------------------------------------------------------------

def _names():
    return yaml.safe_load((ROOT / "tests" / "fixtures" / "party-names.yaml").read_text(encoding="utf-8"))


def test_the_gazetteer_table_is_large_and_every_category_is_covered():
    rows = _names()
    assert len(rows) >= 150
    assert {r["category"] for r in rows} >= {"state_organ", "party_organ", "institution_class1", "institution_class2",
                                             "institution_business", "institution_unclassified", "group_org",
                                             "social_org", "enterprise", "rural_collective", "grassroots_autonomy",
                                             "individual", "body_unknown"}


@pytest.mark.parametrize("row", _names(), ids=lambda r: r["name"])
def test_every_organisation_name_gets_its_legal_category(engine, row):
    """tests/fixtures/party-names.yaml: real-style names (courts, bureaus, universities, hospitals, unions, federations,
    associations, committees), written from the categories of 102号令 第五、六、八条 by someone who never saw
    policy/parties.yaml."""
    assert engine.gazetteer.classify(row["name"]) == row["category"]


@pytest.mark.parametrize("question, concept", [
    ("县人民法院可以作为政府购买服务的购买主体吗？", "purchaser_state_organ"),
    ("某大学附属医院工会能否作为购买主体？", "purchaser_non_organ"),
    ("民政局向社工服务中心购买养老服务可以吗", "social_org"),
    ("交给村里的股份经济合作社来做，可以吗", "rural_collective"),
])
def test_parties_are_bound_to_their_role(engine, question, concept):
    assert concept in engine.read(question).concepts


@pytest.mark.parametrize("question, category, role", [
    ("居委会属于基层群众性自治组织，能否作为承接主体？", "grassroots_autonomy", "provider"),
    ("某县妇联（群团组织），能否作为购买主体？", "group_org", "purchaser"),
    ("Can district courts and procuratorates buy services?", "state_organ", None),
    # a discourse word between the name and its role's words (反过来, 本身, itself) is passed over
    ("那么居委会反过来可不可以作为购买主体呢？", "grassroots_autonomy", "purchaser"),
    ("县妇联本身到底能不能当购买方？", "group_org", "purchaser"),
    ("Could the village committee itself, in turn, act as the purchaser?", "grassroots_autonomy", "purchaser"),
])
def test_the_role_said_after_a_comma_and_english_names_in_the_plural(engine, question, category, role):
    """The role words may follow the name after a comma (…自治组织，可以作为承接主体吗); an English name in the plural
    (courts, procuratorates) is the same type as its singular."""
    from gpskb.text import normalise
    parties = engine.gazetteer.read(normalise(question))
    assert parties and parties[0].category == category and parties[0].role == role


@pytest.mark.parametrize("question, category", [
    # a class said later of the provider by its own type word (…的卫生院…卫生院属于公益二类)
    ("打算请镇中心卫生院给留守老人做慢病随访，卫生院属于公益二类事业单位，由它承接行吗？", "institution_class2"),
    # a name given as an instance of the class named before it (…的事业单位，例如市测绘院)
    ("实行企业化管理的事业单位，例如市规划设计院，能不能承接地籍调查？", "institution_business"),
    ("Could a category II public institution, for example the municipal research institute, act as the provider for the mapping?",
     "institution_class2"),
])
def test_a_class_said_of_the_provider_in_other_words_is_its_class(engine, question, category):
    """The provider's class said later with its bare type word, or the provider named as an example of a class
    (parties.yaml `roles.example_joins`): the provider is of that class, not an institution of unknown class."""
    from gpskb.text import normalise
    parties = engine.gazetteer.read(normalise(question))
    assert {p.category for p in parties if p.role == "provider"} == {category}
    assert "institution_unclassified" not in [p.category for p in parties]


def test_a_class_and_a_type_word_apart_by_a_space_are_one_name(engine):
    """Pinyin read inside English leaves Chinese words apart by spaces (a 公益二类 shiye danwei): the class and the type
    word are one party, of that class; two English names apart by a space are not joined this way."""
    from gpskb.text import normalise
    parties = engine.gazetteer.read(normalise("Can the bureau buy soil testing from the seed station, a 公益一类 事业单位?"))
    assert [p.category for p in parties if p.text.startswith("公益")] == ["institution_class1"]
    assert "institution_unclassified" not in [p.category for p in parties]


def test_an_example_that_names_its_own_class_keeps_it(engine):
    """An example whose name says its class (…的事业单位，比如公益一类的县图书馆) keeps its own: only a name that leaves
    the class open takes the class before it."""
    from gpskb.text import normalise
    parties = engine.gazetteer.read(normalise("生产经营类事业单位，比如公益一类事业单位县图书馆，能承接吗？"))
    assert [p.category for p in parties] == ["institution_business", "institution_class1"]


@pytest.mark.parametrize("question, names", [
    ("物业公司派三名保安常驻我们局，可以吗？", ["物业公司", "我们局"]),
    ("市水利局的一个内设处室，能否作为承接主体？", ["市水利局的一个内设处室"]),
])
def test_an_organ_name_is_whole_and_never_swallows_the_clause_before_it(engine, question, names):
    """我们局 is a name of its own, not the tail of 物业公司派三名保安常驻我们局; a section inside an organ (…局的一个内设
    处室) is one name, that organ."""
    from gpskb.text import normalise
    assert [p.text for p in engine.gazetteer.read(normalise(question))] == names


@pytest.mark.parametrize("question, category, role", [
    # a placeholder name (某某服务中心) is the party, even after the organ it belongs to
    ("区卫健局健康教育指导中心能作为购买主体吗？", "body_unknown", "purchaser"),
    # …unless a class word is in the same name
    ("某某康复服务中心（民办非企业单位）能承接吗？", "social_org", "provider"),
    ("某某康复服务中心，公益二类事业单位，能承接吗？", "institution_class2", "provider"),
    # a name in quotes takes the role words after the closing quote
    ("县里有个「县蚕桑技术指导站」，能不能承接丝绸产业培训？", "body_unknown", "provider"),
])
def test_a_name_that_does_not_say_what_kind_of_body_it_is(engine, question, category, role):
    """parties.yaml body_unknown (`placeholder`): 某某服务中心, 某某指导站 name a body of unknown kind — an organ's
    office, an institution of any class, a social organisation or a firm; a class word in the same name decides."""
    from gpskb.text import normalise
    parties = engine.gazetteer.read(normalise(question))
    assert [(p.category, p.role) for p in parties if p.role] == [(category, role)]


@pytest.mark.parametrize("question", [
    "镇上的某某社工服务中心打算来做这个项目，我们也说不准它是民非还是事业单位，能接吗？",
    "县档案技术服务所是事业单位，经费自理，目前尚未分类，可以承接数字化扫描吗？",
    "Can the county seed institute take the contract? It is a public institution that has not yet been classified.",
])
def test_a_class_the_asker_says_is_open_is_not_taken_from_the_name(engine, question):
    """The asker unsure of the named body's class (说不准是民非还是事业单位), or saying it has no class yet (还没分类):
    the body is an institution of unknown class — never the social organisation its name suggests, nor the business
    class its funding words suggest."""
    frame = engine.read(question)
    assert "maybe_public_welfare_1" in frame.concepts
    assert not {"social_org", "business_institution"} & frame.concepts


def test_a_homophone_slip_never_turns_a_word_into_its_denial(engine):
    """为依法登记 is not a slip for 未依法登记 (language.yaml typo_tolerance.never_substitute)."""
    frame = engine.read("这家服务方为依法登记的民非单位，能承接吗？")
    assert "provider_not_established" not in frame.concepts
    assert "provider_not_established" in engine.read("承接方未依法登记，可以吗？").concepts


def test_a_denied_party_is_not_asserted(engine):
    frame = engine.read("不是公益一类事业单位，是公益二类，可以承接吗？")
    assert "public_welfare_1" not in frame.concepts and "public_welfare_2_institution" in frame.concepts


@pytest.mark.parametrize("question, verdict", [
    ("县人民法院可以作为政府购买服务的购买主体吗？", "allowed"),
    ("村民委员会可以作为政府购买服务的购买主体吗？", "prohibited"),
    ("市属国有企业能否作为购买主体购买服务？", "prohibited"),
    ("社区居委会能承接街道的社区服务项目吗？", "allowed"),
    ("公益一类事业单位能否承接政府购买服务？", "prohibited"),
])
def test_who_may_buy_and_who_may_provide(engine, question, verdict):
    assert engine.answer(question).verdict == verdict


# -- aspect, general test, asking -----------------------------------------------------------------------------------

def test_a_named_area_says_what_is_bought_when_the_guess_played_no_part(engine):
    """The bought reader's guess at goods beside a service the lexicon names neither decides nor asks: the frame
    shows 服务 from the named words, and the reader's own probabilities stay in the trace."""
    frame = engine.read("政府能不能买公共卫生服务")
    bought = frame.slots["bought"]
    assert (bought.value, bought.source) == ("service", "lexicon") and "公共卫生服务" in bought.words
    assert "goods" not in frame.concepts and "possible_goods" not in frame.concepts
    assert frame.predictions["bought"].value != "service"  # the guess is still there for the trace
    # a guess that does make the rules ask stays what the frame shows
    asked = engine.read("社区养老服务中心想请公司派三个人来中心坐班，按人头每月付费，可以吗？")
    assert asked.slots["bought"].value == "staff" or "possible_staffing" in asked.concepts


def test_the_aspect_asked_decides_and_is_said_first(engine):
    a = engine.answer("物业管理服务合同能签三年吗？")
    assert a.understood["aspect"] == "contract_term"
    assert a.answer.startswith("您问的是：合同期限")
    assert a.rules[0]["rule_id"] == "o102-contract-term-up-to-3-years" and a.verdict == "conditional"


def test_a_term_beyond_the_limit_is_a_condition_on_the_contract_not_a_scope_ban(engine):
    a = engine.answer("养老服务项目的合同可以一次签五年吗？")
    assert a.verdict == "prohibited" and a.conclusion == "政府购买服务合同履行期限不得超过3年"
    assert "不得纳入政府购买服务范围" not in a.answer.splitlines()[1]


def test_a_service_no_text_names_is_judged_by_the_general_test(engine):
    a = engine.answer("社区想请专业机构给居民开展垃圾分类宣传指导，能走政府购买服务吗？")
    assert a.verdict == "conditional"
    assert a.rules[0]["rule_id"] == "o102-general-test"
    assert {c.clause_id for c in a.citations[:4]} >= {"mof-order-102/9", "mof-order-102/10"}
    assert any("指导性目录" in c for c in a.rules[0]["checks"])


def test_a_prohibited_reading_with_real_probability_asks_instead_of_allowing(engine):
    """No ban word: the staffing classifier's reading makes the rules ask which it is, never answer allowed."""
    a = engine.answer("想找家公司出两个人，常驻我们科室帮忙处理日常事务，费用走购买服务，可以吗？")
    assert a.verdict in ("conditional", "prohibited")
    if a.verdict == "conditional":
        assert a.follow_ups and a.follow_ups[0].id == "delivery-mode"


def test_the_follow_up_answer_settles_the_question(engine):
    q = "想找家公司出两个人，常驻我们科室帮忙处理日常事务，费用走购买服务，可以吗？"
    assert engine.answer(q, facts=["per_head_staffing"]).verdict == "prohibited"


def test_a_ban_word_in_a_question_that_buys_no_staff_does_not_ban(engine):
    a = engine.answer("请专业机构承办事业单位公开招聘考试的考务组织工作，能走政府购买服务吗？")
    assert a.verdict != "prohibited"


def test_government_functions_are_not_bought_even_in_an_encouraged_area(engine):
    a = engine.answer("养老机构的设立许可审批能交给社会组织来做吗？")
    assert a.verdict == "prohibited" and a.citations[0].clause_id == "mof-order-102/10/2"


# -- English ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("question, verdict", [
    ("Can a county bureau use labour dispatch workers and pay them through government purchase of services?",
     "prohibited"),
    ("Can the civil affairs bureau buy home-based elderly care services from a social work agency?", "allowed"),
    ("Can we sign a five-year contract for property management services?", "prohibited"),
    ("Can we hire temporary staff through a labour dispatch company?", "prohibited"),
])
def test_english_questions_are_answered_with_an_english_verdict_line(engine, question, verdict):
    a = engine.answer(question)
    assert a.verdict == verdict and a.english and a.answer.startswith("In English — ")
    assert a.citations and "结论：" in a.answer  # the answer itself stays Chinese, quoting the texts


# -- scope ----------------------------------------------------------------------------------------------------------

def test_a_procedure_question_that_uses_a_ban_word_is_out_of_scope_and_says_so(engine):
    a = engine.answer("劳务派遣公司的经营许可证怎么申请，需要多少注册资本？")
    assert a.verdict == "out_of_scope" and a.citations == []


@pytest.mark.parametrize("question, verdict", [
    ("劳务派遣工的加班费应该由谁来发？", "out_of_scope"),  # labour law: who pays, and no word of the texts' subject
    ("派遣公司拖欠工资，派遣员工该去哪儿维权？", "out_of_scope"),
    ("政府购买服务对劳务派遣有什么规定？", "prohibited"),  # names the subject: a question on the held ban
    ("Which provision of the notice covers labour dispatch?", "prohibited"),
])
def test_a_how_or_what_question_with_a_ban_word_keeps_the_ban_only_when_it_names_the_texts_subject(engine, question,
                                                                                                 verdict):
    assert engine.answer(question).verdict == verdict


def test_a_hong_kong_or_taiwan_what_question_only_asks_what(engine):
    """甚麼 (simplified to 甚么, not 什么) is a what-question form too (frame.yaml scope.procedure_forms)."""
    assert engine.read("派遣員工的加班費有甚麼規定？").procedural
    assert engine.answer("澳門的勞務派遣員工，年假有甚麼規定？").verdict == "out_of_scope"


def test_the_frame_and_the_scope_step_are_in_the_json(engine):
    d = engine.answer("能否以劳务派遣方式通过政府购买服务用工？").to_dict()
    assert d["facts"]["scope"] and d["facts"]["frame"]["slots"]["aspect"]["source"] in ("classifier", "lexicon",
                                                                                         "default")
    assert d["understood"]["aspect"] == "can_buy" and d["conclusion"]
    shown = d["facts"]["frame"]["slots"]["aspect"]["shown"]
    assert shown.startswith(("语义判断", "词语", "默认"))


# -- the readers ----------------------------------------------------------------------------------------------------

def test_the_readers_are_in_the_manifest_and_changed_examples_make_the_index_stale(policy_copy, index, tmp_path):
    index.save(tmp_path)
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert m["readers"]["examples_hash"] and set(m["readers"]["slots"]) == {"aspect", "bought", "area"}
    assert (tmp_path / "readers.npz").exists()
    ex = policy_copy / "examples.yaml"
    ex.write_text(ex.read_text(encoding="utf-8").replace("    can_buy:\n", "    can_buy:\n      - \"新的例句：买这个行吗\"\n",
                                                          1), encoding="utf-8")
    with pytest.raises(IndexStale, match="examples"):
        Index.load(policy.load(policy_copy), tmp_path, index.embedder)


def test_broken_examples_name_the_file_and_the_field(policy_copy):
    ex = policy_copy / "examples.yaml"
    ex.write_text(ex.read_text(encoding="utf-8").replace("    can_buy:", "    can_bye:", 1), encoding="utf-8")
    with pytest.raises(PolicyError, match=r"examples\.yaml: slots\.aspect\.can_bye"):
        policy.load(policy_copy)


def test_a_frame_threshold_out_of_range_names_the_file_and_the_field(policy_copy):
    f = policy_copy / "frame.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("roles_from_aspect_at: 0.65", "roles_from_aspect_at: 1.5"),
                 encoding="utf-8")
    with pytest.raises(PolicyError, match=r"frame\.yaml: roles_from_aspect_at"):
        policy.load(policy_copy)


def test_cross_validation_of_the_readers_reports_mean_and_worst_fold(kb, index):
    from gpskb.evaluation import cross_validate_readers

    small = dataclasses.replace(kb, examples={"aspect": {v: t[:10] for v, t in kb.examples["aspect"].items()}})
    res = cross_validate_readers(small, index.embedder, folds=2, n_jobs=1)
    assert set(res) == {"aspect"} and 0 < res["aspect"]["worst"] <= res["aspect"]["mean"] <= 1


def test_the_embedder_runs_single_threaded_unless_configured():
    """OpenMP reads its thread count once: gpskb sets it before the embedder and FAISS load, for every entry point."""
    code = ("import gpskb, os; from gpskb.index.embedders import make_embedder; make_embedder().query('劳务派遣');"
            "from threadpoolctl import threadpool_info;"
            "print(max(i['num_threads'] for i in threadpool_info() if i['internal_api'] == 'openmp'))")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "1"


def test_the_stored_readers_give_scikit_learns_own_probabilities(index):
    """The readers keep the arrays scikit-learn fitted and compute with them (no scikit-learn import when serving):
    they must give exactly what the fitted objects give."""
    import numpy as np
    from conftest import ROOT
    from scipy import sparse

    from gpskb.index.embedders import query_vectors
    from gpskb.index.readers import _read_vector_cache
    from gpskb.learn import VECTOR_WEIGHT, VECTOR_WEIGHTS, SlotReaders
    from gpskb.text import normalise

    # trained here on a slice of every slot's examples (the index under test may be the committed one, loaded), with
    # the examples' vectors from the committed cache where it has them
    small = {slot: {v: sorted(ts)[:12] for v, ts in values.items()} for slot, values in index.kb.examples.items()}
    cached = _read_vector_cache(ROOT / "index", index.embedder)

    def embed(ts):
        todo = [t for t in ts if t not in cached]
        cached.update(zip(todo, query_vectors(index.embedder, todo) if todo else [], strict=True))
        return np.stack([cached[t] for t in ts])

    readers = SlotReaders.train(small, embed, n_jobs=1)
    assert readers.fitted, "a fresh training keeps the fitted objects"
    assert set(readers.slots) == set(index.readers.slots)
    texts = ["能否以劳务派遣方式通过政府购买服务用工？", "Can we buy elderly care services?", "合同最长签几年",
             "红烧肉怎么做", "社区   垃圾分类  宣传", "a"]
    for t in texts:
        n = normalise(t)
        v = index.embedder.query(n)
        ours = readers.probabilities(n, v)
        for slot, (vectorizer, model) in readers.fitted.items():
            w = VECTOR_WEIGHTS.get(slot, VECTOR_WEIGHT)
            X = sparse.hstack([vectorizer.transform([n]), sparse.csr_matrix(v.reshape(1, -1) * w)], format="csr")
            assert np.allclose(ours[slot], model.predict_proba(X)[0], atol=1e-9), (t, slot)
            assert list(model.classes_) == readers.slots[slot]["classes"]


# -- a sure reading decides alone, unless the question's own words speak against it (session 6) --------------------

def _frame_with(engine, text, bought, area=None, aspect=("can_buy", 0.95), aspects=None):
    """The frame of `text` with the slot readers' outputs replaced by the given probabilities (the lexicon, the
    parties and the cues still read the words): what compose() makes of a reading, whatever the trained readers say."""
    from gpskb.frame.compose import compose
    from gpskb.learn import Prediction
    from gpskb.text import has_chinese, normalise

    def pred(slot, probs):
        value = max(probs, key=probs.get)
        return Prediction(slot, value, probs[value], probs)

    predictions = {"aspect": pred("aspect", aspects or {aspect[0]: aspect[1], "out_of_scope": 1 - aspect[1]}),
                   "bought": pred("bought", bought)}
    if area:
        predictions["area"] = pred("area", area)
    facts = engine.reader.read(text, aspect=max(aspects, key=aspects.get) if aspects else aspect[0])
    return compose(engine.kb.frame, facts, engine.gazetteer.read(normalise(text)), predictions, engine._kinds,
                   english=not has_chinese(text), denied=lambda s, e: engine.reader.denies(facts.text, s, e),
                   roles=engine.kb.parties.roles)


def test_a_sure_reading_decides_a_plain_prohibited_purchase_alone(engine):
    f = _frame_with(engine, "想让公司安排几个人过来帮我们办事，可以吗？", {"staff": 0.93, "service": 0.07})
    assert f.asserted["disguised_employment"].source == "classifier"
    outcome = engine.rules.evaluate(f)
    assert outcome.verdict == "prohibited" and outcome.decisive.rule.id == "ban-disguised-employment"


def test_a_reading_below_its_decide_at_only_asks(engine):
    f = _frame_with(engine, "想让公司安排几个人过来帮我们办事，可以吗？", {"staff": 0.85, "service": 0.15})
    assert "disguised_employment" not in f.asserted and "possible_staffing" in f.asserted
    assert engine.rules.evaluate(f).verdict == "conditional"


def test_a_named_service_keeps_a_sure_reading_from_deciding(engine):
    """助餐 is a service the lexicon names: a sure reading of 'outside the duties' beside it decides nothing."""
    f = _frame_with(engine, "请公司给社区老人做助餐，可以吗？", {"outside_duty": 0.95, "service": 0.05})
    assert "outside_duty" not in f.asserted
    assert engine.rules.evaluate(f).verdict != "prohibited"


def test_help_with_a_decision_keeps_a_sure_reading_of_a_direct_duty_from_deciding(engine):
    f = _frame_with(engine, "请公司帮忙初审申请材料，审批结论仍由我们作出，可以吗？", {"gov_function": 0.95, "service": 0.05})
    assert "direct_duty" not in f.asserted


def test_a_ban_only_asked_about_keeps_a_sure_reading_from_deciding(engine):
    f = _frame_with(engine, "这样安排算不算变相用工？", {"staff": 0.95, "service": 0.05})
    assert "disguised_employment" not in f.asserted


def test_a_guessed_area_allows_nothing_while_a_ban_keeps_real_probability(engine):
    text = "请一家机构每周来几次，帮社区做些日常事情，可以吗？"
    f = _frame_with(engine, text, {"service": 0.55, "staff": 0.45}, area={"elderly_care": 0.8, "none": 0.2})
    assert "possible_staffing" in f.asserted
    assert engine.rules.evaluate(f).verdict == "conditional"
    f = _frame_with(engine, text, {"service": 0.8, "staff": 0.2}, area={"elderly_care": 0.8, "none": 0.2})
    assert "possible_staffing" not in f.asserted


def test_a_how_reading_that_asks_whether_it_may_get_someone_to_do_something_takes_the_general_test(engine):
    """Read as "how", a question that asks whether the office may commission someone is answered with the general
    test's checks; one that only asks whether a manner is right is not — unless a banned reading of what is bought
    keeps real probability (frame.yaml general_test asks_whether_forms / asks_whether_risk_at)."""
    how = ("how_to", 0.8)
    commission = _frame_with(engine, "Can the archives bureau commission a firm to photograph its historic seals?",
                             {"service": 0.7, "none": 0.3}, aspect=how)
    assert "unnamed_service" in commission.concepts
    assert "o102-general-test" in [f.rule.id for f in engine.rules.evaluate(commission).firings]
    manner = _frame_with(engine, "合同由双方签字盖章后再报财政部门备案，这样可以吗？", {"service": 0.7, "none": 0.3},
                         aspect=how)
    assert "unnamed_service" not in manner.concepts
    risky = _frame_with(engine, "合同由双方签字盖章后再报财政部门备案，这样可以吗？",
                        {"financing": 0.6, "service": 0.4}, aspect=how)
    assert "unnamed_service" in risky.concepts and engine.rules.evaluate(risky).verdict == "conditional"


def test_a_rule_on_the_provider_alone_never_allows_a_question_read_as_out_of_scope(engine):
    """Read as out of scope (0.6) but naming a provider of an eligible type (第六条): the general test
    is asserted too, so the answer is conditional with its checks, not `allowed` on the provider's type alone; by
    itself the general test keeps nothing in scope (frame.yaml general_test.out_of_scope_reads)."""
    from gpskb.frame.scope import decide_scope

    oos = ("can_buy", 0.4)
    f = _frame_with(engine, "有家民办非企业单位想承接我们这个项目。", {"service": 0.55, "staff": 0.45}, aspect=oos)
    assert f.aspect == "out_of_scope" and "unnamed_service" in f.concepts
    outcome = engine.rules.evaluate(f)
    assert {"o102-eligible-providers", "o102-general-test"} <= {x.rule.id for x in outcome.firings}
    assert outcome.verdict == "conditional"
    scope = decide_scope(engine.kb.frame, f, True, False, True, general_only=True)
    assert scope.step != "rule"  # had only the general test fired, it would keep nothing in scope
    alone = _frame_with(engine, "周末去哪座山徒步比较好？", {"none": 0.9, "service": 0.1}, aspect=oos)
    assert "unnamed_service" not in alone.concepts  # no party in a role: no test


def test_read_as_out_of_scope_staffing_is_said_only_by_two_essential_cues_together(engine):
    """frame.yaml `corroborated.out_of_scope_essential`: read as out of scope (0.6), a sure reading of staff is asserted
    when two essential kinds of cue say it together (our vacant posts filled, their leave approved by us), never by one
    kind (a person in our office, paid monthly, may be an individual provider to check)."""
    oos = ("how_to", 0.4)
    two = _frame_with(engine, "The vendor's people fill our vacant posts and we approve their leave. Fine?",
                      {"staff": 0.95, "service": 0.05}, aspect=oos)
    assert two.aspect == "out_of_scope" and "disguised_employment" in two.concepts
    one = _frame_with(engine, "The vendor's people fill our vacant posts. Fine?", {"staff": 0.95, "service": 0.05},
                      aspect=oos)
    assert one.aspect == "out_of_scope" and "disguised_employment" not in one.concepts


def test_a_ban_word_as_the_subject_of_a_labour_service_is_set_aside_and_shown(engine):
    """劳务派遣 in collective-bargaining guidance for dispatched workers is what the service is about: the frame sets the
    word aside (shown in the trace) and the rules do not ban on it; with a head count or people placed with the office
    the word is what is bought."""
    f = engine.read("工会想给园区里的劳务派遣员工开展集体协商指导，可以走政府购买服务吗？")
    assert "labour_dispatch" in f.set_aside and "labour_dispatch" not in f.concepts
    assert "set_aside" in f.as_dict() and engine.rules.evaluate(f).verdict != "prohibited"
    g = engine.read("劳动争议调解中心想通过劳务派遣招3个调解员来中心上班，可以吗？")
    assert not g.set_aside and engine.rules.evaluate(g).verdict == "prohibited"


def test_a_party_aspect_with_no_party_and_a_sure_banned_reading_asks_whether_it_can_be_bought(engine):
    """Read as "who may buy" although the question names no party at all, while what is bought is surely works: the
    rules answer whether it can be bought (frame.yaml party_aspects / party_aspect_yields_at); with a party named, the
    party question stands."""
    text = "Is it fine to have the new riverside promenade built under a service contract?"
    f = _frame_with(engine, text, {"works": 0.95, "service": 0.05}, aspect=("who_buys", 0.7))
    assert f.rule_aspect == "can_buy" and engine.rules.evaluate(f).verdict == "prohibited"
    g = _frame_with(engine, "区妇联能不能作为购买主体，买一批新建的办公用房？", {"works": 0.95, "service": 0.05},
                    aspect=("who_buys", 0.7))
    assert g.parties and g.rule_aspect == "who_buys"


def test_the_role_words_after_a_name_that_only_describes_another_party_are_that_partys(engine):
    """'a company owned by the county government serve as the provider': the government only says whose company it
    is (no role, not even from the aspect asked); 'serve as the provider' is the company's."""
    from gpskb.text import normalise

    text = "Can an engineering company wholly owned by the county government serve as the provider of our bridge inspection service?"
    company, government = engine.gazetteer.read(normalise(text))
    assert (company.category, company.role) == ("enterprise", "provider")
    assert (government.category, government.role, government.describes) == ("state_organ", None, True)
    # said in Chinese the owner and what it set up are two names (出资设立的 breaks them): the owner only describes,
    # the company provides
    funded = engine.gazetteer.read(normalise("由县政府出资设立的物业公司能不能承接机关大院的保洁？"))
    assert [(p.category, p.role, p.describes) for p in funded] == [("state_organ", None, True),
                                                                    ("enterprise", "provider", False)]
    # …and set off by a comma, the owner after 由 only describes the company named next
    apart = engine.gazetteer.read(normalise("一家由县政府出资设立的、做物业的公司，能不能承接机关大院的保洁？"))
    assert [(p.category, p.role) for p in apart if p.category == "state_organ"] == [("state_organ", None)]


@pytest.mark.parametrize("text, asks_only_how", [
    ("街道请物业公司派三个人常驻办公室，工资按人头结，这算什么？", False),
    ("局里想用购买服务的钱买两台空调，这种怎么定性？", False),
    ("派遣员工的加班费按多少算，怎么说？", True),  # 怎么说 after a how-question asks how
    ("政府购买服务的绩效评价指标有哪些？", True),
    ("What documents does the contract file need?", True),
    # how many of a thing, or whom to ask (几辆, 报谁批): how or what, not whether (session 28)
    ("车改以后执法大队能留几辆车？", True),
    ("旧电脑报废要报谁批？", True),
    ("谁可以承接社区矫正的辅助工作？", False),  # who may: asks whether someone may
    # a story told, then 能…不？ (may it be paid from … or not?): whether, whatever 几天 the story holds
    ("想请旅行社带科里同事去海边玩几天，钱能从购买服务里出不？", False),
])
def test_a_question_that_ends_by_asking_for_a_judgement_asks_whether(engine, text, asks_only_how):
    """这算什么？ / 这种怎么定性？ at the end ask what this counts as: the question asks whether, not how or what
    (frame.yaml scope eligibility_forms), so a prohibition its words decide is answered."""
    from gpskb.frame.scope import procedural
    from gpskb.text import normalise

    assert procedural(engine.kb.frame, normalise(text)) is asks_only_how


@pytest.mark.parametrize("text", ["街道请物业公司派三个人常驻办公室", "每天来5个人打扫", "这个人能不能来帮忙", "找几个人临时顶一下"])
def test_a_head_count_names_no_individual_provider(engine, text):
    from gpskb.text import normalise

    assert "individual" not in [p.category for p in engine.gazetteer.read(normalise(text))]
    assert [p.category for p in engine.gazetteer.read(normalise("请一位退休教师个人来上课"))] == ["individual"]


def test_a_question_whose_reading_is_split_between_two_in_scope_aspects_is_answered(engine):
    """how_to 0.48 beside text_info 0.46 is a question on the texts whose kind is unsure, not one outside them: the
    in-scope aspects together decide (frame.yaml scope.in_scope_at); a first reading of out_of_scope still refuses."""
    from gpskb.frame.scope import decide_scope
    from gpskb.learn import Prediction

    f = _frame_with(engine, "Where do the texts say what a contract must contain?", {"none": 0.9, "service": 0.1},
                    aspect=("how_to", 0.5))
    split = {"how_to": 0.48, "text_info": 0.46, "out_of_scope": 0.06}
    f.predictions["aspect"] = Prediction("aspect", "how_to", 0.48, split)
    scope = decide_scope(engine.kb.frame, f, False, False, False)
    assert scope.answered and scope.step == "aspect_or_retrieval"
    outside = {"out_of_scope": 0.45, "how_to": 0.3, "text_info": 0.25}
    f.predictions["aspect"] = Prediction("aspect", "out_of_scope", 0.45, outside)
    assert not decide_scope(engine.kb.frame, f, False, False, False).answered


@pytest.mark.parametrize("question, defines", [
    ("什么叫购买主体？", True),
    ("What counts as an auxiliary service in Order 102?", True),
    # a definition beside a question whether: the whether decides
    ("辅助性服务指什么，食堂外包能买吗？", False),
    # no term of the texts named: no definition of theirs asked
    ("劳务派遣是什么意思？", False),
])
def test_a_term_of_the_texts_asked_what_it_means_is_a_question_on_the_texts(engine, question, defines):
    """policy/frame.yaml scope `definition_forms`: in scope (step 1c) and read as asking what the text says."""
    from gpskb.frame.scope import asks_definition
    from gpskb.text import normalise
    assert asks_definition(engine.kb.frame, normalise(question)) is defines
    a = engine.answer(question)
    if defines:
        assert a.verdict == "no_rule" and a.citations
        assert a.understood["aspect"] == "text_info"


def test_an_office_asking_whether_it_may_have_a_named_provider_do_the_work_asks_about_a_purchase(engine):
    """frame.yaml scope `office_words`: read as out of scope (0.95), a question in which the asking office (我们, can
    we) asks whether it may have a provider named in its role do something is about a purchase: the reader's best
    in-scope aspect that asks whether is taken, and the scope stage keeps it (step `commission`) — not when the asker
    is that party itself (我们公司…), nor when no office asks."""
    from gpskb.frame.scope import decide_scope

    oos = ("can_buy", 0.05)
    f = _frame_with(engine, "能不能请一家咨询公司帮我们把明年的行业调研报告先写出来？", {"service": 0.9, "staff": 0.1},
                    aspect=oos)
    assert f.aspect == "can_buy"
    scope = decide_scope(engine.kb.frame, f, True, False, False)
    assert scope.answered and scope.step == "commission"
    en = _frame_with(engine, "Could our bureau pay a consultancy to compare how other provinces price bus fares?",
                     {"service": 0.9, "staff": 0.1}, aspect=oos)
    assert en.aspect == "can_buy"
    own = _frame_with(engine, "我们公司能不能给员工报销加班打车费？", {"service": 0.6, "staff": 0.4}, aspect=oos)
    assert own.aspect == "out_of_scope"
    assert not decide_scope(engine.kb.frame, own, True, False, False).answered
    nobody = _frame_with(engine, "派遣公司能不能不给派遣员工交社保？", {"staff": 0.6, "service": 0.4}, aspect=oos)
    assert nobody.aspect == "out_of_scope"


def test_an_aspect_asked_in_so_many_words_settles_a_split_reading(engine):
    """frame.yaml `aspect_forms`: the reader split between "can it be bought" (0.55) and "who may buy" (0.45), a
    question that asks whether a body may act as the buyer is read as asking who may buy — and then a court, a state
    organ, is answered by 第五条 (allowed), the review of the auxiliary service only qualifying it. The worded aspect is
    not taken when the reader is sure of another (0.85 against 0.1) or when the question only asks how."""
    split = {"can_buy": 0.55, "who_buys": 0.45}
    f = _frame_with(engine, "区法院能不能作为购买主体，把庭审录音转写外包出去？", {"service": 0.9, "staff": 0.1},
                    aspects=split)
    assert f.aspect == "who_buys" and f.slots["aspect"].source == "form"
    assert engine.rules.evaluate(f).verdict == "allowed"
    en = _frame_with(engine, "Could a township clinic act as the purchaser for home visits?", {"service": 0.9, "staff": 0.1},
                     aspects=split)
    assert en.aspect == "who_buys"
    sure = _frame_with(engine, "区法院能不能作为购买主体，把庭审录音转写外包出去？", {"service": 0.9, "staff": 0.1},
                       aspects={"can_buy": 0.85, "who_buys": 0.1, "out_of_scope": 0.05})
    assert sure.aspect == "can_buy"


def test_a_question_naming_the_catalogue_that_asks_whether_is_kept_when_a_rule_fired(engine):
    """frame.yaml scope step 3b (`subject_asked`): read as out of scope at 0.75, a question that asks whether and names
    the guidance catalogue (the texts' own subject) gives way to its in-scope reading, and a rule that fired keeps it;
    above `out_of_scope_yields_below` (0.85) the reader is sure enough to refuse."""
    from gpskb.frame.scope import decide_scope

    text = "垃圾分类督导这项在本市指导性目录里，预算也已安排，下个月就执行，可以吗？"
    f = _frame_with(engine, text, {"service": 0.9, "staff": 0.1}, aspects={"out_of_scope": 0.75, "can_buy": 0.25})
    assert f.aspect == "can_buy"
    scope = decide_scope(engine.kb.frame, f, True, False, False)
    assert scope.answered and scope.step == "subject_asked"
    sure = _frame_with(engine, text, {"service": 0.9, "staff": 0.1}, aspects={"out_of_scope": 0.85, "can_buy": 0.15})
    assert sure.aspect == "out_of_scope"
    assert not decide_scope(engine.kb.frame, sure, True, False, False).answered
