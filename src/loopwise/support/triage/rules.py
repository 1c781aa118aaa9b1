"""Triage without a trained model, and the parts no model learns: keyword rules for the
issue type (used until a project has enough labelled tickets), priority from urgency cues
and the customer's context, the affected feature, sentiment and language.

Rule confidences are deliberately modest (at most 0.85): a keyword is evidence, not
certainty, so rules alone never pass the default auto-resolution threshold of 0.9.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from loopwise.support.contracts import Guess, RevenueContext

_WORD = re.compile(r"[a-zà-ÿß']+")

# Phrases per label, strongest first; each phrase is matched on word boundaries.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "invoice_request": (
        "invoice",
        "receipt",
        "vat number",
        "billing statement",
        "tax invoice",
        "copy of my bill",
        "proof of payment",
    ),
    "password_reset": (
        "reset my password",
        "password reset",
        "forgot my password",
        "forgot password",
        "reset link",
        "can't remember my password",
        "change my password",
    ),
    "cancellation_request": (
        "cancel my subscription",
        "cancel my account",
        "cancel my plan",
        "unsubscribe me",
        "stop my subscription",
        "close my account",
        "want to cancel",
        "cancellation",
    ),
    "plan_question": (
        "which plan",
        "what plan",
        "plans include",
        "is available on",
        "available in the",
        "difference between plans",
        "upgrade to",
        "pricing",
        "team plan",
        "pro plan",
    ),
    "billing": (
        "charged twice",
        "double charged",
        "refund",
        "charge",
        "billing",
        "payment",
        "credit card",
        "card declined",
        "overcharged",
        "subscription fee",
        "price",
    ),
    "bug": (
        "error",
        "crash",
        "crashes",
        "broken",
        "doesn't work",
        "does not work",
        "not working",
        "bug",
        "fails",
        "failed",
        "stuck",
        "blank page",
        "500",
        "exception",
        "freezes",
        "won't load",
        "not loading",
    ),
    "account_access": (
        "log in",
        "login",
        "sign in",
        "locked out",
        "two-factor",
        "2fa",
        "verification code",
        "can't access",
        "cannot access",
        "account access",
    ),
    "cancellation": ("cancel", "downgrade", "leaving", "close account", "delete my account"),
    "feature_request": (
        "feature request",
        "would be great",
        "would love",
        "please add",
        "could you add",
        "wish",
        "suggestion",
        "it would be nice",
        "any plans to",
        "roadmap",
        "support for",
    ),
    "how_to": (
        "how do i",
        "how can i",
        "how to",
        "is there a way",
        "where can i",
        "where do i",
        "can i",
        "help me understand",
        "what does",
    ),
}

URGENT_CUES = (
    "urgent",
    "asap",
    "immediately",
    "right now",
    "production",
    "outage",
    "down for",
    "all users",
    "everyone",
    "data loss",
    "lost data",
    "security",
    "breach",
    "charged twice",
    "locked out",
    "can't work",
    "cannot work",
    "blocking",
    "critical",
    "emergency",
)
HIGH_CUES = (
    "as soon as possible",
    "today",
    "deadline",
    "again",
    "still",
    "third time",
    "second time",
    "frustrat",
    "unacceptable",
)

NEGATIVE = frozenset(
    [
        "angry",
        "annoyed",
        "awful",
        "bad",
        "broken",
        "disappointed",
        "disappointing",
        "frustrated",
        "frustrating",
        "furious",
        "horrible",
        "terrible",
        "unacceptable",
        "useless",
        "worst",
        "hate",
        "ridiculous",
        "poor",
        "sucks",
        "waste",
        "upset",
        "unhappy",
        "confused",
        "confusing",
        "wrong",
        "fail",
        "failed",
        "failing",
        "slow",
        "lost",
        "stuck",
        "never",
        "still",
        "again",
        "cancel",
        "refund",
    ]
)
POSITIVE = frozenset(
    [
        "love",
        "great",
        "awesome",
        "amazing",
        "thanks",
        "thank",
        "appreciate",
        "excellent",
        "fantastic",
        "helpful",
        "happy",
        "perfect",
        "nice",
        "good",
        "wonderful",
        "brilliant",
        "pleased",
        "glad",
        "enjoy",
    ]
)

# A few of each language's most frequent words: enough to tell short messages apart.
STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "and",
            "is",
            "to",
            "it",
            "my",
            "i",
            "you",
            "not",
            "of",
            "for",
            "in",
            "on",
            "with",
            "this",
            "that",
            "can",
            "have",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "und",
            "ist",
            "nicht",
            "ich",
            "ein",
            "eine",
            "mit",
            "zu",
            "mein",
            "wie",
            "kann",
            "für",
            "auf",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "et",
            "est",
            "pas",
            "je",
            "un",
            "une",
            "avec",
            "pour",
            "mon",
            "ma",
            "dans",
            "que",
            "ne",
            "vous",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "las",
            "y",
            "es",
            "no",
            "yo",
            "un",
            "una",
            "con",
            "para",
            "mi",
            "en",
            "que",
            "por",
            "cómo",
            "puedo",
        ]
    ),
    "pt": frozenset(
        [
            "o",
            "a",
            "os",
            "as",
            "e",
            "é",
            "não",
            "eu",
            "um",
            "uma",
            "com",
            "para",
            "meu",
            "em",
            "que",
            "por",
            "como",
            "posso",
        ]
    ),
    "it": frozenset(
        [
            "il",
            "lo",
            "la",
            "gli",
            "e",
            "è",
            "non",
            "io",
            "un",
            "una",
            "con",
            "per",
            "mio",
            "in",
            "che",
            "come",
            "posso",
        ]
    ),
    "nl": frozenset(
        [
            "de",
            "het",
            "een",
            "en",
            "is",
            "niet",
            "ik",
            "met",
            "voor",
            "mijn",
            "in",
            "dat",
            "kan",
            "hoe",
            "van",
            "op",
        ]
    ),
}


def _contains(text: str, phrase: str) -> bool:
    return re.search(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])", text) is not None


def keyword_label(text: str, labels: Sequence[str]) -> Guess:
    """The label whose phrases match best, among ``labels`` (intents and categories)."""
    lowered = text.lower()
    best, best_score, hits = "other", 0.0, []
    for label in labels:
        phrases = KEYWORDS.get(label, (label.replace("_", " "),))
        found = [p for p in phrases if _contains(lowered, p)]
        # Longer phrases are stronger evidence than single words.
        score = sum(1.0 + p.count(" ") for p in found)
        if score > best_score:
            best, best_score, hits = label, score, found
    if best_score == 0:
        return Guess("other", 0.3, "no rule matched")
    confidence = min(0.85, 0.45 + 0.15 * best_score)
    return Guess(best, confidence, "words: " + ", ".join(f"“{h}”" for h in hits[:3]))


def priority(
    text: str,
    category: str,
    revenue: RevenueContext | None,
    errors_7d: int,
    top_mrr_minor: int,
) -> Guess:
    """Urgency from the words, raised for valuable customers and for people who hit
    errors recently (for bugs), lowered for feature requests and questions."""
    lowered = text.lower()
    urgent = [c for c in URGENT_CUES if c in lowered]
    high = [c for c in HIGH_CUES if c in lowered]
    level = 1 + (2 if urgent else 1 if high else 0)
    reasons = [f"“{c}”" for c in (urgent or high)[:2]]
    if category in ("feature_request", "how_to") and not urgent:
        level = min(level, 1) - (1 if category == "feature_request" else 0)
        reasons.append(category.replace("_", " "))
    if revenue is not None and revenue.mrr_minor > 0 and revenue.mrr_minor >= top_mrr_minor:
        level += 1
        reasons.append("high-value customer")
    if category == "bug" and errors_7d >= 3:
        level += 1
        reasons.append(f"{errors_7d} errors in 7 days")
    if category == "billing" and revenue is not None and revenue.payment_failures:
        level += 1
        reasons.append("recent payment failure")
    names = ("low", "normal", "high", "urgent")
    chosen = names[max(0, min(3, level))]
    confidence = 0.8 if urgent or len(reasons) >= 2 else 0.6
    return Guess(chosen, confidence, ", ".join(reasons) or "no urgency cues")


def feature(text: str, features: Sequence[str]) -> Guess:
    """The project's feature named in the text (by its words), if any."""
    words = set(_WORD.findall(text.lower()))
    best, best_share = "", 0.0
    for name in features:
        parts = [w for w in _WORD.findall(name.lower().replace("_", " ")) if len(w) > 2]
        if not parts:
            continue
        share = sum(1 for w in parts if w in words or w.rstrip("s") in words) / len(parts)
        if share > best_share:
            best, best_share = name, share
    if best_share < 0.5:
        return Guess("", 0.0, "no feature named")
    return Guess(best, round(0.5 + 0.4 * best_share, 2), f"mentions “{best}”")


def sentiment(text: str) -> Guess:
    words = _WORD.findall(text.lower())
    negative = [w for w in words if w in NEGATIVE]
    positive = [w for w in words if w in POSITIVE]
    score = len(positive) - len(negative) - text.count("!") * 0.25 * bool(negative)
    if score <= -1:
        return Guess("negative", min(0.95, 0.55 + 0.1 * -score), ", ".join(negative[:3]))
    if score >= 1:
        return Guess("positive", min(0.95, 0.55 + 0.1 * score), ", ".join(positive[:3]))
    return Guess("neutral", 0.6, "no strong words")


def language(text: str) -> Guess:
    words = _WORD.findall(text.lower())
    if not words:
        return Guess("", 0.0, "no words")
    counts = {code: sum(1 for w in words if w in stop) for code, stop in STOPWORDS.items()}
    best = max(counts, key=lambda code: counts[code])
    total = sum(counts.values())
    if counts[best] == 0:
        return Guess("en", 0.3, "no common words found")
    return Guess(best, round(counts[best] / total, 2), f"{counts[best]} common words")
