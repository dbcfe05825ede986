"""Numbers, dates, money and names that disagree with the reference.

Numbers are compared by value, so "one hundred" = "100", "three and a half" = "3.5", "$1.2 billion" = "1.2 billion dollars" =
"1,200,000,000 dollars", and a reordered or abbreviated date ("28 September", "September 28",
"Sept. 28") is the same date. A number in the MT that the reference lacks is flagged (major when the
reference has some other number in its place, minor when it has none); small spelled-out numbers
("two", "three") are minor, and not flagged at all when the reference has no number, because
translators often render them as "both", "a couple".
Months and weekdays are compared as names.

`NamesDetector`: a named entity (capitalised run mid-sentence) with no counterpart in the reference
(same word, same stem "Syria"/"Syrian", or an alias "U.S."/"USA"/"United States") while the reference
has a name with no counterpart in the MT: a swapped name, minor, with the reference's name in the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mtcheck.detectors.base import STOPWORDS, UnitContext, Word, is_sentence_start, make_flag, quote, words_of
from mtcheck.types import Flag

UNITS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
}
TENS = {
    w: 10 * (i + 2)
    for i, w in enumerate(["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"])
}
SCALES = {"hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "bn": 1e9}
SCALES |= {"mln": 1e6, "bln": 1e9, "dozen": 12}
CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₽": "RUB"}
CURRENCY_WORDS = {
    "dollar": "USD",
    "dollars": "USD",
    "euro": "EUR",
    "euros": "EUR",
    "pound": "GBP",
    "pounds": "GBP",
    "ruble": "RUB",
    "rubles": "RUB",
    "rouble": "RUB",
    "roubles": "RUB",
    "yuan": "CNY",
    "yen": "JPY",
}
MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            "january jan",
            "february feb",
            "march mar",
            "april apr",
            "may",
            "june jun",
            "july jul",
            "august aug",
            "september sept sep",
            "october oct",
            "november nov",
            "december dec",
        ]
    )
    for name in names.split()
}
WEEKDAYS = {
    name: i
    for i, names in enumerate(
        [
            "monday mon",
            "tuesday tue tues",
            "wednesday wed",
            "thursday thu thurs",
            "friday fri",
            "saturday sat",
        ]
        + ["sunday sun"]
    )
    for name in names.split()
}
DIGITS_RE = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:st|nd|rd|th|s)?$")


@dataclass(frozen=True)
class Quantity:
    value: float
    start: int
    end: int
    text: str
    spelled: bool
    currency: str = ""


def _digit_value(token: str) -> float | None:
    m = DIGITS_RE.match(token)
    if not m:
        return None
    whole = m.group(1).replace(",", "")
    return float(f"{whole}.{m.group(2)}") if m.group(2) else float(whole)


def _word_value(token: str) -> float | None:
    """Value of a spelled-out number word ("seven", "twenty-five"); None otherwise."""
    parts = token.lower().split("-")
    if len(parts) > 3 and parts[-3:] == ["and", "a", "half"]:  # "six-and-a-half"
        whole = _word_value("-".join(parts[:-3]))
        return None if whole is None else whole + 0.5
    if len(parts) == 2 and parts[0] in TENS and parts[1] in UNITS:
        return TENS[parts[0]] + UNITS[parts[1]]
    if len(parts) == 1:
        if parts[0] in UNITS:
            return UNITS[parts[0]]
        if parts[0] in TENS:
            return TENS[parts[0]]
    return None


def quantities(text: str, words: list[Word] | None = None) -> list[Quantity]:
    """Numbers of `text` with their values, joining "one hundred", "1.2 billion", "$5", "5 dollars"."""
    words = words if words is not None else words_of(text)
    out: list[Quantity] = []
    i = 0
    while i < len(words):
        w = words[i]
        low = w.norm
        digit = _digit_value(w.text)
        spelled = _word_value(low)
        if digit is None and spelled is None and not (low == "a" and i + 1 < len(words)):
            i += 1
            continue
        if low == "a" and words[i + 1].norm not in ("hundred", "thousand", "million", "billion", "dozen"):
            i += 1
            continue
        j = i
        total, current = 0.0, digit if digit is not None else (spelled if spelled is not None else 1.0)
        is_spelled = digit is None
        last_scale = 1.0  # of the last "thousand", "million", ... read: "a million and a half" is 1.5 million
        while j + 1 < len(words) and not text[words[j].end : words[j + 1].start].strip():
            nxt = words[j + 1].norm
            if nxt in SCALES:
                scale = SCALES[nxt]
                if scale == 100:
                    current *= 100
                else:
                    total += current * scale
                    current = 0.0
                    last_scale = scale
                j += 1
            elif is_spelled and _word_value(nxt) is not None:
                current += _word_value(nxt)
                j += 1
            elif nxt == "and" and [x.norm for x in words[j + 2 : j + 4]] == ["a", "half"]:
                # "three and a half" is 3.5, "two and a half million" 2.5 million, "a million and a half"
                # 1.5 million
                if current or not total:
                    current += 0.5
                else:
                    total += 0.5 * last_scale
                j += 3
            elif (
                not is_spelled
                and j + 2 < len(words)
                and (words[j + 1].text, text[words[j + 1].end : words[j + 2].start], words[j + 2].text)
                == ("1", "/", "2")
            ):
                current += 0.5  # "2 1/2"
                j += 2
            elif (
                is_spelled
                and nxt == "and"
                and j + 2 < len(words)
                and _word_value(words[j + 2].norm) is not None
            ):
                current += _word_value(words[j + 2].norm)
                j += 2
            else:
                break
        value = total + current
        # "one" alone is a pronoun as often as a number ("one of them", "no one").
        if is_spelled and j == i and low == "one":
            i += 1
            continue
        start, end = w.start, words[j].end
        currency = ""
        before = text[max(0, start - 2) : start].strip()
        if before and before[-1] in CURRENCY_SYMBOLS:
            currency = CURRENCY_SYMBOLS[before[-1]]
            start = text.rindex(before[-1], 0, start)
        elif j + 1 < len(words) and words[j + 1].norm in CURRENCY_WORDS:
            currency = CURRENCY_WORDS[words[j + 1].norm]
        out.append(Quantity(value, start, end, text[start:end], is_spelled, currency))
        i = j + 1
    return out


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def _names(words: list[Word], table: dict[str, int]) -> list[tuple[Word, int]]:
    out = []
    for w in words:
        key = w.norm.rstrip(".")
        # "may"/"march"/"sun"/"sat"... are ordinary words unless capitalised.
        if key in table and (w.is_capitalised or len(key) > 5):
            out.append((w, table[key]))
    return out


# Spellings of the same place or body; "U.S" (dots inside) and "US" normalise alike.
ALIASES = [
    {
        "us",
        "usa",
        "america",
        "united states",
        "united states of america",
        "washington",
        "american",
        "americans",
    },
    {"uk", "britain", "great britain", "united kingdom", "british"},
    {"rf", "russia", "russian federation", "russian", "moscow", "kremlin"},
    {"un", "united nations"},
    {"eu", "european union", "europe", "european", "europeans"},
    {"uae", "united arab emirates", "emirates"},
    {"prc", "china", "chinese", "beijing"},
]


def _entity_runs(text: str, words: list[Word]) -> list[list[Word]]:
    """Runs of capitalised words that are not just the capital of a sentence start."""
    runs: list[list[Word]] = []
    run: list[Word] = []
    for w in words:
        joined = run and not text[run[-1].end : w.start].strip(" -")
        if w.is_capitalised and not w.is_number and (joined or not run):
            run.append(w)
            continue
        if run:
            runs.append(run)
        run = [w] if w.is_capitalised and not w.is_number else []
    if run:
        runs.append(run)
    out = []
    for r in runs:
        if is_sentence_start(text, r[0].start):
            r = r[1:]  # the first word's capital is the sentence's; the rest may be a name
        r = [w for w in r if w.norm not in STOPWORDS and not PRONOUN_I.match(w.text) and w.text.isascii()]
        if r:
            out.append(r)
    return out


TITLE_CASE_SHARE = 0.9
PRONOUN_I = re.compile(r"^I(?:['’](?:m|ve|ll|d))?$")


def _key(text: str) -> str:
    return text.translate(str.maketrans("", "", ".’'")).lower()


def _known(word: str, vocab: set[str], prefixes: set[str]) -> bool:
    """True when the reference has the word, a same-stem form (Syria/Syrian) or an alias."""
    key = _key(word)
    if key in vocab or (len(key) >= 5 and key[:5] in prefixes):
        return True
    return any(key in group and group & vocab for group in ALIASES)


class NumbersDetector:
    name = "numbers"
    reference_based = True

    def detect(self, ctx: UnitContext) -> list[Flag]:
        if not ctx.ref.strip():
            return []
        flags: list[Flag] = []
        mt_q = quantities(ctx.mt, ctx.mt_words)
        ref_q = quantities(ctx.ref, ctx.ref_words)
        for q in mt_q:
            matches = [r for r in ref_q if _same(r.value, q.value)]
            if matches:
                r = matches[0]
                if q.currency and r.currency and q.currency != r.currency:
                    flags.append(
                        make_flag(
                            ctx,
                            q.start,
                            q.end,
                            "accuracy/mistranslation",
                            "major",
                            self.name,
                            f"currency differs: MT {quote(q.text)}, reference {quote(r.text)}",
                        )
                    )
                continue
            others = [r for r in ref_q if not any(_same(r.value, m.value) for m in mt_q)]
            small = q.spelled and q.value <= 10
            if small and not others:
                continue  # "two" against "both", "a couple": a paraphrase, not a wrong number
            severity = "major" if others and not small else "minor"
            tail = (
                f"the reference has {', '.join(quote(r.text) for r in others)}"
                if others
                else "the reference has no such number"
            )
            flags.append(
                make_flag(
                    ctx,
                    q.start,
                    q.end,
                    "accuracy/mistranslation",
                    severity,
                    self.name,
                    f"number {quote(q.text)} disagrees with the reference: {tail}",
                )
            )
        for table, what in ((MONTHS, "month"), (WEEKDAYS, "day")):
            ref_names = _names(ctx.ref_words, table)
            if not ref_names:
                continue
            ref_values = {v for _, v in ref_names}
            for w, v in _names(ctx.mt_words, table):
                if v not in ref_values:
                    flags.append(
                        make_flag(
                            ctx,
                            w.start,
                            w.end,
                            "accuracy/mistranslation",
                            "major",
                            self.name,
                            f"{what} {quote(w.text)} disagrees with the reference's "
                            f"{', '.join(quote(r.text) for r, _ in ref_names)}",
                        )
                    )
        return flags


class NamesDetector:
    name = "names"
    reference_based = True

    def detect(self, ctx: UnitContext) -> list[Flag]:
        if not ctx.ref.strip():
            return []
        vocab = {_key(w.text) for w in ctx.ref_words}
        ref_lower = ctx.ref.lower()
        vocab |= {g for group in ALIASES for g in group if " " in g and g in ref_lower}
        prefixes = {k[:5] for k in vocab if len(k) >= 5}
        mt_vocab = {_key(w.text) for w in ctx.mt_words}
        mt_lower = ctx.mt.lower()
        mt_vocab |= {g for group in ALIASES for g in group if " " in g and g in mt_lower}
        mt_prefixes = {k[:5] for k in mt_vocab if len(k) >= 5}
        month_or_day = set(MONTHS) | set(WEEKDAYS)
        ref_missing = [
            " ".join(w.text for w in run if not _known(w.text, mt_vocab, mt_prefixes))
            for run in _entity_runs(ctx.ref, ctx.ref_words)
        ]
        ref_missing = [m for m in ref_missing if m]
        if not ref_missing:
            return []  # an extra name with nothing in its place is usually a translator's choice
        content = [w for w in ctx.mt_words if w.norm not in STOPWORDS]
        if len(content) >= 3 and sum(w.is_capitalised for w in content) >= TITLE_CASE_SHARE * len(content):
            return []  # a title-case headline: its capitals are not names
        ref_lowercase = {w.norm for w in ctx.ref_words if not w.is_capitalised}
        flags = []
        for run in _entity_runs(ctx.mt, ctx.mt_words):
            unknown = [
                w
                for w in run
                if not _known(w.text, vocab, prefixes)
                and w.norm.rstrip(".") not in month_or_day
                and w.norm not in ref_lowercase
            ]
            if not unknown:
                continue
            start, end = unknown[0].start, unknown[-1].end
            text = ctx.mt[start:end]
            tail = f"the reference names {', '.join(quote(n) for n in ref_missing)} instead"
            flags.append(
                make_flag(
                    ctx,
                    start,
                    end,
                    "accuracy/mistranslation",
                    "minor",
                    self.name,
                    f"name {quote(text)} has no counterpart in the reference; {tail}",
                )
            )
        return flags
