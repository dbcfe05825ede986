"""The lexical columns of the output contract: sentence chrF2, BLEU (effective order) and TER.

chrF and BLEU are sacrebleu's; TER is `mtcheck.ter`, equal to sacrebleu's TER() on every pair its tests
check and some 35x faster (sacrebleu's pure-Python shift search cost about 13 ms a sentence).
"""

from __future__ import annotations

from functools import cached_property

from mtcheck.ter import sentence_ter


class LexicalScores:
    """chrF, BLEU and TER of an MT unit against its reference text (sacrebleu's definitions)."""

    signature = "chrF2|bleu:eff|ter"

    @cached_property
    def _metrics(self):
        import sacrebleu

        return sacrebleu.metrics.CHRF(), sacrebleu.metrics.BLEU(effective_order=True)

    def score(self, mt: str, ref: str) -> tuple[float | None, float | None, float | None]:
        """(chrf, bleu, ter); all None when either side is empty (an added or omitted sentence)."""
        if not mt.strip() or not ref.strip():
            return None, None, None
        chrf, bleu = self._metrics
        return (
            chrf.sentence_score(mt, [ref]).score,
            bleu.sentence_score(mt, [ref]).score,
            sentence_ter(mt, ref),
        )
