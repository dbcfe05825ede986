"""Omission, addition and mistranslation from token matching against the reference.

`UnitScores.mt_unmatched` holds MT words whose best embedding match in the reference is weak (value =
best cosine); `ref_unmatched` holds reference words with no good MT counterpart. Function words are
never evidence on their own.

- mismatch: adjacent unmatched MT words (bridging one function word) with at least one content word
  and mean cosine at most `mismatch_cosine`. It is an addition when the reference has nothing unmatched
  left for it to correspond to, else a mistranslation; the reason names the reference's unmatched words.
  Major from `mismatch_major_words` content words. Silent on units of fewer than `match_min_words`
  words (a paraphrased three-word sentence matches weakly everywhere).
- omission: a run of unmatched reference words with at least `omission_min_words` content words (or one
  number/name). It has no MT text of its own, so the flag is anchored to the MT word(s) that match the
  reference words just before (else after) the gap, or to the whole sentence when none can be found; the
  reason says where it is anchored.
"""

from __future__ import annotations

from mtcheck.detectors.base import STOPWORDS, UnitContext, Word, make_flag, quote, words_of
from mtcheck.types import Flag, TokenSpan


def _runs(
    words: list[Word], unmatched: list[TokenSpan], max_cos: float
) -> list[tuple[int, int, list[float]]]:
    """Runs (first word index, last word index, cosines) of unmatched words, bridging one function word."""
    values: dict[int, float] = {}
    for i, w in enumerate(words):
        hits = [s.value for s in unmatched if s.start < w.end and s.end > w.start]
        if hits and min(hits) <= max_cos:
            values[i] = min(hits)
    runs: list[tuple[int, int, list[float]]] = []
    i = 0
    while i < len(words):
        if i not in values:
            i += 1
            continue
        j = i
        while True:
            if j + 1 in values:
                j += 1
            elif j + 2 in values and words[j + 1].norm in STOPWORDS:
                j += 2
            else:
                break
        runs.append((i, j, [values[k] for k in range(i, j + 1) if k in values]))
        i = j + 1
    return runs


def _content(words: list[Word]) -> list[Word]:
    return [w for w in words if w.norm not in STOPWORDS and any(ch.isalnum() for ch in w.text)]


class MismatchDetector:
    name = "mismatch"
    reference_based = True

    def detect(self, ctx: UnitContext) -> list[Flag]:
        if not ctx.ref.strip() or not ctx.scores.mt_unmatched:
            return []
        if len(ctx.mt_words) < ctx.threshold("match_min_words"):
            return []  # a very short unit: word matches against a paraphrase say little (mtcheck.flag)
        max_cos = ctx.threshold("mismatch_cosine")
        ref_words = ctx.ref_words
        ref_runs = _runs(ref_words, ctx.scores.ref_unmatched, ctx.threshold("omission_cosine"))
        ref_missing = [ctx.ref[ref_words[a].start : ref_words[b].end] for a, b, _ in ref_runs]
        ref_missing = [r for r in ref_missing if _content(words_of(r))]
        flags = []
        for a, b, cosines in _runs(ctx.mt_words, ctx.scores.mt_unmatched, max_cos):
            words = ctx.mt_words[a : b + 1]
            content = _content(words)
            if not content:
                continue
            start, end = words[0].start, words[-1].end
            text = ctx.mt[start:end]
            major = len(content) >= ctx.threshold("mismatch_major_words")
            mean = sum(cosines) / len(cosines)
            if ref_missing:
                category = "accuracy/mistranslation"
                reason = (
                    f"{quote(text)} has no close counterpart in the reference (best match {mean:.2f}); "
                    f"the reference says {', '.join(quote(r) for r in ref_missing[:2])} instead"
                )
            else:
                category = "accuracy/addition"
                reason = f"{quote(text)} is not in the reference (best match {mean:.2f}): added by the MT?"
            flags.append(
                make_flag(ctx, start, end, category, "major" if major else "minor", self.name, reason)
            )
        return flags


class OmissionDetector:
    name = "omission"
    reference_based = True

    def detect(self, ctx: UnitContext) -> list[Flag]:
        if not ctx.ref.strip() or not ctx.scores.ref_unmatched or not ctx.mt_words:
            return []
        ref_words = ctx.ref_words
        unmatched_mt = {
            i
            for i, w in enumerate(ctx.mt_words)
            if any(s.start < w.end and s.end > w.start for s in ctx.scores.mt_unmatched)
        }
        flags = []
        for a, b, _ in _runs(ref_words, ctx.scores.ref_unmatched, ctx.threshold("omission_cosine")):
            missing = ref_words[a : b + 1]
            content = _content(missing)
            key_word = any(w.is_number or (w.is_capitalised and a > 0) for w in content)
            if len(content) < ctx.threshold("omission_min_words") and not key_word:
                continue
            ref_text = ctx.ref[missing[0].start : missing[-1].end]
            anchor = self._anchor(ctx, ref_words, a, b, unmatched_mt)
            if anchor is None:
                start, end, where = (
                    ctx.mt_words[0].start,
                    ctx.mt_words[-1].end,
                    "marked on the whole sentence",
                )
            else:
                start, end = anchor
                where = f"marked at {quote(ctx.mt[start:end])}, next to where it belongs"
            major = len(content) >= ctx.threshold("omission_major_words")
            flags.append(
                make_flag(
                    ctx,
                    start,
                    end,
                    "accuracy/omission",
                    "major" if major else "minor",
                    self.name,
                    f"reference says {quote(ref_text)}; the MT has no counterpart ({where})",
                )
            )
        return flags

    @staticmethod
    def _anchor(
        ctx: UnitContext, ref_words: list[Word], a: int, b: int, unmatched_mt: set[int]
    ) -> tuple[int, int] | None:
        """MT span of the matched content word nearest before (else after) the omitted reference words."""
        by_norm: dict[str, list[int]] = {}
        for i, w in enumerate(ctx.mt_words):
            if i not in unmatched_mt:
                by_norm.setdefault(w.norm, []).append(i)
        for k in list(range(a - 1, -1, -1)) + list(range(b + 1, len(ref_words))):
            w = ref_words[k]
            if w.norm in STOPWORDS or w.norm not in by_norm:
                continue
            hit = ctx.mt_words[by_norm[w.norm][0]]
            return hit.start, hit.end
        return None
