"""The lexical columns of the output contract: sentence chrF2, BLEU (effective order) and TER.

chrF and BLEU are sacrebleu's; TER is `mtcheck.ter`, equal to sacrebleu's TER() on every pair its tests
check and some 35x faster (sacrebleu's pure-Python shift search cost about 13 ms a sentence).
"""

from __future__ import annotations

from functools import cached_property, lru_cache

from mtcheck.ter import sentence_ter


@lru_cache(maxsize=1)
def _chrf_metric():
    import sacrebleu

    return sacrebleu.metrics.CHRF()


# Sized for a prefetch window's units: the quality model reads them all before the checks report them.
@lru_cache(maxsize=4096)
def sentence_chrf(mt: str, ref: str) -> float:
    """sacrebleu's sentence chrF2 (0-100), kept for the last few thousand pairs: the quality model reads
    it as an input and the report shows it, so each unit's is computed once."""
    return _chrf_metric().sentence_score(mt, [ref]).score


class LexicalScores:
    """chrF, BLEU and TER of an MT unit against its reference text (sacrebleu's definitions)."""

    signature = "chrF2|bleu:eff|ter"

    @cached_property
    def _bleu(self):
        import sacrebleu

        return sacrebleu.metrics.BLEU(effective_order=True)

    def score(self, mt: str, ref: str) -> tuple[float | None, float | None, float | None]:
        """(chrf, bleu, ter); all None when either side is empty (an added or omitted sentence)."""
        if not mt.strip() or not ref.strip():
            return None, None, None
        return (
            sentence_chrf(mt, ref),
            self._bleu.sentence_score(mt, [ref]).score,
            sentence_ter(mt, ref),
        )
