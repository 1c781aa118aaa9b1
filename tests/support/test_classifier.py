"""The triage classifier and its encoders: learning, storage, evaluation, edge cases.

Every behaviour runs with the TF-IDF encoder, and with MiniLM where the ``ml`` extra is
installed and not switched off (``LOOPWISE_TRIAGE_ENCODER=tfidf`` runs the file as a
machine without the extra would).
"""

from __future__ import annotations

import io
import math
import pickle

import numpy as np
import pytest

from loopwise.support.triage.classifier import (
    IntentClassifier,
    evaluate,
    holdout_split,
    score,
)
from loopwise.support.triage.encoders import (
    ENCODER_ENV,
    MiniLMEncoder,
    TfidfEncoder,
    default_encoder_name,
)

ENCODERS = ["tfidf"] + (["minilm"] if default_encoder_name() == "minilm" else [])

TRAINING = {
    "card_arrival": [
        "my new card has not arrived yet",
        "when will my card be delivered",
        "I am still waiting for my card to arrive",
        "the card you sent me never came in the post",
        "how long does card delivery take",
        "where is my card, it should be here by now",
    ],
    "refund": [
        "I want a refund for my last order",
        "please give me my money back",
        "how do I get refunded for a purchase",
        "can you refund the amount you charged me",
        "I returned the item, where is my refund",
        "requesting a refund for the subscription",
    ],
    "password_reset": [
        "I forgot my password",
        "how do I reset my password",
        "the password reset email never arrives",
        "I can't log in, my password is not accepted",
        "change my login password please",
        "locked out after too many wrong passwords",
    ],
    "cancel_subscription": [
        "cancel my subscription",
        "I want to stop my plan",
        "how do I end my membership",
        "please close my subscription before the next billing",
        "stop renewing my subscription",
        "I no longer want the premium plan, cancel it",
    ],
}
HELD_OUT = [
    ("still no sign of my card in the mail", "card_arrival"),
    ("has my card been delivered yet", "card_arrival"),
    ("refund the money for my order please", "refund"),
    ("I would like my money back for this purchase", "refund"),
    ("forgot the password for my login", "password_reset"),
    ("reset password link please", "password_reset"),
    ("please cancel my premium subscription", "cancel_subscription"),
    ("stop my membership plan", "cancel_subscription"),
]


def _examples() -> tuple[list[str], list[str]]:
    texts = [text for examples in TRAINING.values() for text in examples]
    labels = [label for label, examples in TRAINING.items() for _ in examples]
    return texts, labels


_TRAINED: dict[str, IntentClassifier] = {}


def trained(encoder: str) -> IntentClassifier:
    """One model per encoder for the whole file (training MiniLM's features costs a load)."""
    if encoder not in _TRAINED:
        texts, labels = _examples()
        _TRAINED[encoder] = IntentClassifier.train(texts, labels, encoder_name=encoder)
    return _TRAINED[encoder]


@pytest.mark.parametrize("encoder", ENCODERS)
def test_classifier_labels_paraphrases_it_never_saw(encoder: str) -> None:
    clf = trained(encoder)
    found = clf.predict([text for text, _ in HELD_OUT])
    assert [p.label for p in found] == [label for _, label in HELD_OUT]
    for prediction in found:
        assert 0 < prediction.confidence <= 1
        assert len(prediction.ranking) == 3
        assert prediction.ranking[0] == (prediction.label, prediction.confidence)
        probabilities = [p for _, p in prediction.ranking]
        assert probabilities == sorted(probabilities, reverse=True)
        assert sum(probabilities) <= 1 + 1e-9


@pytest.mark.parametrize("encoder", ENCODERS)
def test_bytes_round_trip_gives_identical_predictions(encoder: str) -> None:
    clf = trained(encoder)
    loaded = IntentClassifier.from_bytes(clf.to_bytes())
    texts = [text for text, _ in HELD_OUT] + ["something else entirely", ""]
    assert loaded.encoder_name == encoder
    assert loaded.labels == clf.labels
    assert np.array_equal(loaded.probabilities(texts), clf.probabilities(texts))
    assert loaded.predict(texts) == clf.predict(texts)


@pytest.mark.parametrize("encoder", ENCODERS)
def test_training_is_deterministic(encoder: str) -> None:
    texts, labels = _examples()
    again = IntentClassifier.train(texts, labels, encoder_name=encoder, seed=0)
    assert again.to_bytes() == trained(encoder).to_bytes()


