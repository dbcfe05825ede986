"""Rule detectors: each finds one kind of garble in a unit's MT text by a hand-set rule (see `mtcheck.flag`)."""

from mtcheck.detectors.base import Detector, UnitContext, Word, words_of
from mtcheck.detectors.numbers import NamesDetector, NumbersDetector
from mtcheck.detectors.polarity import NegationDetector, PronounDetector
from mtcheck.detectors.script import TransliterationDetector, UntranslatedDetector
from mtcheck.detectors.surface import CasingDetector, QuoteDetector, RepetitionDetector
from mtcheck.detectors.truncation import TruncationDetector


def default_detectors() -> list[Detector]:
    return [
        TruncationDetector(),
        NumbersDetector(),
        NamesDetector(),
        PronounDetector(),
        NegationDetector(),
        UntranslatedDetector(),
        TransliterationDetector(),
        RepetitionDetector(),
        QuoteDetector(),
        CasingDetector(),
    ]


__all__ = [
    "Detector",
    "UnitContext",
    "Word",
    "words_of",
    "default_detectors",
    "CasingDetector",
    "NamesDetector",
    "NegationDetector",
    "NumbersDetector",
    "PronounDetector",
    "QuoteDetector",
    "RepetitionDetector",
    "TransliterationDetector",
    "TruncationDetector",
    "UntranslatedDetector",
]
