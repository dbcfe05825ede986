"""Garble: words a small fitted model finds likely to be inside an error span, merged into spans.

Each MT word gets a probability from a logistic model over cheap per-word signals (all about 0-1):
- `bits`, `bits_nb`: LM surprisal of the word (names/numbers found in the reference discounted, as in
  word salad) and the highest of its two neighbours; `raw_bits`: the same without the discount;
- `cos`, `cos_nb`, `cos_win`: 1 - best token-embedding match of the word in the reference
  (`UnitScores.mt_match`, every word; `mt_unmatched` only lists the weak ones), of its neighbours and the
  mean over a five-word window (annotators mark phrases, not words);
- `lex`, `lex_win`: content word whose 5-letter stem is absent from the reference, and the window mean;
- word class: `stopword`, `capital` (capitalised, not sentence-initial), `number`, `length`;
- `position` in the sentence (0 first word, 1 last: errors gather late in long sentences);
- two sentence signals that held up across documents: `lm_mean` (mean LM surprisal) and `seg_lex`
  (share of words with `lex`). chrF, sentence similarity and the unmatched shares were tried and left out:
  in document-grouped cross-validation on the fit half they lowered held-out F1 (their level differs
  from talk to talk).
The weights (`garble_w_*`, `garble_bias`) are fitted by `mtcheck.eval_flags.fit` on the fit half of the
MQM dev set against annotated Major spans (length-weighted logistic regression); words at or above
`garble_p` are flagged, and flagged words separated by at most one word form one span. Spans whose mean
probability reaches `garble_major_p` are major.

Its category follows the strongest evidence: weak reference match -> accuracy/mistranslation (this
makes the detector reference-based: capped against a retranslation), else fluency/grammar.
"""

from __future__ import annotations

import math

from mtcheck.detectors.base import STOPWORDS, UnitContext, make_flag, quote, word_values
from mtcheck.detectors.salad import adjusted_word_bits
from mtcheck.types import Flag

FEATURES = (
    "bits",
    "bits_nb",
    "raw_bits",
    "cos",
    "cos_nb",
    "cos_win",
    "lex",
    "lex_win",
    "stopword",
    "capital",
    "number",
    "length",
    "position",
    "lm_mean",
    "seg_lex",
)
# Cosine the Scorer uses as its "unmatched" cut: words not listed in mt_unmatched match at least this well.
MATCHED_COSINE = 0.5


def _best_match(ctx: UnitContext) -> list[float]:
    """Per MT word, its best match cosine in the reference: from `mt_match` when the Scorer gave it,
    else from `mt_unmatched` (words not listed there count as matching at MATCHED_COSINE + 0.4)."""
    words = ctx.mt_words
    if ctx.scores.mt_match:
        values = word_values(words, ctx.scores.mt_match, "max")
        return [1.0 if v is None else float(v) for v in values]
    weak = word_values(words, ctx.scores.mt_unmatched, "max")
    return [MATCHED_COSINE + 0.4 if v is None else float(v) for v in weak]


def word_features(ctx: UnitContext) -> list[dict[str, float]]:
    """Per MT word, the model's inputs (all roughly 0-1 scaled); see the module docstring."""
    words = ctx.mt_words
    n = len(words)
    if not n:
        return []
    has_lm = bool(ctx.scores.mt_surprisal)
    bits = adjusted_word_bits(ctx) if has_lm else [0.0] * n
    raw = [v or 0.0 for v in word_values(words, ctx.scores.mt_surprisal, "sum")] if has_lm else [0.0] * n
    cos = [min(1.0, max(0.0, 1.0 - c)) for c in _best_match(ctx)]
    # Stems of the reference's words and of the parts of its hyphenated words ("high-level" has "high").
    stems = {part[:5] for w in ctx.ref_words for part in [w.norm, *w.norm.split("-")] if part}
    lex = [0.0 if (w.norm in STOPWORDS or w.norm[:5] in stems) else 1.0 for w in words]
    lm_mean = ctx.scores.features.get("lm_mean_bits", 4.0) if has_lm else 4.0
    seg_lex = sum(lex) / n
    out = []
    for i, w in enumerate(words):
        nb = [j for j in (i - 1, i + 1) if 0 <= j < n]
        win = range(max(0, i - 2), min(n, i + 3))
        out.append(
            {
                "bits": min(bits[i], 30.0) / 10.0,
                "bits_nb": max((min(bits[j], 30.0) for j in nb), default=0.0) / 10.0,
                "raw_bits": min(raw[i], 30.0) / 10.0,
                "cos": cos[i],
                "cos_nb": max((cos[j] for j in nb), default=0.0),
                "cos_win": sum(cos[j] for j in win) / len(win),
                "lex": lex[i],
                "lex_win": sum(lex[j] for j in win) / len(win),
                "stopword": float(w.norm in STOPWORDS),
                "capital": float(w.is_capitalised and i > 0),
                "number": float(w.is_number),
                "length": min(len(w.text), 12) / 12.0,
                "position": i / max(1, n - 1),
                "lm_mean": lm_mean / 10.0,
                "seg_lex": seg_lex,
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
        scores = ctx.scores
        if not ctx.ref.strip() or not (scores.mt_surprisal or scores.mt_match or scores.mt_unmatched):
            return []
        if ctx.thresholds.get("garble_p", 1.0) >= 1.0:
            return []  # not fitted: off
        if len(ctx.mt_words) < ctx.threshold("match_min_words"):
            return []  # a very short unit: word matches against a paraphrase say little (mtcheck.flag)
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
            weakest = max(feats[k]["cos"] for k in span)
            absent = [words[k].text for k in span if feats[k]["lex"] > 0]
            if weakest < ctx.threshold("garble_min_cos") and not absent:
                i = j + 1  # no reference evidence: the words match the reference well, and all are in it
                continue
            if weakest >= 1.0 - MATCHED_COSINE:
                category = "accuracy/mistranslation"
                reason = f"{quote(text)} matches the reference poorly (best match {1.0 - weakest:.2f}"
                reason += f"; not in the reference: {', '.join(absent[:3])})" if absent else ")"
                reason += " and is likely mistranslated"
            elif absent:
                category = "accuracy/mistranslation"
                missing = ", ".join(quote(a) for a in absent[:3])
                lead = f"{quote(text)} is" if absent == [text] else f"{quote(text)}: {missing}"
                reason = (
                    f"{lead} not in the reference (closest reference word matches {1.0 - weakest:.2f}): "
                    "a wrong word choice?"
                )
            else:
                category = "fluency/grammar"
                reason = f"{quote(text)} reads unnaturally (the language model finds it unlikely)"
            severity = "major" if mean_p >= ctx.threshold("garble_major_p") else "minor"
            flags.append(
                make_flag(ctx, start, end, category, severity, self.name, reason + f" (p={mean_p:.2f})")
            )
            i = j + 1
        return flags
