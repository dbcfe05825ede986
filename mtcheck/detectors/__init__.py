"""Span detectors: each finds one kind of garble in a unit's MT text (see `mtcheck.flag`)."""

from mtcheck.detectors.alignment import MismatchDetector, OmissionDetector
from mtcheck.detectors.base import Detector, UnitContext, Word, words_of
from mtcheck.detectors.garble import GarbleDetector
from mtcheck.detectors.numbers import NamesDetector, NumbersDetector
from mtcheck.detectors.salad import WordSaladDetector
from mtcheck.detectors.script import TransliterationDetector, UntranslatedDetector
from mtcheck.detectors.surface import CasingDetector, QuoteDetector, RepetitionDetector
from mtcheck.detectors.truncation import TruncationDetector


def default_detectors() -> list[Detector]:
    return [
        TruncationDetector(),
        WordSaladDetector(),
        GarbleDetector(),
        MismatchDetector(),
        OmissionDetector(),
        NumbersDetector(),
        NamesDetector(),
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
    "GarbleDetector",
    "MismatchDetector",
    "NamesDetector",
    "NumbersDetector",
    "OmissionDetector",
    "QuoteDetector",
    "RepetitionDetector",
    "TransliterationDetector",
    "TruncationDetector",
    "UntranslatedDetector",
    "WordSaladDetector",
]
