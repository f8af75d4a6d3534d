"""The strict loader: every error names the file and the field."""
import pytest
import yaml

from gpskb import policy
from gpskb.errors import PolicyError, UnknownClause
from gpskb.numerals import chinese_number


def _edit(path, old, new, count=1):
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _error(policy_dir) -> PolicyError:
    with pytest.raises(PolicyError) as exc:
        policy.load(policy_dir)
    return exc.value


def test_the_project_policy_loads(kb):
    assert len(kb.clauses) >= 20 and kb.rules and kb.concepts


def test_missing_field_names_file_and_field(policy_copy):
    doc = policy_copy / "documents" / "caizong-2023-12.yaml"
    data = yaml.safe_load(doc.read_text(encoding="utf-8"))
    del data["clauses"][12]["text"]
    doc.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    err = _error(policy_copy)
    assert "caizong-2023-12.yaml" in str(err)
    assert "clauses[12].text: field required" in str(err)


def test_unknown_key_names_file_and_field(policy_copy):
    _edit(policy_copy / "documents" / "caizong-2023-12.yaml", "    kind: item\n", "    kind: item\n    titel: x\n")
    err = _error(policy_copy)
    assert "caizong-2023-12.yaml" in str(err) and ".titel: unknown key" in str(err)


def test_duplicate_key_names_file_line_and_key(policy_copy):
    _edit(policy_copy / "documents" / "caizong-2023-12.yaml", "  issuer: 财政部\n", "  issuer: 财政部\n  issuer: 财政部办公厅\n")
    err = _error(policy_copy)
    assert "caizong-2023-12.yaml" in str(err) and "duplicate key 'issuer'" in str(err) and "line" in str(err)


def test_duplicate_clause_id_names_file_and_field(policy_copy):
    _edit(policy_copy / "documents" / "caizong-2023-12.yaml", "id: caizong-2023-12/12\n", "id: caizong-2023-12/11\n")
    err = _error(policy_copy)
    assert "caizong-2023-12.yaml" in str(err)
    assert "clauses[14].id: duplicate clause id 'caizong-2023-12/11'" in str(err)


def test_malformed_yaml_names_file_and_line(policy_copy):
    _edit(policy_copy / "lexicon.yaml", "  - id: hiring\n", "  - id: [hiring\n")
    err = _error(policy_copy)
    assert "lexicon.yaml" in str(err) and "malformed YAML" in str(err) and "line" in str(err)


def test_rule_quote_must_be_verbatim(policy_copy):
    _edit(policy_copy / "rules" / "caizong-2023-12.yaml", "quote: 支持发展农业社会化服务，促进农业经营增效。",
          "quote: 支持发展农业社会化服务，促进农业经营提效。")
    err = _error(policy_copy)
    assert "caizong-2023-12.yaml" in str(err) and ".quote: not found verbatim" in str(err)


def test_rule_condition_must_name_known_concepts(policy_copy):
    _edit(policy_copy / "rules" / "caizong-2023-12.yaml", "when: {any: [agri_socialized_service]}",
          "when: {any: [agri_socialised_service]}")
    err = _error(policy_copy)
    assert ".when.any[0]: unknown concept 'agri_socialised_service'" in str(err)
    assert "did you mean 'agri_socialized_service'" in str(err)


def test_a_rule_may_settle_only_an_existing_conditional_rule(policy_copy):
    _edit(policy_copy / "rules" / "mof-order-102.yaml", "settles: [review-auxiliary-services,",
          "settles: [review-auxiliary-service,")
    err = _error(policy_copy)
    assert "mof-order-102.yaml" in str(err) and ".settles[0]: 'review-auxiliary-service'" in str(err)


def test_rule_clause_reference_must_exist(policy_copy):
    _edit(policy_copy / "rules" / "caizong-2023-12.yaml", "clauses: [caizong-2023-12/7]", "clauses: [caizong-2023-12/70]")
    err = _error(policy_copy)
    assert ".clauses[0]: unknown clause 'caizong-2023-12/70'" in str(err)


def test_a_term_may_not_belong_to_two_concepts(policy_copy):
    _edit(policy_copy / "lexicon.yaml", "terms: [公共卫生服务", "terms: [劳务派遣, 公共卫生服务")
    err = _error(policy_copy)
    assert "lexicon.yaml" in str(err) and "already belongs to concept 'labour_dispatch'" in str(err)


