"""The triage classifier: which intent (or ticket type) a text is about, and how sure.

Features are the frozen all-MiniLM-L6-v2 sentence embedding joined with TF-IDF n-grams
fitted on the training texts (2,000 terms per block, weight 0.5), or the TF-IDF n-grams
alone (5,000 per block) without the ``ml`` extra; the head is a multinomial logistic
regression. Chosen by measurement on BANKING77 (docs/benchmarks.md, "Support triage"): 93.8 % with
the full training set and 85.4 % with 10 examples per intent; the n-grams add 0.8 points
to the embedding alone on the full data, nearest-centroid heads lose 5-8 points, and
fine-tuning the encoder would make each project's model ~90 MB and its training minutes
instead of seconds.

Training uses scikit-learn; prediction needs only the stored arrays (numpy, a scipy
sparse product for the n-grams) and the shared encoder. A model is stored as an ``.npz``
archive of plain arrays plus a JSON header, read back with ``allow_pickle=False``: the
bytes live in the app database and must never be able to run code when loaded.
"""

from __future__ import annotations

import io
import json
import math
import warnings
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from loopwise.support.triage.encoders import (
    ENCODER_NAMES,
    MAX_FEATURES,
    MINILM_DIM,
    MiniLMEncoder,
    TfidfEncoder,
    default_encoder_name,
)

FORMAT = "loopwise.triage.intent-classifier"
VERSION = 1
# Inverse regularisation, picked on held-out rows of the BANKING77 *training* split (never
# the test split): 30 was best or tied for the full data and for 10 examples per intent.
C = 30.0
# Weight of the TF-IDF block next to the embedding (0.5 beat 1.0 on the same validation),
# and its terms per block: 2,000 scored as 5,000 or all, at a third of the training time.
LEXICAL_WEIGHT = 0.5
LEXICAL_FEATURES = 2000
MAX_ITER = 1000
TOP = 3


