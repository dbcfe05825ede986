"""Seeded generator of the errors wire copy shows, injected into good English translations.

Each `inject_*` takes a clean sentence (a human translation, or MT raters scored highly) and returns
the damaged text with the character span of the damage, its severity and category, or None when the
sentence offers no place for that error. The spans follow what an MQM rater would mark: the cut-off
end of a truncated clause, the words next to a gap, the scrambled stretch, the repeated phrase, the
wrong number, name, negation or pronoun, the untranslated source text.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

WORD = re.compile(r"[\w'’-]+", re.UNICODE)
# The generator keeps word lists of its own rather than the rule detectors' (`mtcheck.detectors`):
# errors defined by a detector's own lists would measure that detector against itself.
FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "and",
        "or",
        "but",
        "as",
        "that",
        "this",
        "these",
        "those",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "has",
        "have",
        "had",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
        "do",
        "does",
        "did",
        "it",
        "its",
        "he",
        "she",
        "they",
        "we",
        "you",
        "i",
        "his",
        "her",
        "their",
        "our",
        "your",
        "my",
        "him",
        "them",
        "us",
        "me",
        "not",
        "no",
        "so",
        "than",
        "then",
        "there",
        "which",
        "who",
        "whom",
        "whose",
        "what",
        "when",
        "where",
    ]
)
# Words a clause cannot end on: cutting right after one leaves the reader waiting (the seed headline).
DANGLING = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "and",
        "or",
        "but",
        "that",
        "which",
        "who",
        "whose",
        "is",
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "will",
        "would",
        "can",
        "could",
        "should",
        "must",
        "don't",
        "doesn't",
        "didn't",
        "won't",
        "their",
        "his",
        "her",
        "its",
        "our",
    ]
)
PRONOUN_SWAPS = {
    "he": "she",
    "she": "he",
    "his": "her",
    "him": "her",
    "we": "they",
    "they": "we",
    "our": "their",
    "their": "our",
    "us": "them",
    "them": "us",
    "i": "you",
    "you": "I",
}
NEGATABLE = (
    "is",
    "are",
    "was",
    "were",
    "will",
    "would",
    "can",
    "could",
    "should",
    "has",
    "have",
    "had",
    "does",
    "did",
    "do",
)
NAME_POOL = [
    "Moscow",
    "Kiev",
    "Beijing",
    "Berlin",
    "Paris",
    "London",
    "Washington",
    "Ankara",
    "Tehran",
    "Minsk",
    "Warsaw",
    "Tokyo",
    "Putin",
    "Biden",
    "Macron",
    "Merkel",
    "Erdogan",
    "Lavrov",
    "Zelensky",
    "Johnson",
    "Ivanov",
    "Petrov",
    "Smirnov",
    "Kuznetsov",
    "Novak",
    "Sechin",
    "Shoigu",
    "Peskov",
]
SCRIPT = re.compile(r"[\u0400-\u04FF\u3040-\u30FF\u4E00-\u9FFF]")

ERROR_TYPES = (
    "truncation",
    "omission",
    "scramble",
    "repetition",
    "number",
    "name",
    "negation",
    "person",
    "untranslated",
)


@dataclass
class Injected:
    text: str
    spans: list[tuple[int, int, str, str]]  # (start, end, severity, category) in `text`
    kind: str

    @property
    def severity(self) -> str:
        order = ("minor", "major", "critical")
        return max((s for _, _, s, _ in self.spans), key=order.index)


def _words(text: str) -> list[re.Match]:
    return list(WORD.finditer(text))


def _content(m: re.Match) -> bool:
    return m.group().lower() not in FUNCTION_WORDS and not m.group().isdigit()


def inject_truncation(text: str, rng: random.Random, src: str = "") -> Injected | None:
    words = _words(text)
    cuts = [i for i, w in enumerate(words[:-3]) if i >= 3 and w.group().lower() in DANGLING]
    if not cuts:
        return None
    i = rng.choice(cuts)
    end = words[i].end()
    return Injected(text[:end], [(words[i].start(), end, "major", "fluency")], "truncation")


def inject_omission(text: str, rng: random.Random, src: str = "") -> Injected | None:
    words = _words(text)
    starts = [i for i, w in enumerate(words[1:-1], 1) if _content(w)]
    if not starts:
        return None
    i = rng.choice(starts)
    n = rng.choice((1, 2, 2, 3, 4))
    j = min(len(words) - 1, i + n)  # drop words[i:j], keep the word after the gap
    if j <= i:
        return None
    a, b = words[i].start(), words[j].start()
    new = text[:a] + text[b:]
    nxt = words[j]
    start = nxt.start() - (b - a)
    severity = "major" if sum(_content(w) for w in words[i:j]) >= 2 else "minor"
    return Injected(new, [(start, start + len(nxt.group()), severity, "accuracy")], "omission")


def inject_scramble(text: str, rng: random.Random, src: str = "") -> Injected | None:
    words = _words(text)
    if len(words) < 7:
        return None
    n = rng.randint(4, min(7, len(words) - 1))
    i = rng.randint(0, len(words) - n)
    chunk = [w.group() for w in words[i : i + n]]
    shuffled = chunk[:]
    for _ in range(5):
        rng.shuffle(shuffled)
        if shuffled != chunk:
            break
    if shuffled == chunk:
        return None
    a, b = words[i].start(), words[i + n - 1].end()
    middle = " ".join(shuffled)
    return Injected(text[:a] + middle + text[b:], [(a, a + len(middle), "major", "fluency")], "scramble")


def inject_repetition(text: str, rng: random.Random, src: str = "") -> Injected | None:
    words = _words(text)
    if len(words) < 4:
        return None
    n = rng.choice((1, 2, 3, 4))
    i = rng.randint(0, len(words) - n)
    a, b = words[i].start(), words[i + n - 1].end()
    phrase = text[a:b]
    new = text[:b] + " " + phrase + text[b:]
    severity = "major" if n >= 3 else "minor"
    return Injected(new, [(b + 1, b + 1 + len(phrase), severity, "fluency")], "repetition")


def inject_number(text: str, rng: random.Random, src: str = "") -> Injected | None:
    numbers = list(re.finditer(r"\d+(?:[.,]\d+)?", text))
    if not numbers:
        return None
    m = rng.choice(numbers)
    old = m.group()
    digits = [k for k, c in enumerate(old) if c.isdigit()]
    k = rng.choice(digits)
    new_digit = rng.choice([d for d in "0123456789" if d != old[k] and not (k == 0 and d == "0")] or ["1"])
    new = old[:k] + new_digit + old[k + 1 :]
    if rng.random() < 0.3:
        new = old + "0"
    out = text[: m.start()] + new + text[m.end() :]
    return Injected(out, [(m.start(), m.start() + len(new), "major", "accuracy")], "number")


def inject_name(text: str, rng: random.Random, src: str = "") -> Injected | None:
    words = _words(text)
    names = [w for i, w in enumerate(words) if i > 0 and w.group()[:1].isupper() and w.group().isalpha()]
    if not names:
        return None
    m = rng.choice(names)
    choice = rng.choice([n for n in NAME_POOL if n != m.group()])
    out = text[: m.start()] + choice + text[m.end() :]
    return Injected(out, [(m.start(), m.start() + len(choice), "major", "accuracy")], "name")


def inject_negation(text: str, rng: random.Random, src: str = "") -> Injected | None:
    words = _words(text)
    negated = [w for w in words if w.group().lower() in ("not", "never") or w.group().lower().endswith("n't")]
    if negated and rng.random() < 0.5:
        m = rng.choice(negated)
        g = m.group()
        if g.lower() in ("not", "never"):
            a, b = m.start(), m.end()
            if b < len(text) and text[b] == " ":
                b += 1
            out = text[:a] + text[b:]
            nxt = _words(out[a:])
            if not nxt:
                return None
            return Injected(out, [(a, a + nxt[0].end(), "major", "accuracy")], "negation")
        base = {"won't": "will", "can't": "can", "don't": "do", "doesn't": "does", "didn't": "did"}.get(
            g.lower(), g[:-3]
        )
        out = text[: m.start()] + base + text[m.end() :]
        return Injected(out, [(m.start(), m.start() + len(base), "major", "accuracy")], "negation")
    aux = [w for w in words if w.group().lower() in NEGATABLE]
    if not aux:
        return None
    m = rng.choice(aux)
    inserted = m.group() + " not"
    out = text[: m.start()] + inserted + text[m.end() :]
    return Injected(out, [(m.start(), m.start() + len(inserted), "major", "accuracy")], "negation")


def inject_person(text: str, rng: random.Random, src: str = "") -> Injected | None:
    words = [w for w in _words(text) if w.group().lower() in PRONOUN_SWAPS]
    if not words:
        return None
    m = rng.choice(words)
    new = PRONOUN_SWAPS[m.group().lower()]
    if m.group()[0].isupper():
        new = new[0].upper() + new[1:]
    out = text[: m.start()] + new + text[m.end() :]
    return Injected(out, [(m.start(), m.start() + len(new), "major", "accuracy")], "person")


def inject_untranslated(text: str, rng: random.Random, src: str = "") -> Injected | None:
    """A stretch of English replaced by source-script words (from the source when it has that script)."""
    foreign = [w for w in re.findall(r"\S+", src) if SCRIPT.search(w)]
    words = _words(text)
    if not foreign or len(words) < 3:
        return None
    n = rng.randint(1, min(3, len(words) - 1))
    i = rng.randint(0, len(words) - n)
    k = rng.randint(0, max(0, len(foreign) - n))
    chunk = " ".join(foreign[k : k + n]).strip('.,;:!?"«»“”()')
    if not chunk:
        return None
    a, b = words[i].start(), words[i + n - 1].end()
    out = text[:a] + chunk + text[b:]
    return Injected(out, [(a, a + len(chunk), "critical", "accuracy")], "untranslated")


INJECTORS = {name: globals()[f"inject_{name}"] for name in ERROR_TYPES}


def inject(text: str, rng: random.Random, src: str = "", kind: str | None = None) -> Injected | None:
    """One error of `kind` (or of a random kind that fits the sentence) injected into `text`."""
    kinds = [kind] if kind else rng.sample(ERROR_TYPES, len(ERROR_TYPES))
    for k in kinds:
        out = INJECTORS[k](text, rng, src)
        if out is not None and out.text != text:
            return out
    return None
