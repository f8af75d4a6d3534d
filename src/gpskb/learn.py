"""Readers that learn from examples: one classifier per frame slot, trained on policy/examples.yaml.

The pattern is Rasa NLU's: examples as data (many per slot value, written as people talk), named featurisers, a
classifier, calibrated confidence, and a threshold below which the product asks instead of guessing.

- Featurisers: character 1–3-grams of the normalised question (TF-IDF; Chinese needs no segmenter for this, and
  characters carry most of the meaning of policy words) and the multilingual-e5 query vector that retrieval computes
  anyway (the embedder caches it: the classifier costs no second embedding). The vector is what lets an English or an
  unseen paraphrase land near the Chinese examples of the same value.
- Classifier: multinomial logistic regression (scikit-learn), probabilities calibrated by `CalibratedClassifierCV`
  (sigmoid, fitted on 3-fold held-out predictions; `ensemble=False`: one model per slot, ~4 ms for all three slots
  instead of ~10 ms with the fold ensemble): the probability a slot reports is the calibrated one, so the
  `decide_at` thresholds in policy/frame.yaml mean what they say.
- Trained by `gpskb index build` and stored in index/readers.npz (the fitted arrays, see SlotReaders); the manifest
  records the examples' hash, so changed examples make the index stale exactly like changed texts do.

This module never imports the rules or the facade; it sees text, vectors and the examples.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypedDict

import numpy as np

from .jsontypes import JSON
from .schema.frame import ExampleTexts
from .text import normalise

_WHITESPACE = re.compile(r"\s\s+")  # TfidfVectorizer's character analyser folds runs of white space
READERS_FILE = "readers.npz"
#: Bump when features or training change: indexes with other readers are then rebuilt.
READERS_FORMAT = 8
#: How much the e5 vector weighs against the TF-IDF block (both are L2-normalised per question), per slot. Chosen by
#: 5-fold cross-validation on policy/examples.yaml (2026-12-04): weight 4 lifted English `bought` from 0.74 to 0.83 and
#: `area` from 0.43 to 0.75 (all 0.65 → 0.80); the aspect reader keeps more of the character n-grams, which catch
#: plainly off-topic questions (股票能买吗) that the vector places near policy questions.
VECTOR_WEIGHTS = {"aspect": 2.0}
VECTOR_WEIGHT = 4.0  # every other slot


@dataclass(frozen=True)
class Prediction:
    """A slot's reading of one question: the best value, its calibrated probability, and every value's probability."""

    slot: str
    value: str
    confidence: float
    probabilities: dict[str, float]

    def p(self, value: str) -> float:
        return float(self.probabilities.get(value, 0.0))


def examples_hash(examples: ExampleTexts) -> str:
    """Hash of the training examples (slot → value → texts): part of the index manifest."""
    payload = json.dumps(examples, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


class SlotModel(TypedDict):
    """One slot's fitted classifier: its classes, the logistic regression's coef (k, d) and intercept (k,), and each
    class's sigmoid calibration a (k,), b (k,)."""

    classes: list[str]
    coef: np.ndarray
    intercept: np.ndarray
    a: np.ndarray
    b: np.ndarray


#: the arrays of a SlotModel, as stored in readers.npz
_ARRAYS: tuple[Literal["coef", "intercept", "a", "b"], ...] = ("coef", "intercept", "a", "b")

#: the query embedding of many texts (an embedder's `queries`): one row per text
Embed = Callable[[list[str]], np.ndarray]