@dataclass(frozen=True)
class Prediction:
    """The most likely label, its probability, and the top three with theirs."""

    label: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class ClassScore:
    """How one label fared on held-out texts (``support`` = how many truly had it)."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    """Scores on held-out texts; ``n == 0`` means nothing was held out (scores are 0)."""

    accuracy: float
    macro_f1: float
    per_class: tuple[ClassScore, ...]
    n: int


class HoldoutSplit(NamedTuple):
    train_texts: list[str]
    train_labels: list[str]
    test_texts: list[str]
    test_labels: list[str]


class IntentClassifier:
    """A trained model: labels, the lexical vocabulary, and a linear head over features."""

    def __init__(
        self,
        encoder_name: str,
        labels: Sequence[str],
        tfidf: TfidfEncoder | None,
        coef: NDArray[np.float32],
        intercept: NDArray[np.float32],
    ) -> None:
        if encoder_name not in ENCODER_NAMES:
            raise ValueError(f"unknown encoder {encoder_name!r}: expected one of {ENCODER_NAMES}")
        self.encoder_name = encoder_name
        self.labels = tuple(labels)
        self.tfidf = tfidf
        self.coef = coef
        self.intercept = intercept
        # The two blocks of the head, transposed once for the per-ticket products.
        cut = MINILM_DIM if encoder_name == "minilm" else 0
        self._dense_t = np.ascontiguousarray(coef[:, :cut].T)
        self._lexical_t = np.ascontiguousarray(coef[:, cut:].T)

    @property
    def _dense_dim(self) -> int:
        return MINILM_DIM if self.encoder_name == "minilm" else 0

    # -- training ---------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        encoder_name: str | None = None,
        seed: int = 0,
    ) -> IntentClassifier:
        """Fit on labelled texts. Deterministic: the same texts, labels and seed give the
        same model (lbfgs has no randomness; ``seed`` is passed on for solvers that do)."""
        _check_labelled(texts, labels, "training")
        name = encoder_name or default_encoder_name()
        if name not in ENCODER_NAMES:
            raise ValueError(f"unknown encoder {name!r}: expected one of {ENCODER_NAMES}")
        classes = sorted(set(labels))
        if len(classes) == 1:  # nothing to tell apart: always this label, fully sure
            empty = np.zeros((1, 0), dtype=np.float32)
            return cls(name, classes, None, empty, np.zeros(1, dtype=np.float32))
        width = LEXICAL_FEATURES if name == "minilm" else MAX_FEATURES
        tfidf = TfidfEncoder.fit(texts, max_features=width)
        features = _features(name, tfidf, texts)
        from sklearn.exceptions import ConvergenceWarning  # type: ignore[import-untyped]
        from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        model = LogisticRegression(C=C, max_iter=MAX_ITER, random_state=seed)
        # One BLAS thread: as fast here as two (the work is sparse products), and a web
        # server on the same cores keeps answering while a model trains.
        with threadpool_limits(1), warnings.catch_warnings():
            # Not converging within MAX_ITER still leaves a usable model; do not fail on it.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(features, list(labels))
        coef = np.asarray(model.coef_, dtype=np.float64)
        intercept = np.asarray(model.intercept_, dtype=np.float64)
        if len(classes) == 2:  # sklearn keeps one logit for two classes; softmax wants two
            coef = np.vstack([-coef[0], coef[0]]) / 2
            intercept = np.array([-intercept[0], intercept[0]]) / 2
        fitted = [str(label) for label in model.classes_]
        return cls(name, fitted, tfidf, coef.astype(np.float32), intercept.astype(np.float32))

    # -- prediction -------------------------------------------------------------------------

    def probabilities(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """One row per text, one column per label (``self.labels``), rows sum to 1."""
        if len(self.labels) == 1:
            return np.ones((len(texts), 1), dtype=np.float64)
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float64)
        assert self.tfidf is not None
        # The training features' product, block by block (no joined matrix per ticket).
        scores = np.asarray(self.tfidf.encode_sparse(texts) @ self._lexical_t, dtype=np.float64)
        if self.encoder_name == "minilm":
            scores *= LEXICAL_WEIGHT
            scores += MiniLMEncoder().encode(texts) @ self._dense_t
            scores /= math.sqrt(1 + LEXICAL_WEIGHT**2)
        scores += self.intercept
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float64)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        found = []
        for row in self.probabilities(texts):
            order = np.argsort(-row, kind="stable")[:TOP]
            ranking = tuple((self.labels[i], min(1.0, float(row[i]))) for i in order)
            found.append(Prediction(ranking[0][0], ranking[0][1], ranking))
        return found

    # -- storage ----------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """An ``.npz`` archive: a JSON header (as bytes) and float arrays; no pickle."""
        header: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "encoder": self.encoder_name,
            "labels": list(self.labels),
            "tfidf": None,
        }
        arrays: dict[str, Any] = {"coef": self.coef, "intercept": self.intercept}
        if self.tfidf is not None:
            header["tfidf"], idf = self.tfidf.state()
            arrays.update(idf)
        encoded = json.dumps(header, ensure_ascii=False).encode()
        arrays["header"] = np.frombuffer(encoded, dtype=np.uint8)
        out = io.BytesIO()
        np.savez_compressed(out, **arrays)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> IntentClassifier:
        """Read ``to_bytes`` output; a ValueError for anything else, never code execution."""
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
            header = json.loads(arrays.pop("header").tobytes().decode())
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            raise ValueError(f"not a stored triage model: {exc}") from exc
        if header.get("format") != FORMAT or header.get("version") != VERSION:
            raise ValueError(
                f"not a triage model this version reads: {header.get('format')} "
                f"v{header.get('version')}"
            )
        tfidf = TfidfEncoder.from_state(header["tfidf"], arrays) if header["tfidf"] else None
        made = cls(
            str(header["encoder"]),
            [str(label) for label in header["labels"]],
            tfidf,
            np.asarray(arrays["coef"], dtype=np.float32),
            np.asarray(arrays["intercept"], dtype=np.float32),
        )
        made._check_shapes()
        return made

    def _check_shapes(self) -> None:
        classes = len(self.labels)
        if classes == 1:
            return
        width = self._dense_dim + (self.tfidf.dim if self.tfidf is not None else 0)
        if self.tfidf is None or self.coef.shape != (classes, width):
            raise ValueError(f"stored coefficients {self.coef.shape} do not fit {classes} labels")
        if self.intercept.shape != (classes,):
            raise ValueError(f"stored intercepts {self.intercept.shape} for {classes} labels")


def _features(encoder_name: str, tfidf: TfidfEncoder, texts: Sequence[str]) -> Any:
    """The rows the head reads (sparse): the TF-IDF n-grams alone, or
    [embedding, w * n-grams] / sqrt(1 + w^2), which keeps every row at unit length."""
    from scipy import sparse  # type: ignore[import-untyped]

    lexical = tfidf.encode_sparse(texts)
    if encoder_name == "tfidf":
        return lexical
    dense = sparse.csr_matrix(MiniLMEncoder().encode(texts))
    joined = sparse.hstack([dense, lexical * LEXICAL_WEIGHT]).tocsr()
    return joined / math.sqrt(1 + LEXICAL_WEIGHT**2)


def _check_labelled(texts: Sequence[str], labels: Sequence[str], purpose: str) -> None:
    if len(texts) == 0:
        raise ValueError(f"{purpose} needs at least one text; got none")
    if len(texts) != len(labels):
        raise ValueError(
            f"{purpose} needs one label per text: {len(texts)} texts, {len(labels)} labels"
        )
    if any(not label for label in labels):
        raise ValueError(f"{purpose} labels must be non-empty strings")


def holdout_split(
    texts: Sequence[str], labels: Sequence[str], test_share: float = 0.2, seed: int = 0
) -> HoldoutSplit:
    """A stratified split: each label with >= 2 examples gives ``test_share`` of them (at
    least one, never all) to the test side; a label seen once stays in training, where it
    can at least be learnt. Both sides keep the input order."""
    _check_labelled(texts, labels, "a holdout split")
    if not 0 < test_share < 1:
        raise ValueError(f"test_share must be between 0 and 1, got {test_share}")
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    held: set[int] = set()
    for label in sorted(by_label):
        members = by_label[label]
        if len(members) < 2:
            continue
        count = min(len(members) - 1, max(1, round(len(members) * test_share)))
        held.update(int(i) for i in rng.permutation(members)[:count])
    train = [i for i in range(len(texts)) if i not in held]
    test = sorted(held)
    return HoldoutSplit(
        [texts[i] for i in train],
        [labels[i] for i in train],
        [texts[i] for i in test],
        [labels[i] for i in test],
    )


def evaluate(clf: IntentClassifier, texts: Sequence[str], labels: Sequence[str]) -> Evaluation:
    """Accuracy, macro-F1 and per-label precision/recall on held-out texts.

    Labels are those seen as truth or as prediction (scikit-learn's convention for the
    macro average); a label never predicted has precision 0, never true has recall 0.
    """
    if len(texts) != len(labels):
        raise ValueError(f"evaluation needs one label per text: {len(texts)} vs {len(labels)}")
    if not texts:
        return Evaluation(0.0, 0.0, (), 0)
    predicted = [p.label for p in clf.predict(texts)]
    return score(labels, predicted)


def score(truth: Sequence[str], predicted: Sequence[str]) -> Evaluation:
    """The scores of ``predicted`` against ``truth`` (the part of ``evaluate`` after
    prediction, for callers that already hold predictions)."""
    right = Counter(t for t, p in zip(truth, predicted, strict=True) if t == p)
    said, true = Counter(predicted), Counter(truth)
    per_class = []
    for label in sorted(set(true) | set(said)):
        precision = right[label] / said[label] if said[label] else 0.0
        recall = right[label] / true[label] if true[label] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append(ClassScore(label, precision, recall, f1, true[label]))
    macro_f1 = sum(c.f1 for c in per_class) / len(per_class) if per_class else 0.0
    accuracy = sum(right.values()) / len(truth) if truth else 0.0
    return Evaluation(accuracy, macro_f1, tuple(per_class), len(truth))
