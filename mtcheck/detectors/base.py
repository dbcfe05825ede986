"""Shared pieces of the span detectors: words with offsets, the per-unit context, flag construction.

Every detector is a small object with a `name`, a `reference_based` marker (does its evidence come
from comparing the MT with the reference?) and `detect(ctx) -> list[Flag]`. Detectors never see
each other; `mtcheck.flag.Flagger` runs them, caps severities and decides the verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from mtcheck.types import SEVERITIES, Flag

# A word: letters/digits joined by inner apostrophes, hyphens, dots or commas ("don't", "U.S", "1,200.5").
WORD_RE = re.compile(r"\w+(?:[’'\-.,]\w+)*")
APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'"})

# Function words: never the content of an omission/addition on their own, never a "name".
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "nor",
        "so",
        "yet",
        "if",
        "then",
        "than",
        "that",
        "this",
        "these",
        "those",
        "there",
        "here",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "into",
        "onto",
        "upon",
        "about",
        "as",
        "over",
        "under",
        "between",
        "among",
        "through",
        "during",
        "before",
        "after",
        "above",
        "below",
        "up",
        "down",
        "out",
        "off",
        "again",
        "further",
        "once",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "have",
        "has",
        "had",
        "having",
        "do",
        "does",
        "did",
        "doing",
        "will",
        "would",
        "shall",
        "should",
        "can",
        "could",
        "may",
        "might",
        "must",
        "not",
        "no",
        "n't",
        "'s",
        "'re",
        "'ve",
        "'d",
        "'ll",
        "i",
        "me",
        "my",
        "we",
        "us",
        "our",
        "you",
        "your",
        "he",
        "him",
        "his",
        "she",
        "her",
        "it",
        "its",
        "they",
        "them",
        "their",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "only",
        "own",
        "same",
        "too",
        "very",
        "just",
        "also",
        "even",
        "still",
        "already",
        "yet",
        "own",
        "said",
        "says",
        "one",
        "ones",
    ]
)


@dataclass(frozen=True)
class Word:
    start: int
    end: int
    text: str

    @cached_property
    def norm(self) -> str:
        return self.text.translate(APOSTROPHES).lower()

    @property
    def is_capitalised(self) -> bool:
        return self.text[:1].isupper()

    @property
    def is_number(self) -> bool:
        return any(ch.isdigit() for ch in self.text)


def words_of(text: str) -> list[Word]:
    """Words of `text` with character offsets (`text[w.start:w.end] == w.text`)."""
    out = []
    for m in WORD_RE.finditer(text):
        token = m.group()
        # "U.S." keeps its dots inside; a trailing "." or "," is punctuation, never part of the word.
        token = token.rstrip(".,")
        if token and not token.strip("_"):
            continue
        if token:
            out.append(Word(m.start(), m.start() + len(token), token))
    return out


def is_sentence_start(text: str, pos: int) -> bool:
    """True when the word at `pos` opens a sentence or a quotation (its capital is then expected)."""
    before = text[:pos].rstrip(" \t\n\"'“‘«(–—-")
    return not before or before[-1] in ".!?:;…\n"


@dataclass
class UnitContext:
    """Everything a detector may look at for one alignment unit."""

    mt: str
    ref: str  # "" when the article has no second text
    ref_kind: str = "reference"
    src: str = ""
    kind: str = "body"

    @cached_property
    def mt_words(self) -> list[Word]:
        return words_of(self.mt)

    @cached_property
    def ref_words(self) -> list[Word]:
        return words_of(self.ref)

    @cached_property
    def ref_vocab(self) -> frozenset[str]:
        return frozenset(w.norm for w in self.ref_words)

    def words_in(self, start: int, end: int) -> list[Word]:
        return [w for w in self.mt_words if w.start < end and w.end > start]

    def word_index_at(self, pos: int) -> int | None:
        for i, w in enumerate(self.mt_words):
            if w.start <= pos < w.end:
                return i
        return None


class Detector(Protocol):
    name: str
    reference_based: bool

    def detect(self, ctx: UnitContext) -> list[Flag]: ...


def make_flag(
    ctx: UnitContext, start: int, end: int, category: str, severity: str, detector: str, reason: str
) -> Flag:
    """A flag over mt[start:end], trimmed of surrounding spaces; offsets always match the text."""
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    start, end = max(0, start), min(len(ctx.mt), end)
    while start < end and ctx.mt[start].isspace():
        start += 1
    while end > start and ctx.mt[end - 1].isspace():
        end -= 1
    return Flag(start, end, ctx.mt[start:end], category, severity, detector, reason)


def quote(text: str, limit: int = 60) -> str:
    """Text as an editor reads it inside a reason: single-quoted, long spans shortened."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"'{text}'"
