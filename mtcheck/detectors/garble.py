"""Garble: words a small fitted model finds likely to be inside an error span, merged into spans.

Each MT word gets a probability from a logistic model over cheap signals:
LM surprisal of the word (names/numbers discounted as in word salad) and of its neighbours, how weakly it
matches the reference (from `mt_unmatched`) and how weakly its neighbours do, and the unit's chrF,
sentence similarity and mean LM surprisal (a word in a poorly matching sentence is more likely wrong).
The weights (`garble_w_*`, `garble_bias`) are fitted on the fit half of the MQM dev set by
`mtcheck.eval_flags.fit` against annotated Major spans; words at or above `garble_p` are flagged, and
flagged words separated by at most one word form one span. Spans whose mean probability reaches
`garble_major_p` are major.

Its category follows the strongest evidence: weak reference match -> accuracy/mistranslation (this
makes the detector reference-based: capped against a retranslation), else fluency/grammar.
"""

from __future__ import annotations

import math

from mtcheck.detectors.base import STOPWORDS, UnitContext, make_flag, quote
from mtcheck.detectors.salad import adjusted_word_bits
from mtcheck.types import Flag

FEATURES = (
    "bits",
    "bits_nb",
    "unmatched",
    "unmatched_nb",
    "stopword",
    "chrf",
    "similarity",
    "lm_mean",
)
# Cosine the Scorer uses as its "unmatched" cut: words not listed match at least this well.
MATCHED_COSINE = 0.5


def word_features(ctx: UnitContext) -> list[dict[str, float]]:
    """Per MT word, the model's inputs (all roughly 0-1 scaled)."""
    words = ctx.mt_words
    if not words:
        return []
    bits = adjusted_word_bits(ctx) if ctx.scores.mt_surprisal else [0.0] * len(words)
    weak = [0.0] * len(words)
    for i, w in enumerate(words):
        hits = [s.value for s in ctx.scores.mt_unmatched if s.start < w.end and s.end > w.start]
        if hits:
            weak[i] = max(0.0, MATCHED_COSINE - min(hits)) / MATCHED_COSINE + 0.1
    chrf = ctx.scores.chrf if ctx.scores.chrf is not None else 50.0
    sim = ctx.scores.similarity if ctx.scores.similarity is not None else 0.75
    lm_mean = ctx.scores.features.get("lm_mean_bits", 4.0)
    out = []
    for i, w in enumerate(words):
        nb = [j for j in (i - 1, i + 1) if 0 <= j < len(words)]
        out.append(
            {
                "bits": min(bits[i], 30.0) / 10.0,
                "bits_nb": max((min(bits[j], 30.0) for j in nb), default=0.0) / 10.0,
                "unmatched": weak[i],
                "unmatched_nb": max((weak[j] for j in nb), default=0.0),
                "stopword": float(w.norm in STOPWORDS),
                "chrf": (100.0 - chrf) / 100.0,
                "similarity": 1.0 - sim,
                "lm_mean": lm_mean / 10.0,
            }
        )
    return out


def probabilities(ctx: UnitContext) -> list[float]:
    t = ctx.thresholds
    out = []
    for f in word_features(ctx):
        z = t["garble_bias"] + sum(t[f"garble_w_{k}"] * f[k] for k in FEATURES)
        out.append(1.0 / (1.0 + math.exp(-z)))
    return out


class GarbleDetector:
    name = "garble"
    reference_based = True

    def detect(self, ctx: UnitContext) -> list[Flag]:
        if not ctx.ref.strip() or (not ctx.scores.mt_surprisal and not ctx.scores.mt_unmatched):
            return []
        if ctx.thresholds.get("garble_p", 1.0) >= 1.0:
            return []  # not fitted: off
        probs = probabilities(ctx)
        feats = word_features(ctx)
        cut = ctx.threshold("garble_p")
        words = ctx.mt_words
        flags: list[Flag] = []
        i = 0
        while i < len(words):
            if probs[i] < cut:
                i += 1
                continue
            j = i
            while True:
                if j + 1 < len(words) and probs[j + 1] >= cut:
                    j += 1
                elif j + 2 < len(words) and probs[j + 2] >= cut:
                    j += 2
                else:
                    break
            span = range(i, j + 1)
            mean_p = sum(probs[k] for k in span) / len(span)
            start, end = words[i].start, words[j].end
            text = ctx.mt[start:end]
            unmatched = max(feats[k]["unmatched"] for k in span)
            if unmatched > 0:
                category = "accuracy/mistranslation"
                reason = f"{quote(text)} matches the reference poorly and is likely mistranslated"
            else:
                category = "fluency/grammar"
                reason = f"{quote(text)} reads unnaturally (the language model finds it unlikely)"
            severity = "major" if mean_p >= ctx.threshold("garble_major_p") else "minor"
            flags.append(
                make_flag(ctx, start, end, category, severity, self.name, reason + f" (p={mean_p:.2f})")
            )
            i = j + 1
        return flags
