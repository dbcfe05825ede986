"""Source text left in the MT: foreign-script runs and raw transliteration.

- untranslated: runs of Cyrillic, CJK, Arabic, Hebrew, Greek, ... letters (and full-width punctuation)
  that the reference does not also contain. Critical when they make up most of the sentence, else major.
- transliteration: a Latin-script word the reference does not use and that an English vocabulary lacks,
  which either spells a lowercase source word in Latin letters (when the Russian source is given) or
  looks transliterated from Russian: a patronymic ("Anatolyevich"; English news drops them, so it is
  fine only where the reference keeps it) or a lowercase word with Russian letter clusters ("zh",
  "kh", "shch", endings "-iy", "-yy", "-aya"). Capitalised source words are names: their
  transliteration is the right rendering and is not flagged.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

import regex

from mtcheck.detectors.base import UnitContext, is_sentence_start, make_flag, quote
from mtcheck.types import Flag

FOREIGN_RUN = regex.compile(
    r"[\p{Cyrillic}\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Arabic}\p{Hebrew}\p{Greek}\p{Devanagari}"
    r"\p{Thai}\p{Georgian}\p{Armenian}]+"
    r"(?:[\s\u3000-\u303f\uff00-\uffef\-]*[\p{Cyrillic}\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Arabic}"
    r"\p{Hebrew}\p{Greek}\p{Devanagari}\p{Thai}\p{Georgian}\p{Armenian}]+)*"
)
FULLWIDTH_PUNCT = re.compile(r"[，。、；：！？（）【】《》「」]")
CYRILLIC_WORD = regex.compile(r"\p{Cyrillic}+")

RU_TO_LATIN = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z",
        "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
        "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
        "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g",
    }
)  # fmt: skip
PATRONYMIC = re.compile(r"^[A-Z][a-z]+(?:ovich|evich|yevich|ievich|ovna|evna|yevna|ichna|ich)$")
RUSSIAN_CLUSTERS = re.compile(r"(?:zh|kh|shch|iy$|yy$|aya$|oye$|ogo$|ykh$|iye$|ya$|yu)")


@lru_cache(maxsize=1)
def english_vocabulary() -> frozenset[str]:
    """Whole words of the MiniLM (BERT uncased) word-piece vocabulary: a cheap English lexicon.

    Always the pinned base package's vocabulary, whatever `--embedder` names: a lexicon, not a model, so
    the transliteration flags do not change with the encoder chosen for alignment."""
    from mtcheck.models import default_embedder_path

    try:
        path = default_embedder_path() / "vocab.txt"
        return frozenset(t for t in path.read_text(encoding="utf-8").split() if t.isalpha())
    except Exception:  # noqa: BLE001  (no vocabulary: the pattern checks still run, more cautiously)
        return frozenset()


def transliterate(word: str) -> str:
    return word.lower().translate(RU_TO_LATIN)


class UntranslatedDetector:
    name = "untranslated"
    reference_based = False

    def detect(self, ctx: UnitContext) -> list[Flag]:
        flags: list[Flag] = []
        letters = sum(ch.isalpha() for ch in ctx.mt) or 1
        for m in FOREIGN_RUN.finditer(ctx.mt):
            text = m.group()
            if text in ctx.ref:
                continue  # the reference quotes it too (a name in the original script, a title)
            share = sum(ch.isalpha() for ch in text) / letters
            flags.append(
                make_flag(
                    ctx,
                    m.start(),
                    m.end(),
                    "accuracy/untranslated",
                    "critical" if share >= 0.5 else "major",
                    self.name,
                    f"untranslated source-language text {quote(text)}"
                    + (" (most of the sentence)" if share >= 0.5 else ""),
                )
            )
        for m in FULLWIDTH_PUNCT.finditer(ctx.mt):
            if any(f.start <= m.start() < f.end for f in flags):
                continue
            flags.append(
                make_flag(
                    ctx,
                    m.start(),
                    m.end(),
                    "fluency/punctuation",
                    "minor",
                    self.name,
                    f"source-language punctuation mark {quote(m.group())}",
                )
            )
        return flags


class TransliterationDetector:
    name = "transliteration"
    reference_based = False

    def detect(self, ctx: UnitContext) -> list[Flag]:
        vocab = english_vocabulary()
        # Source words that are not names: lowercase, or capitalised only because they open a sentence.
        src_words = [
            (m.group(), transliterate(m.group()))
            for m in CYRILLIC_WORD.finditer(ctx.src)
            if len(m.group()) >= 4 and (m.group().islower() or is_sentence_start(ctx.src, m.start()))
        ]
        flags: list[Flag] = []
        for w in ctx.mt_words:
            low = w.norm
            if len(low) < 4 or not low.isascii() or not low.isalpha() or low in ctx.ref_vocab or low in vocab:
                continue
            reason = ""
            severity = "minor"
            spelled = [s for s, t in src_words if difflib.SequenceMatcher(None, low, t).ratio() >= 0.8]
            if spelled:
                severity = "major"
                reason = f"{quote(w.text)} is the Russian word {quote(spelled[0])} in Latin letters, not a translation"
            elif PATRONYMIC.match(w.text):
                reason = (
                    f"{quote(w.text)} looks like a Russian patronymic transliterated as is; English news copy "
                    "usually drops it, and the reference does not use it"
                )
            elif not w.is_capitalised and vocab and RUSSIAN_CLUSTERS.search(low):
                reason = f"{quote(w.text)} is not an English word and looks transliterated from Russian"
            if reason:
                flags.append(
                    make_flag(ctx, w.start, w.end, "accuracy/untranslated", severity, self.name, reason)
                )
        return flags