def test_stored_model_is_plain_arrays_without_pickle() -> None:
    blob = trained("tfidf").to_bytes()
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        assert all(archive[key].dtype != object for key in archive.files)


def test_loading_refuses_pickles_and_foreign_archives() -> None:
    with pytest.raises(ValueError, match="not a stored triage model"):
        IntentClassifier.from_bytes(pickle.dumps({"coef": [1.0]}))
    objects = io.BytesIO()
    np.savez(objects, header=np.array([{"format": "x"}], dtype=object))
    with pytest.raises(ValueError, match="not a stored triage model"):
        IntentClassifier.from_bytes(objects.getvalue())
    foreign = io.BytesIO()
    header = np.frombuffer(b'{"format": "other", "version": 1}', dtype=np.uint8)
    np.savez(foreign, header=header)
    with pytest.raises(ValueError, match="not a triage model this version reads"):
        IntentClassifier.from_bytes(foreign.getvalue())


@pytest.mark.parametrize("encoder", ENCODERS)
def test_a_single_label_is_predicted_with_full_confidence(encoder: str) -> None:
    clf = IntentClassifier.train(["hello", "hi there"], ["greeting"] * 2, encoder_name=encoder)
    loaded = IntentClassifier.from_bytes(clf.to_bytes())
    for model in (clf, loaded):
        [found] = model.predict(["what is my balance"])
        assert (found.label, found.confidence, found.ranking) == (
            "greeting",
            1.0,
            (("greeting", 1.0),),
        )


@pytest.mark.parametrize("encoder", ENCODERS)
def test_two_labels_with_one_example_each_are_told_apart(encoder: str) -> None:
    clf = IntentClassifier.train(
        ["refund my order please", "reset my password please"],
        ["refund", "password"],
        encoder_name=encoder,
    )
    found = clf.predict(["I need a refund for the order", "password reset"])
    assert [p.label for p in found] == ["refund", "password"]
    assert all(len(p.ranking) == 2 for p in found)
    assert all(math.isclose(sum(s for _, s in p.ranking), 1.0) for p in found)


def test_a_label_seen_once_among_others_still_trains() -> None:
    texts, labels = _examples()
    clf = IntentClassifier.train(
        [*texts, "my statement shows a foreign exchange fee"],
        [*labels, "exchange_fee"],
        encoder_name="tfidf",
    )
    assert "exchange_fee" in clf.labels
    assert clf.predict(["why was there a foreign exchange fee on my statement"])[0].label == (
        "exchange_fee"
    )


def test_empty_or_mismatched_training_input_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="at least one text"):
        IntentClassifier.train([], [], encoder_name="tfidf")
    with pytest.raises(ValueError, match="one label per text: 2 texts, 1 labels"):
        IntentClassifier.train(["a", "b"], ["x"], encoder_name="tfidf")
    with pytest.raises(ValueError, match="non-empty"):
        IntentClassifier.train(["a", "b"], ["x", ""], encoder_name="tfidf")
    with pytest.raises(ValueError, match="unknown encoder 'bert'"):
        IntentClassifier.train(["a"], ["x"], encoder_name="bert")
    assert trained("tfidf").predict([]) == []


def test_evaluate_counts_precision_and_recall_by_hand() -> None:
    # A one-label model always says "a": truth a, a, b -> a: 2 right of 3 said, 2 of 2 found.
    always_a = IntentClassifier.train(["x", "y"], ["a", "a"], encoder_name="tfidf")
    result = evaluate(always_a, ["p", "q", "r"], ["a", "a", "b"])
    assert result.n == 3
    assert result.accuracy == pytest.approx(2 / 3)
    [a, b] = result.per_class
    assert (a.label, a.precision, a.recall, a.support) == ("a", pytest.approx(2 / 3), 1.0, 2)
    assert (b.label, b.precision, b.recall, b.support) == ("b", 0.0, 0.0, 1)
    assert a.f1 == pytest.approx(0.8)  # 2 * (2/3 * 1) / (2/3 + 1)
    assert result.macro_f1 == pytest.approx(0.4)


