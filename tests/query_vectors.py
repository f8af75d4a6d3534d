"""Query vectors of the questions the suite answers, computed once and kept in tests/fixtures/query-vectors/.

Most of the suite's time went into the embedder: every evaluation file (about 5,000 questions with a floor each) and
every YAML rule case is answered, ~50 ms of the 2-core machine each for the vector alone. The vectors are the
embedder's own output for those exact texts (float32, as `query` returns them), so an answer built on a stored vector
is the answer the product gives; `test_index.py` checks a sample against a fresh embedding, and the shards carry the
embedder's id and version — a shard of another embedder is ignored, and a text no shard holds is embedded as usual.

One shard per source file (eval/blind44-questions.yaml -> eval__blind44-questions.npz): a frozen evaluation file's
shard is never rewritten, so the repository grows by one small file per new question file. After adding or editing
question files or rule cases, refresh the shards (only the changed ones are written):

    .venv/bin/python tests/query_vectors.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARDS = ROOT / "tests" / "fixtures" / "query-vectors"


def tag(embedder) -> str:
    return f"{embedder.id} {embedder.version}"


def load(embedder, directory: Path = SHARDS) -> dict[str, np.ndarray]:
    """Every stored vector of this embedder, by the exact text given to `query`."""
    known: dict[str, np.ndarray] = {}
    for path in sorted(directory.glob("*.npz")):
        with np.load(path, allow_pickle=False) as z:
            if str(z["embedder"]) != tag(embedder):
                continue
            vectors = z["vectors"].astype(np.float32)
            for text, v in zip(z["texts"].tolist(), vectors, strict=True):
                v.setflags(write=False)
                known[text] = v
    return known


def use_stored(embedder, known: dict[str, np.ndarray]) -> None:
    """Answer `embedder.query` from `known` first; the embedder's own (cached) query stays behind it as `computed`."""
    computed = embedder.query

    def query(text: str) -> np.ndarray:
        v = known.get(text)
        return v if v is not None else computed(text)

    query.computed = computed  # type: ignore[attr-defined]
    embedder.query = query


def _sources() -> dict[str, list[str]]:
    """The questions of each evaluation file and each rule-case file, by source path."""
    out: dict[str, list[str]] = {}
    for f in sorted((ROOT / "eval").glob("*-questions.yaml")):
        out[f"eval/{f.name}"] = [q["q"] for q in yaml.safe_load(f.read_text(encoding="utf-8")) or [] if q.get("q")]
    for f in sorted((ROOT / "tests" / "rule_cases").glob("*.yaml")):
        cases = yaml.safe_load(f.read_text(encoding="utf-8")) or []
        out[f"tests/rule_cases/{f.name}"] = [c["question"] for c in cases if isinstance(c, dict) and c.get("question")]
    return out


def query_text(engine, question: str) -> str | None:
    """`Engine.query_text`: the text the engine embeds for a question; None for a question it refuses (empty, too long)."""
    from gpskb.errors import InputError

    try:
        return engine.query_text(question)
    except InputError:
        return None


def refresh() -> None:
    """Write the shard of every source whose texts are not exactly the ones stored (new or edited questions)."""
    from gpskb import policy
    from gpskb.answer import Engine
    from gpskb.index import Index

    kb = policy.load(ROOT / "policy")
    index = Index.load(kb, ROOT / "index")
    engine = Engine(kb, index=index)
    embedder = index.embedder
    SHARDS.mkdir(parents=True, exist_ok=True)
    for source, questions in _sources().items():
        path = SHARDS / (source.replace("/", "__").removesuffix(".yaml") + ".npz")
        texts = sorted({t for t in (query_text(engine, q) for q in questions) if t})
        if not texts:
            continue  # facts-only rule cases: nothing is embedded
        if path.exists():
            with np.load(path, allow_pickle=False) as z:
                if str(z["embedder"]) == tag(embedder) and z["texts"].tolist() == texts:
                    continue  # unchanged: a frozen file's shard is never rewritten
        vectors = np.stack([embedder.query(t) for t in texts]).astype(np.float32)
        np.savez_compressed(path, texts=np.array(texts), vectors=vectors, embedder=np.array(tag(embedder)))
        print(f"wrote {path.relative_to(ROOT)} ({len(texts)} vectors)")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    refresh()