def test_wrong_type_names_the_field(policy_copy):
    _edit(policy_copy / "documents" / "caizong-2023-12.yaml", "  excerpt: false\n", "  excerpt: 否\n")
    err = _error(policy_copy)
    assert "document.excerpt: expected true or false" in str(err)


def test_missing_policy_folder(tmp_path):
    err = _error(tmp_path / "nowhere")
    assert "policy folder not found" in str(err)


def test_policy_dir_from_environment(policy_copy, monkeypatch):
    monkeypatch.setenv("GPSKB_POLICY_DIR", str(policy_copy))
    assert policy.load().policy_dir == policy_copy.resolve()


def test_unknown_clause_suggests_near_matches(kb):
    with pytest.raises(UnknownClause) as exc:
        kb.clause("caizong-2023-12/111")
    assert "caizong-2023-12/11" in exc.value.suggestions


def test_unknown_rule_id_names_near_matches(kb):
    from gpskb.errors import UnknownRule

    assert kb.rule("ban-disguised-employment").id == "ban-disguised-employment"
    with pytest.raises(UnknownRule) as exc:
        kb.rule("ban-disguised-employmnt")
    assert "ban-disguised-employment" in exc.value.suggestions


@pytest.mark.parametrize("text,value", [("五", 5), ("十", 10), ("十四", 14), ("二十四", 24), ("九十九", 99),
                                        ("一百", 100), ("一百零二", 102), ("一百一十", 110), ("一百二十三", 123),
                                        ("两百", 200), ("24", 24), ("十十", None), ("百", None), ("一二", None)])
def test_chinese_numbers_up_to_hundreds(text, value):
    assert chinese_number(text) == value


def test_role_words_are_not_parties(kb):
    assert kb.concepts["provider_role"].kind == "role" and kb.concepts["purchaser_role"].kind == "role"


def test_a_bad_embedder_setting_is_a_setting_error_naming_the_variable(monkeypatch):
    from gpskb.errors import SettingError
    from gpskb.index.embedders import EMBEDDER_ENV, make_embedder

    monkeypatch.setenv(EMBEDDER_ENV, "word2vec")
    with pytest.raises(SettingError) as exc:
        make_embedder()
    assert not isinstance(exc.value, PolicyError)
    assert str(exc.value).startswith(f"{EMBEDDER_ENV}: unknown embedder 'word2vec'")


def test_a_malformed_question_file_is_a_question_file_error(tmp_path):
    from gpskb.errors import QuestionFileError
    from gpskb.evaluation import load_questions

    path = tmp_path / "q.yaml"
    path.write_text("- {id: a, kind: eligibility, aspect: can_buy, lang: zh, cite: [11], q: 能买吗}\n", encoding="utf-8")
    with pytest.raises(QuestionFileError) as exc:
        load_questions(path)
    assert not isinstance(exc.value, PolicyError) and "verdict" in str(exc.value) and "q.yaml" in str(exc.value)


def test_nothing_to_cite_only_where_no_clause_answers(tmp_path):
    """`cite: []` is accepted on an eligibility question whose only verdict is no_rule (its article is outside the
    excerpt) and on an info question answered by a document's heading; an allowed question must cite."""
    from gpskb.errors import QuestionFileError
    from gpskb.evaluation import load_questions

    path = tmp_path / "q.yaml"
    path.write_text("- {id: a, kind: eligibility, aspect: can_buy, lang: zh, verdict: [no_rule], cite: [], q: 能转包吗}\n"
                    "- {id: b, kind: info, aspect: text_info, lang: zh, verdict: [no_rule], cite: [], q: 哪天印发的}\n",
                    encoding="utf-8")
    assert [q.id for q in load_questions(path)] == ["a", "b"]
    path.write_text("- {id: c, kind: eligibility, aspect: can_buy, lang: zh, verdict: [allowed], cite: [], q: 能买吗}\n",
                    encoding="utf-8")
    with pytest.raises(QuestionFileError, match=r"\[0\]\.cite"):
        load_questions(path)