def test_scores_include_labels_only_ever_predicted() -> None:
    result = score(["a", "a", "b", "b", "c"], ["a", "b", "b", "b", "d"])
    by_label = {c.label: c for c in result.per_class}
    assert sorted(by_label) == ["a", "b", "c", "d"]
    assert (by_label["a"].precision, by_label["a"].recall) == (1.0, 0.5)
    assert (by_label["b"].precision, by_label["b"].recall) == (pytest.approx(2 / 3), 1.0)
    assert (by_label["c"].precision, by_label["c"].recall, by_label["c"].support) == (0, 0, 1)
    assert (by_label["d"].precision, by_label["d"].recall, by_label["d"].support) == (0, 0, 0)
    assert result.accuracy == pytest.approx(3 / 5)
    assert result.macro_f1 == pytest.approx((2 / 3 + 0.8 + 0 + 0) / 4)


def test_evaluating_nothing_reports_zero_held_out() -> None:
    assert evaluate(trained("tfidf"), [], []).n == 0


def test_holdout_split_is_stratified_and_keeps_single_examples_for_training() -> None:
    texts = [f"t{i}" for i in range(21)]
    labels = ["a"] * 10 + ["b"] * 5 + ["c"] * 2 + ["d"] + ["e"] * 3
    split = holdout_split(texts, labels, test_share=0.2, seed=3)
    assert sorted(split.test_labels) == ["a", "a", "b", "c", "e"]
    assert "d" in split.train_labels
    assert sorted(split.train_texts + split.test_texts) == sorted(texts)
    assert holdout_split(texts, labels, test_share=0.2, seed=3) == split
    assert holdout_split(texts, labels, test_share=0.2, seed=4) != split
    with pytest.raises(ValueError, match="test_share"):
        holdout_split(texts, labels, test_share=1.0)


def test_tfidf_weights_follow_the_smoothed_idf_and_survive_storage() -> None:
    corpus = ["card card arrived", "card lost", "refund please"]
    encoder = TfidfEncoder.fit(corpus)
    row = encoder.encode(["card card arrived"])[0]
    assert np.linalg.norm(row) == pytest.approx(1.0, abs=1e-6)
    header, arrays = encoder.state()
    words = header["words"]["terms"]
    idf = dict(zip(words, arrays["idf_words"], strict=True))
    # "card" is in 2 of 3 texts, "refund" in 1: ln((1 + n) / (1 + df)) + 1
    assert idf["card"] == pytest.approx(math.log(4 / 3) + 1)
    assert idf["refund"] == pytest.approx(math.log(4 / 2) + 1)
    restored = TfidfEncoder.from_state(header, arrays)
    probe = ["card arrived late", "a refund please", "zzz"]
    assert restored.dim == encoder.dim
    assert np.array_equal(restored.encode(probe), encoder.encode(probe))
    assert not np.any(restored.encode(["zzz qqq"]))  # unseen text: a zero row, not NaN


def test_tfidf_rows_match_scikit_learn_vectorizers_joined_and_normalised() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts, _ = _examples()
    probe = [text for text, _ in HELD_OUT] + ["", "!!!"]
    parts = []
    for options in ({"ngram_range": (1, 2)}, {"analyzer": "char_wb", "ngram_range": (2, 5)}):
        oracle = TfidfVectorizer(sublinear_tf=True, **options).fit(texts)
        parts.append(oracle.transform(probe).toarray())
    expected = np.hstack(parts)
    norms = np.linalg.norm(expected, axis=1, keepdims=True)
    expected = expected / np.maximum(norms, 1e-12)
    assert np.allclose(TfidfEncoder.fit(texts).encode(probe), expected, atol=1e-6)


def test_default_encoder_can_be_forced_to_tfidf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENCODER_ENV, "tfidf")
    assert default_encoder_name() == "tfidf"
    texts, labels = _examples()
    assert IntentClassifier.train(texts, labels).encoder_name == "tfidf"
    monkeypatch.setenv(ENCODER_ENV, "word2vec")
    with pytest.raises(ValueError, match=ENCODER_ENV):
        default_encoder_name()


@pytest.mark.skipif("minilm" not in ENCODERS, reason="the ml extra is not installed or is off")
def test_minilm_rows_are_unit_length_and_close_for_paraphrases() -> None:
    encoder = MiniLMEncoder()
    rows = encoder.encode(["my card has not arrived", "still waiting for my card", "refund"])
    assert rows.shape == (3, encoder.dim)
    assert rows.dtype == np.float32
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    assert rows[0] @ rows[1] > rows[0] @ rows[2]
    assert encoder.encode([]).shape == (0, encoder.dim)