class SlotReaders:
    """The trained slot classifiers, as the arrays their predictions need.

    Training is scikit-learn's (TfidfVectorizer, LogisticRegression, CalibratedClassifierCV). What is stored and used
    to read a question is what those fitted objects compute with: the character n-gram vocabulary and idf weights,
    each slot's coefficients and intercepts, and each class's sigmoid calibration (a, b). Importing scikit-learn costs
    ~0.9 s and ~125 MB in every process; reading a question with these arrays costs neither, and
    `tests/test_frame.py` checks on every build that the arrays give scikit-learn's own probabilities.
    """

    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray, ngram_range: tuple[int, int],
                 slots: dict[str, SlotModel], report: JSON):
        self.vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float64)
        lo, hi = ngram_range
        self.ngram_range = (lo, hi)
        self.slots = slots
        self.report = report
        # the examples' vectors of a fresh training (kept for the next build)
        self.vectors: dict[str, np.ndarray] | None = None
        # the scikit-learn objects of a fresh training, slot → (vectorizer, calibrated model), for the equivalence check
        self.fitted: dict[str, tuple[Any, Any]] | None = None

    @property
    def classes(self) -> dict[str, list[str]]:
        return {slot: list(m["classes"]) for slot, m in self.slots.items()}

    # -- features ----------------------------------------------------------------------------------------------

    def _chars(self, text: str) -> np.ndarray:
        """TF-IDF of the character n-grams of a normalised text, as TfidfVectorizer(analyzer="char",
        sublinear_tf=True, norm="l2") computes it."""
        text = _WHITESPACE.sub(" ", text)
        counts: dict[int, int] = {}
        lo, hi = self.ngram_range
        for n in range(lo, hi + 1):
            for i in range(len(text) - n + 1):
                j = self.vocabulary.get(text[i:i + n])
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
        x = np.zeros(len(self.idf))
        if counts:
            idx = np.fromiter(counts, dtype=np.int64)
            x[idx] = (1 + np.log(np.fromiter(counts.values(), dtype=np.float64))) * self.idf[idx]
            x /= np.linalg.norm(x) or 1.0
        return x

    def _features(self, chars: np.ndarray, vector: np.ndarray, slot: str) -> np.ndarray:
        return np.concatenate([chars, np.asarray(vector, dtype=np.float64).ravel() * VECTOR_WEIGHTS.get(slot, VECTOR_WEIGHT)])

    # -- training ----------------------------------------------------------------------------------------------

    @classmethod
    def train(cls, examples: ExampleTexts, embed: Embed, folds: int = 3, seed: int = 0,
              n_jobs: int | None = None) -> SlotReaders:
        """Train one calibrated classifier per slot. `examples`: slot → value → texts; `embed(texts)` → vectors
        (the query embedding of retrieval). `gpskb eval --folds K` reports the readers' cross-validated accuracy.
        `n_jobs`: processes for the calibration folds (default: every core; 1 for small trainings, where starting
        the worker processes costs more than it saves)."""
        from scipy import sparse
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        t0 = time.perf_counter()
        all_texts = sorted({t for values in examples.values() for texts in values.values() for t in texts})
        vectors = dict(zip(all_texts, embed(all_texts), strict=False))
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2,
                                     lowercase=False)
        vectorizer.fit([normalise(t) for t in all_texts])
        slots: dict[str, SlotModel] = {}
        fitted: dict[str, tuple[Any, Any]] = {}
        report: JSON = {"slots": {}}
        for slot, values in examples.items():
            texts = [t for v in values for t in values[v]]
            labels = [v for v in values for _ in values[v]]
            X = sparse.hstack([vectorizer.transform([normalise(t) for t in texts]),
                               sparse.csr_matrix(np.stack([vectors[t] for t in texts])
                                                 * VECTOR_WEIGHTS.get(slot, VECTOR_WEIGHT))],
                              format="csr")
            y = np.array(labels)
            base = LogisticRegression(C=10.0, max_iter=3000, class_weight="balanced")
            k = max(2, min(folds, min(np.unique(y, return_counts=True)[1])))
            cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
            # ensemble=False: one model on all examples, its sigmoid calibration fitted on held-out fold predictions
            model = CalibratedClassifierCV(base, method="sigmoid", cv=cv, ensemble=False,
                                           n_jobs=n_jobs or os.cpu_count())
            model.fit(X, y)
            cc = model.calibrated_classifiers_[0]
            est = cc.estimator
            order = [list(est.classes_).index(c) for c in model.classes_]
            slots[slot] = SlotModel(classes=[str(c) for c in model.classes_],
                                    coef=est.coef_[order], intercept=est.intercept_[order],
                                    a=np.array([cc.calibrators[i].a_ for i in order]),
                                    b=np.array([cc.calibrators[i].b_ for i in order]))
            fitted[slot] = (vectorizer, model)
            report["slots"][slot] = {"examples": len(texts), "values": {v: len(values[v]) for v in values},
                                     "calibration_folds": k}
        report["train_seconds"] = round(time.perf_counter() - t0, 3)
        readers = cls(dict(vectorizer.vocabulary_), vectorizer.idf_, vectorizer.ngram_range, slots, report)
        readers.vectors, readers.fitted = vectors, fitted
        return readers

    # -- reading -----------------------------------------------------------------------------------------------

    def probabilities(self, text: str, vector: np.ndarray) -> dict[str, np.ndarray]:
        """Each slot's calibrated probabilities for a normalised text (in the order of `classes`): the decision
        function of the logistic regression, each class's sigmoid calibration, normalised (CalibratedClassifierCV's
        one-vs-rest calibration for more than two classes)."""
        chars = self._chars(text)
        out: dict[str, np.ndarray] = {}
        for slot, m in self.slots.items():
            f = m["coef"] @ self._features(chars, vector, slot) + m["intercept"]
            p = 1.0 / (1.0 + np.exp(m["a"] * f + m["b"]))
            total = p.sum()
            out[slot] = p / total if total > 0 else np.full(len(p), 1.0 / len(p))
        return out

    def predict(self, text: str, vector: np.ndarray) -> dict[str, Prediction]:
        """Every slot's prediction for one question (its query vector from the index's embedder)."""
        out: dict[str, Prediction] = {}
        for slot, probs in self.probabilities(text, vector).items():
            classes = self.slots[slot]["classes"]
            best = int(np.argmax(probs))
            out[slot] = Prediction(slot, classes[best], round(float(probs[best]), 4),
                                   {c: round(float(p), 4) for c, p in zip(classes, probs, strict=False)})
        return out

    # -- storing -----------------------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """The arrays as a compressed .npz (no pickle: loading runs no code)."""
        arrays = {"idf": self.idf, "vocab_terms": np.array(list(self.vocabulary)),
                  "vocab_index": np.array(list(self.vocabulary.values()), dtype=np.int64),
                  "meta": np.array(json.dumps({"format": READERS_FORMAT, "ngram_range": list(self.ngram_range),
                                               "slots": {s: m["classes"] for s, m in self.slots.items()},
                                               "report": self.report}, ensure_ascii=False))}
        for slot, m in self.slots.items():
            for key in _ARRAYS:
                arrays[f"{slot}.{key}"] = np.asarray(m[key], dtype=np.float64)
        with open(path, "wb") as fh:
            np.savez_compressed(fh, allow_pickle=False, **arrays)

    @classmethod
    def load(cls, path: Path) -> SlotReaders:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format") != READERS_FORMAT:
                raise ValueError(f"readers format {meta.get('format')}, expected {READERS_FORMAT}")
            vocabulary = dict(zip((str(t) for t in data["vocab_terms"]), (int(i) for i in data["vocab_index"]), strict=False))
            slots = {s: SlotModel(classes=classes, coef=data[f"{s}.coef"], intercept=data[f"{s}.intercept"],
                                  a=data[f"{s}.a"], b=data[f"{s}.b"])
                     for s, classes in meta["slots"].items()}
            return cls(vocabulary, data["idf"], tuple(meta["ngram_range"]), slots, meta["report"])
