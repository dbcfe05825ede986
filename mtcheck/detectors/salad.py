"""Word salad: runs of words the language model finds very unlikely.

Token surprisal (bits, from `UnitScores.mt_surprisal`) is summed per word. Proper names and numbers
inflate surprisal without being errors (ANCHORS.md), so a capitalised word or number that the
reference also has counts for nothing, and one the reference lacks counts `salad_name_discount` of
its bits. The first word has no context and is only hot above the single-word threshold.
Words at or above `salad_word_bits` are hot; hot words separated by at most one lukewarm word
(above half the threshold) form one span. A span of two or more hot words is flagged
(major from `salad_major_words` hot words, or a mean above `salad_major_bits`); a lone word only above
`salad_single_bits`, as minor.

Checked on the MQM zh-en fit half: every setting lowered character-level Major-span F1 (14 bits: 0.187
against 0.192 without; worse in 4 of the 5 fit document groups), since rare but correct phrases outnumber
salad there, so the shipped `flag_thresholds.json` switches it off (`salad_word_bits` 99). The fitted
garble model reads the same surprisal and flags the seed's salad sentence. Pass thresholds to turn it on.
"""

from __future__ import annotations

from mtcheck.detectors.base import UnitContext, make_flag, quote, word_values
from mtcheck.types import Flag


def adjusted_word_bits(ctx: UnitContext) -> list[float]:
    """Per MT word: LM surprisal in bits with the name/number discount applied (0 for unscored words)."""
    raw = word_values(ctx.mt_words, ctx.scores.mt_surprisal, "sum")
    discount = ctx.threshold("salad_name_discount")
    out = []
    for i, (w, bits) in enumerate(zip(ctx.mt_words, raw, strict=True)):
        value = bits or 0.0
        name_like = w.is_number or (w.is_capitalised and (i > 0 or w.norm in ctx.ref_vocab))
        if name_like:
            value = 0.0 if w.norm in ctx.ref_vocab else value * discount
        out.append(value)
    return out


class WordSaladDetector:
    name = "word_salad"
    reference_based = False

    def detect(self, ctx: UnitContext) -> list[Flag]:
        if not ctx.scores.mt_surprisal or not ctx.mt_words:
            return []
        bits = adjusted_word_bits(ctx)
        hot_t = ctx.threshold("salad_word_bits")
        single_t = ctx.threshold("salad_single_bits")
        hot = [b >= hot_t and (i > 0 or b >= single_t) for i, b in enumerate(bits)]
        flags: list[Flag] = []
        i = 0
        n = len(bits)
        while i < n:
            if not hot[i]:
                i += 1
                continue
            j = i
            # Extend across hot words, bridging one lukewarm word between two hot ones.
            while True:
                if j + 1 < n and hot[j + 1]:
                    j += 1
                elif j + 2 < n and hot[j + 2] and bits[j + 1] >= hot_t / 2:
                    j += 2
                else:
                    break
            n_hot = sum(hot[i : j + 1])
            peak = max(bits[i : j + 1])
            mean = sum(bits[i : j + 1]) / (j - i + 1)
            start, end = ctx.mt_words[i].start, ctx.mt_words[j].end
            text = ctx.mt[start:end]
            if n_hot >= 2:
                major = n_hot >= ctx.threshold("salad_major_words") or mean >= ctx.threshold(
                    "salad_major_bits"
                )
                flags.append(
                    make_flag(
                        ctx,
                        start,
                        end,
                        "fluency/grammar",
                        "major" if major else "minor",
                        self.name,
                        f"{quote(text)} reads as garbled: the language model finds these {j - i + 1} words "
                        f"very unlikely together (mean {mean:.1f} bits a word)",
                    )
                )
            elif peak >= single_t:
                flags.append(
                    make_flag(
                        ctx,
                        start,
                        end,
                        "style/awkward",
                        "minor",
                        self.name,
                        f"{quote(text)} is very unlikely here ({peak:.1f} bits): a wrong word or word form?",
                    )
                )
            i = j + 1
        return flags
