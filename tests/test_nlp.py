"""Reading questions: normalisation, lexicon matching, negation and contrast."""
import pytest

from gpskb.errors import InputError
from gpskb.nlp.reader import Reader
from gpskb.text import clean_question, normalise


@pytest.fixture(scope="module")
def reader(kb):
    return Reader(kb)


def test_traditional_and_full_width_are_folded():
    assert normalise("勞務派遣　ＡＢＣ１２３") == "劳务派遣 abc123"


def test_mentions_record_the_words_and_where_they_are(reader):
    f = reader.read("能否以劳务派遣方式通过政府购买服务用工？")
    m = [x for x in f.mentions if x.concept == "labour_dispatch"][0]
    assert (m.term, m.start, m.end, m.negated) == ("劳务派遣", 3, 7, False)
    assert f.text[m.start:m.end] == "劳务派遣"


def test_negation_and_contrast_do_not_trigger_the_ban(reader):
    f = reader.read("不涉及人员派遣，委托机构按项目成果开展职业技能培训")
    assert "labour_dispatch" in f.negated and "labour_dispatch" not in f.concepts
    assert {"vocational_training", "by_results"} <= f.concepts


def test_a_question_form_is_not_a_denial(reader):
    # the arrangement described, asked whether it is the ban: asked about, neither denied nor said
    asked = reader.read("这种做法是不是变相用工？")
    assert [(m.concept, m.negated, m.questioned) for m in asked.mentions] == [("disguised_employment", False, True)]
    # a proposal put as a question says it
    assert "labour_dispatch" in reader.read("护理员是不是可以用劳务派遣来解决？").concepts
    assert "labour_dispatch" in reader.read("有没有可能用劳务派遣的方式？").concepts


def test_an_english_question_opened_by_a_negative_asks_and_denies_nothing(reader):
    """language.yaml `english_rhetorical`: "Isn't X allowed to be the purchaser?" asks whether X may be the purchaser; a
    denial inside such a question, or one that opens a statement, still denies."""
    assert "purchaser_role" in reader.read("We run the city's bus company. Isn't a company allowed to be the purchaser?").concepts
    assert "per_head_staffing" in reader.read("Isn't it fine that the guards are not paid per head?").negated
    assert "labour_dispatch" in reader.read("This is not labour dispatch. Can we buy it?").negated


def test_negation_does_not_reach_into_the_next_clause(reader):
    f = reader.read("不涉及培训，而是劳务派遣")
    assert "labour_dispatch" in f.concepts


def test_a_single_character_cue_only_counts_right_before_the_term(reader):
    assert "elderly_care" in reader.read("非营利组织提供养老服务可以吗").concepts
    assert "hiring" in reader.read("不设岗位、不招人，只买服务").negated


def test_an_exception_phrase_is_not_the_concept(reader):
    f = reader.read("聘请律师事务所提供法律顾问服务可以吗")
    assert "hiring" not in f.concepts


def test_traditional_characters_match(reader):
    assert "public_welfare_post" in reader.read("能否通過政府購買服務設置公益性崗位？").concepts


@pytest.mark.parametrize("bad, message", [
    ("", "问题为空"), ("   \n\t ", "问题为空"), ("？？！！……", "只有标点"), ("x" * 2001, "问题过长"),
    (b"\xff\xfe\x00", "UTF-8"), ("abc\x00def", "二进制"), (None, "必须是文本"), ("劳务\ud800派遣", "无效的 Unicode"),
])
def test_bad_questions_are_refused_with_a_clear_message(bad, message):
    with pytest.raises(InputError, match=message):
        clean_question(bad, 2000)


def test_a_provider_named_after_a_purchase_pattern_keeps_its_category(engine):
    f = engine.read("政府能否向公益二类事业单位购买服务？")
    assert {"provider_role", "public_welfare_2_institution"} <= f.concepts


def test_a_number_of_years_becomes_a_contract_term_concept(reader):
    assert "contract_term_over_3y" in reader.read("服务合同可以一次签五年吗").concepts
    assert "contract_term_over_3y" in reader.read("那合同签三年以上呢").concepts
    assert "contract_term_1_to_3y" in reader.read("合同期限18个月行不行").concepts
    f = reader.read("合同不签五年，签一年，可以吗？")
    assert "contract_term_over_3y" not in f.concepts and "contract_term_within_1y" in f.concepts


def test_homophone_slips_match_only_long_terms(reader):
    assert "public_health_service" in reader.read("公共卫声服务可以买吗").concepts
    assert "goods" not in reader.read("服务期18个月的合同").concepts


def test_a_term_written_with_inserted_characters_still_matches(reader):
    assert "vocational_training" in reader.read("找培训机构给返乡农民工做上岗前的培训").concepts
    assert "public_welfare_post" in reader.read("公益性的工作岗位能不能买").concepts
    # not across a clause break, and not with too many characters in between
    assert "vocational_training" not in reader.read("岗前，给他们培训").concepts


def test_traditional_zhe_is_read_as_the_particle_but_not_in_words_of_writing():
    from gpskb.text import normalise

    out = normalise("經費有著落，沿著河道；享有著作權，對著名景區，顯著")
    assert out == "经费有着落,沿着河道;享有著作权,对著名景区,显著"
    assert len(out) == len("經費有著落，沿著河道；享有著作權，對著名景區，顯著")