@pytest.mark.parametrize("old, new, field", [
    ("topic_blocked_by: [dispatch_as_means, posts_created]", "topic_blocked_by: [dispatch_as_mean, posts_created]",
     "slots.bought.values.staff.topic_blocked_by[0]: unknown cue 'dispatch_as_mean'"),
    ("topic_words: [labour_dispatch, disguised_employment, public_welfare_post]",
     "topic_words: [labour_dispach, disguised_employment, public_welfare_post]",
     "slots.bought.values.staff.topic_words[0]: unknown concept 'labour_dispach'"),
    ("party_aspects: [who_buys, who_provides]", "party_aspects: [who_buys, who_provide]",
     "party_aspects[1]: unknown aspect 'who_provide'"),
    ("party_kinds: [provider, purchaser]", "party_kinds: [provider, buyer]", "party_kinds[1]: unknown concept kind 'buyer'"),
    ("settled: staffing_settled,", "settled: staffing_setled,",
     "slots.bought.values.staff.settled: unknown concept 'staffing_setled'"),
    ("    - '政府购买服务|购买服务|政府购买|通知", "    - '(政府购买服务|购买服务|政府购买|通知", "scope.subject_words"),
    ("    - '多少(钱|元|块", "    - '多少((钱|元|块", "scope.figure_forms"),
    ("    - '劳动合同法|劳动法", "    - '(劳动合同法|劳动法", "scope.other_laws"),
    ("topic_forms: [studied, others_employ, recruitment_admin]", "topic_forms: [studied, others_employs, recruitment_admin]",
     "slots.bought.values.staff.topic_forms[1]: unknown cue 'others_employs'"),
    ("  - '^(?=[^？?。！!]{0,100}(知道", "  - '^((?=[^？?。！!]{0,100}(知道", "background_forms"),
    ("unless_contradicted_by: [directed_by_us]", "unless_contradicted_by: [directed_by_them]",
     "slots.bought.values.staff.unless_contradicted_by[0]: unknown cue 'directed_by_them'"),
    ("topic_form_words: [hiring]}", "topic_form_words: [hiring_]}",
     "slots.bought.values.staff.topic_form_words[0]: unknown concept 'hiring_'"),
    ("  refuse_over_ban_unnamed_at: 0.93\n", "  refuse_over_ban_unnamed_at: 1.5\n", "scope.refuse_over_ban_unnamed_at"),
    ("contradictions:\n  in_catalogue: not_in_catalogue\n", "contradictions:\n  in_catalogue: not_in_catalog\n",
     "contradictions.in_catalogue: unknown concept 'not_in_catalog'"),
    ("figure_years: [2022, 2023]\n  year_forms: ['(?<![\\d])(?P<y>", "figure_years: [2022, 2023]\n  year_forms: ['(?<![\\d])((?P<y>",
     "scope.year_forms"),
    ("    - '(?<!after )(?<!since )", "    - '((?<!after )(?<!since )", "scope.document_names"),
    ("  same_people_kept:\n    - '(人|人员)(还是", "  same_people_kept:\n    - '((人|人员)(还是", "cues.same_people_kept"),
    ("example_clauses:\n  - '\\s*(say|", "example_clauses:\n  - '\\s*((say|", "example_clauses"),
])
def test_a_wrong_name_in_frame_yaml_is_named_with_its_field(policy_copy, old, new, field):
    _edit(policy_copy / "frame.yaml", old, new)
    err = _error(policy_copy)
    assert "frame.yaml" in str(err) and field in str(err)


# -- the shape of the rule, lexicon and question files, checked by pydantic models (gpskb.schema) -----------------

@pytest.mark.parametrize("old, new, where", [
    ("    outcome: prohibited\n", "    outcome: forbidden\n", "rules[0].outcome: 'forbidden' is not one of"),
    ("    outcome: prohibited\n", "    outcome: prohibited\n    overide: [allowed]\n",
     "rules[0].overide: unknown key (did you mean 'overrides'?)"),
    ("    priority: 100\n", "    priority: high\n", "rules[0].priority: expected an integer"),
    ("    title: 不得将人员招、聘用，劳务派遣用工，设置公益性岗位等纳入政府购买服务范围\n", "    title: ''\n",
     "rules[0].title: expected non-empty text"),
])
def test_a_rule_file_of_the_wrong_shape_names_the_rule_and_field(policy_copy, old, new, where):
    _edit(policy_copy / "rules" / "caizong-2023-12.yaml", old, new)
    err = _error(policy_copy)
    assert "caizong-2023-12.yaml" in str(err) and where in str(err), str(err)


