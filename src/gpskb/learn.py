"""Readers that learn from examples: one classifier per frame slot, trained on policy/examples.yaml.

The pattern is Rasa NLU's: examples as data (many per slot value, written as people talk), named featurisers, a
classifier, calibrated confidence, and a threshold below which the product asks instead of guessing.

- Featurisers: character 1–3-grams of the normalised question (TF-IDF; Chinese needs no segmenter for this, and
  characters carry most of the meaning of policy words) and the multilingual-e5 query vector that retrieval computes
  anyway (the embedder caches it: the classifier costs no second embedding). The vector is what lets an English or an
  unseen paraphrase land near the Chinese examples of the same value.
- Classifier: multinomial logistic regression (scikit-learn), probabilities calibrated by `CalibratedClassifierCV`
  (sigmoid, 3 folds): the probability a slot reports is the calibrated one, so `decide_at` thresholds in
  policy/frame.yaml mean what they say.
- Trained by `gpskb index build` and stored in index/readers.joblib; the manifest records the examples' hash, so
  changed examples make the index stale exactly like changed texts do.

This module never imports the rules or the facade; it sees text, vectors and the examples.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from .text import normalise

READERS_FILE = "readers.joblib"
#: Bump when features or training change: indexes with other readers are then rebuilt.
READERS_FORMAT = 2
#: How much the e5 vector weighs against the TF-IDF block (both are L2-normalised per question).
VECTOR_WEIGHT = 1.0


@dataclass(frozen=True)
class Prediction:
    """A slot's reading of one question: the best value, its calibrated probability, and every value's probability."""

    slot: str
    value: str
    confidence: float
    probabilities: dict

    def p(self, value: str) -> float:
        return float(self.probabilities.get(value, 0.0))


def examples_hash(examples: dict) -> str:
    """Hash of the training examples (slot → value → texts): part of the index manifest."""
    payload = json.dumps(examples, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


class SlotReaders:
    """The trained classifiers, one per slot, sharing a character featuriser fitted on all examples."""

    def __init__(self, vectorizer, models: dict, classes: dict, report: dict):
        self.vectorizer = vectorizer
        self.models = models
        self.classes = classes
        self.report = report
        self.vectors: dict | None = None  # the examples' vectors of a fresh training (kept for the next build)

    # -- features ----------------------------------------------------------------------------------------------

    def _features(self, texts: list[str], vectors: np.ndarray):
        chars = self.vectorizer.transform([normalise(t) for t in texts])
        dense = sparse.csr_matrix(np.asarray(vectors, dtype=np.float32) * VECTOR_WEIGHT)
        return sparse.hstack([chars, dense], format="csr")

    # -- training ----------------------------------------------------------------------------------------------

    @classmethod
    def train(cls, examples: dict, embed, folds: int = 3, seed: int = 0) -> "SlotReaders":
        """Train one calibrated classifier per slot. `examples`: slot → value → texts; `embed(texts)` → vectors
        (the query embedding of retrieval). `gpskb eval --folds K` reports the readers' cross-validated accuracy."""
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        t0 = time.perf_counter()
        all_texts = sorted({t for values in examples.values() for texts in values.values() for t in texts})
        vectors = dict(zip(all_texts, embed(all_texts)))
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
        vectorizer.fit([normalise(t) for t in all_texts])
        readers = cls(vectorizer, {}, {}, {"slots": {}})
        for slot, values in examples.items():
            texts = [t for v in values for t in values[v]]
            labels = [v for v in values for _ in values[v]]
            X = readers._features(texts, np.stack([vectors[t] for t in texts]))
            y = np.array(labels)
            base = LogisticRegression(C=10.0, max_iter=3000, class_weight="balanced")
            k = max(2, min(folds, min(np.unique(y, return_counts=True)[1])))
            cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
            model = CalibratedClassifierCV(base, method="sigmoid", cv=cv)
            model.fit(X, y)
            readers.models[slot] = model
            readers.classes[slot] = [str(c) for c in model.classes_]
            readers.report["slots"][slot] = {
                "examples": len(texts),
                "values": {v: len(values[v]) for v in values},
                "calibration_folds": k,
            }
        readers.report["train_seconds"] = round(time.perf_counter() - t0, 3)
        return readers

    # -- reading -----------------------------------------------------------------------------------------------

    def predict(self, text: str, vector: np.ndarray) -> dict[str, Prediction]:
        """Every slot's prediction for one question (its query vector from the index's embedder)."""
        X = self._features([text], np.asarray(vector).reshape(1, -1))
        out = {}
        for slot, model in self.models.items():
            probs = model.predict_proba(X)[0]
            classes = self.classes[slot]
            best = int(np.argmax(probs))
            out[slot] = Prediction(slot, classes[best], round(float(probs[best]), 4),
                                   {c: round(float(p), 4) for c, p in zip(classes, probs)})
        return out

    # -- storing -----------------------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        import joblib

        joblib.dump({"format": READERS_FORMAT, "vectorizer": self.vectorizer, "models": self.models,
                     "classes": self.classes, "report": self.report}, path, compress=3)

    @classmethod
    def load(cls, path: Path) -> "SlotReaders":
        """Readers from index/ (a trusted build artifact of this project, checked by the manifest before loading)."""
        import joblib

        data = joblib.load(path)
        if not isinstance(data, dict) or data.get("format") != READERS_FORMAT:
            raise ValueError(f"readers format {data.get('format') if isinstance(data, dict) else '?'}, "
                             f"expected {READERS_FORMAT}")
        return cls(data["vectorizer"], data["models"], data["classes"], data["report"])