def test_policy_patterns_see_the_folded_punctuation_of_normalised_text():
    """normalise() folds ，；？（） to ASCII: a policy class such as [^，。；？] must stop there too, or a gap crosses
    the comma into the next clause (我们是一家社工机构，民政局… read as one organisation)."""
    from gpskb.text import compile_pattern, fold_pattern, normalise

    assert fold_pattern("[^，。；？]{0,4}") == "[^，,。；;？?]{0,4}"
    assert fold_pattern("(吗|么)？") == r"(吗|么)\?"
    assert fold_pattern("[^]，]") == "[^]，,]"
    rx = compile_pattern("社工机构[^，。；？]{0,6}局")
    assert rx.search(normalise("社工机构民政局")) and not rx.search(normalise("社工机构，民政局"))


def test_english_terms_join_words_with_a_space_or_a_hyphen():
    import re

    from gpskb.text import english_key, english_term

    rx = re.compile(english_term("design and build"))
    assert all(rx.fullmatch(t) for t in ("design and build", "design-and-build", "design - and-build"))
    assert not rx.fullmatch("design and rebuild")
    assert english_key("Design-and  Build") == "design and build"



def test_the_pinyin_stored_with_the_index_reads_slips_as_computed_pinyin_does(kb, engine, reader):
    """`gpskb index build` stores the lexicon's pinyin (index/readings.json): a reader given it keys every term and
    character as one computing its own with pypinyin does, and a table missing a term (a lexicon edited since the
    build) is not used."""
    from gpskb.nlp.typos import HomophoneMatcher

    stored, computed = engine.reader.homophones, reader.homophones
    assert engine.index.readings and stored.keys == computed.keys
    sample = "劳务排遣公共卫声调介服务"
    assert [stored._reading(ch) for ch in sample] == [computed._reading(ch) for ch in sample]
    partial = {"terms": {}, "chars": {}}
    matcher = HomophoneMatcher({"劳务派遣": "labour_dispatch"}, 4, 1, readings=partial)
    assert list(matcher.find("劳务排遣")) == [(0, 4, "劳务派遣", "labour_dispatch")]


def test_answering_in_a_fresh_process_imports_nothing_it_does_not_use():
    """A fresh process answering from the committed index imports neither pypinyin (the stored pinyin serves, ~0.2 s
    of a cold start) nor torch (~0.8 s) nor spaCy's command line (typer, weasel: ~0.15 s); `spacy.info` and
    `import spacy.cli` still work."""
    import subprocess
    import sys

    code = ("import sys; from gpskb.answer import Engine; Engine().answer('能否以劳务排遣方式用工？'); "
            "print(sorted(m for m in ('pypinyin', 'torch', 'typer', 'spacy.cli') if m in sys.modules)); "
            "import spacy; print(type(spacy.info(markdown=True)).__name__); import spacy.cli; print(callable(spacy.cli.info))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "str", "True"]


def test_chinese_words_typed_in_pinyin_are_read_as_the_words(reader):
    """language.yaml `pinyin`: a lexicon term or a party's name typed in toneless pinyin inside an English question —
    spaced, joined, hyphenated or capitalised — is read as the word itself; English words around it are left alone."""
    convert = reader.pinyin.convert
    assert convert("Can a Gongyi Yilei shiye-danwei bid?") == "Can a 公益一类事业单位 bid?"
    assert convert("funded by caizheng, on bianzhi posts") == "funded by 财政, on 编制 posts"
    assert convert("Is the cunweihui eligible?") == "Is the 村委会 eligible?"
    unchanged = "We plan to hire a firm for the long-term maintenance of our fan and men's changing rooms."
    assert convert(unchanged) == unchanged
    # two words run together only across one space or hyphen, not across punctuation
    assert convert("shiye, danwei") == "shiye, danwei"
    # the words themselves in quotes are words asked about, not said
    assert convert("How do I translate 'zhengfu goumai fuwu' into French?") == "How do I translate 'zhengfu goumai fuwu' into French?"


def test_informal_english_spellings_are_read_as_the_words(reader):
    """language.yaml `english_shorthand`: chat spellings are written out as whole words, any case; a word that only
    contains one (thorough, temperature), an initialism (u.s.) and Chinese text are left alone."""
    convert = reader.shorthand.convert
    assert convert("Can the Govt hire temps thru an agency w/o a contract?") == \
        "Can the government hire temporary workers through an agency without a contract?"
    unchanged = "A thorough check of temperature logs in the u.s. office; 临时工 thru nothing"
    assert convert(unchanged) == unchanged.replace(" thru ", " through ")
    assert convert("政府购买服务") == "政府购买服务"


def test_a_party_name_typed_with_a_homophone_slip_is_read_as_the_name(reader):
    """language.yaml `typo_tolerance` for the parties' names too: one character for one, so positions stay."""
    assert reader.party_text("公益二类事业单为的服务") == "公益二类事业单位的服务"
    unchanged = "实在没有单位愿意承接"  # no name of four characters or more is near these words
    assert reader.party_text(unchanged) == unchanged


def test_a_question_in_informal_english_is_read_like_the_written_kind(engine):
    chat = engine.answer("can our dept take on temps thru a service contract")
    written = engine.answer("can our department take on temporary workers through a service contract")
    assert chat.verdict == written.verdict == "prohibited"
    assert chat.question == "can our dept take on temps thru a service contract"  # shown as the asker typed it


def test_a_question_in_english_with_pinyin_words_is_answered_in_english(engine):
    a = engine.answer("Can a gongyi yilei shiye danwei fully funded by caizheng be our provider?")
    assert a.verdict == "prohibited" and a.citations[0].clause_id == "mof-order-102/8"
    assert a.english  # the one-line English verdict: the question was asked in English