def test_an_unknown_key_in_a_concept_suggests_the_near_one(policy_copy):
    _edit(policy_copy / "lexicon.yaml", "  - id: hiring\n    label: ", "  - id: hiring\n    kind2: x\n    label: ")
    err = _error(policy_copy)
    assert "lexicon.yaml" in str(err) and ".kind2: unknown key (did you mean 'kind'?)" in str(err), str(err)


def test_a_question_file_error_names_the_question_and_field(tmp_path):
    from gpskb.errors import QuestionFileError
    from gpskb.evaluation import load_questions

    path = tmp_path / "q.yaml"
    path.write_text("- {id: a, kind: info, cite: [11], q: 谁发的}\n- {id: b, kind: eligible, q: 能买吗}\n",
                    encoding="utf-8")
    with pytest.raises(QuestionFileError) as exc:
        load_questions(path)
    assert "q.yaml: [1].kind: 'eligible' is not one of" in str(exc.value)


def test_a_misspelt_required_key_is_reported_as_itself(policy_copy):
    """An unknown key is reported before the required field it leaves missing (txt: for text:)."""
    _edit(policy_copy / "documents" / "caizong-2023-12.yaml", "    text: ", "    txt: ")
    err = _error(policy_copy)
    assert ".txt: unknown key (did you mean 'text'?)" in str(err), str(err)


@pytest.mark.parametrize("file, old, new, where", [
    ("retrieval.yaml", "  dense_weight: 0.25\n", "  dense_weight: 'x'\n", "fusion.dense_weight: expected a number"),
    ("retrieval.yaml", "max_citations: 3\n", "max_citations: 3.5\n", "max_citations: expected an integer"),
    ("retrieval.yaml", "fallback_retrieval_at: 2\n", "fallback_retrieval_at: 0\n", "fallback_retrieval_at: "),
    ("language.yaml", "step_concepts: [in_catalogue, has_budget,", "step_concepts: [in_catalog, has_budget,",
     "mentions.step_concepts[0]: unknown concept 'in_catalog'"),
    ("language.yaml", "    - '(要不要|需不需要|用不用", "    - '((要不要|需不需要|用不用", "mentions.step_patterns"),
    ("language.yaml", "  never_inserted: [怎, 么,", "  never_inserted: 怎么", "gap_tolerance.never_inserted"),
    ("language.yaml", "      - '(说是|名义上|表面上)", "      - '((说是|名义上|表面上)", "mentions.countered.unless"),
    ("language.yaml", "unless_cues: [directed_by_us]", "unless_cues: [directed_by_them]",
     "mentions.countered.unless_cues[0]: unknown cue 'directed_by_them'"),
])
def test_a_wrong_retrieval_or_language_setting_names_file_and_field(policy_copy, file, old, new, where):
    _edit(policy_copy / file, old, new)
    err = _error(policy_copy)
    assert file in str(err) and where in str(err), str(err)


@pytest.mark.parametrize("value", ["0", "-5"])
def test_a_question_limit_below_ten_characters_names_file_and_field(policy_copy, value):
    """max_question_chars 0 or -5 loaded and then refused every question with a message naming neither."""
    _edit(policy_copy / "language.yaml", "max_question_chars: 2000", f"max_question_chars: {value}")
    err = _error(policy_copy)
    assert "language.yaml" in str(err) and "max_question_chars" in str(err)


def test_a_role_said_around_a_name_must_be_a_known_role(policy_copy):
    _edit(policy_copy / "parties.yaml", "role: describes}", "role: owner}")
    err = _error(policy_copy)
    assert "parties.yaml" in str(err) and "said_around" in str(err) and "role" in str(err)


@pytest.mark.parametrize("field, old", [("uncertain_category", "uncertain_category: institution_unclassified"),
                                        ("uncertain_organ_category", "uncertain_organ_category: organ_unsure"),
                                        ("person_category", "person_category: individual")])
def test_the_category_of_an_unsure_party_must_be_a_known_category(policy_copy, field, old):
    """A misspelt category for a party whose class the asker is unsure of loaded and then failed on the first such
    question (a KeyError in the gazetteer)."""
    _edit(policy_copy / "parties.yaml", old, old + "x")
    err = _error(policy_copy)
    assert "parties.yaml" in str(err) and f"roles.{field}" in str(err)


@pytest.mark.parametrize("field", ["attributes_before_role", "adverbs_before_role", "example_joins", "aside_after"])
def test_a_broken_single_pattern_of_the_role_reader_names_its_file_and_field(policy_copy, field):
    """The role reader's one-string patterns (the words passed over between a name and its role) are checked when the
    policy loads, like its pattern lists — a broken one named nothing until the first question reached it."""
    text = (policy_copy / "parties.yaml").read_text(encoding="utf-8")
    start = text.index(f"  {field}: '") + len(f"  {field}: '")
    _edit(policy_copy / "parties.yaml", text[start:start + 12], "((" + text[start:start + 12])
    err = _error(policy_copy)
    assert "parties.yaml" in str(err) and field in str(err)


def test_a_party_category_that_keeps_an_out_of_scope_reading_must_be_known(policy_copy):
    """frame.yaml's `out_of_scope_at_unless_parties` names parties.yaml categories: a misspelt one would silently never
    match, and the staff reading would decide beside the very party it was meant to leave to 第十八条's check."""
    _edit(policy_copy / "frame.yaml", "out_of_scope_at_unless_parties: [individual]", "out_of_scope_at_unless_parties: [person]")
    err = _error(policy_copy)
    assert "frame.yaml" in str(err) and "out_of_scope_at_unless_parties[0]" in str(err) and "'person'" in str(err)


def test_english_shorthand_must_map_words_to_words(policy_copy):
    _edit(policy_copy / "language.yaml", "english_shorthand: {thru: through,", "english_shorthand: {thru: ,")
    err = _error(policy_copy)
    assert "language.yaml" in str(err) and "english_shorthand" in str(err), str(err)


def test_a_concept_kind_of_the_general_test_must_be_known(policy_copy):
    _edit(policy_copy / "frame.yaml", "  manner_kinds: [mode]", "  manner_kinds: [manner]")
    err = _error(policy_copy)
    assert "frame.yaml" in str(err) and "manner_kinds" in str(err), str(err)


def test_a_placeholder_category_flag_must_be_true_or_false(policy_copy):
    """parties.yaml `placeholder` (a name that says it is a body but not which kind) is a flag: anything else names the
    file and the field."""
    _edit(policy_copy / "parties.yaml", "placeholder: true,", "placeholder: sometimes,")
    err = _error(policy_copy)
    assert "parties.yaml" in str(err) and "placeholder" in str(err), str(err)


def test_a_broken_english_rhetorical_pattern_names_its_file_and_field(policy_copy):
    """language.yaml's one-string English patterns (the denial, where its clause starts, a question opened by a
    negative) are compiled when the policy loads: a broken one names the file and the field."""
    _edit(policy_copy / "language.yaml", "english_rhetorical: '", "english_rhetorical: '((")
    err = _error(policy_copy)
    assert "language.yaml" in str(err) and "english_rhetorical" in str(err), str(err)


@pytest.mark.parametrize("file, old, new, where", [
    ("lexicon.yaml", "      - '(?<![a-z])(hire|hires|hiring|get|getting|find|finding|recruit",
     "      - '([a-z]+\\s?)+x(?<![a-z])(hire|hires|hiring|get|getting|find|finding|recruit", "patterns"),
    ("language.yaml", "    - '(要不要|需不需要|用不用", "    - '([^，]+)+。(要不要|需不需要|用不用", "mentions.step_patterns"),
])
def test_a_pattern_that_could_backtrack_catastrophically_names_file_and_field(policy_copy, file, old, new, where):
    """A repeat without a bound over a body that matches the same text several ways ((\\w+\\s?)+, ([^，]+)+) could hang
    `ask` on one long question: it is refused when the policy loads, naming the file and the field."""
    _edit(policy_copy / file, old, new)
    err = _error(policy_copy)
    assert file in str(err) and where in str(err) and "catastrophic backtracking" in str(err), str(err)
