"""Surface checks that need no model: repetition, quotation marks, casing.

- repetition: a word doubled ("the the"), a phrase of three or more words said again right after
  itself, or a phrase of five or more words said twice anywhere, when the reference does not repeat it;
- quotes: quotation marks that open without closing (or the reverse) where the reference's do not, and
  the Russian-style dash around a speaker attribution (`”, – he said`, `said Putin. – Thought`);
- casing: a known multiword name with a lowercase word ("new York", "General staff"), or a common
  word capitalised mid-sentence ("very Frank") where the reference has it only in lowercase or an
  intensifier makes it an adjective (titles such as "President" and words the reference capitalises
  are left alone).
"""

from __future__ import annotations

import re

from mtcheck.detectors.base import STOPWORDS, UnitContext, Word, is_sentence_start, make_flag, quote
from mtcheck.types import Flag

TANDEM_GAP = 2  # words allowed between two copies of a repeated phrase
# Doubled words that English allows ("had had", "that that").
DOUBLE_OK = frozenset(["had", "that", "is", "bye", "no", "very", "really", "far", "so"])


class RepetitionDetector:
    name = "repetition"
    reference_based = False

    def detect(self, ctx: UnitContext) -> list[Flag]:
        words = ctx.mt_words
        norms = [w.norm for w in words]
        ref_text = " ".join(w.norm for w in ctx.ref_words)
        flags: list[Flag] = []
        covered: set[int] = set()
        # A phrase of three or more words said twice starts with a three-word phrase said twice: most
        # sentences have none, and skip the search below.
        trigrams = list(zip(norms, norms[1:], norms[2:], strict=False))
        longest = min(12, len(words) // 2) if len(set(trigrams)) < len(trigrams) else 2
        # Longest repeated phrase first, so "I'm sorry to hear that" is one flag, not five.
        for n in range(longest, 2, -1):
            positions: dict[tuple[str, ...], list[int]] = {}
            for i in range(len(words) - n + 1):
                positions.setdefault(tuple(norms[i : i + n]), []).append(i)
            for i in range(len(words) - n + 1):
                gram = tuple(norms[i : i + n])
                if all(g in STOPWORDS for g in gram) or covered & set(range(i, i + n)):
                    continue
                # A copy right after the previous one ("to work together, to work together") is a
                # decoding loop; a shorter phrase said again later in the sentence may be rhetoric.
                earlier = [j for j in positions[gram] if j + n <= i and (i - j - n <= TANDEM_GAP or n >= 5)]
                if not earlier:
                    continue
                total = 1
                for j in positions[gram][1:]:
                    total += j >= positions[gram][0] + n * total
                if ref_text.count(" ".join(gram)) >= total:
                    continue
                # A three-word phrase said twice in a row with nothing but a space between ("to live
                # together to live together") is a decoding loop; with a comma ("there are hypocrites,
                # there are hypocrites") it may be the speaker's own emphasis. No human translation of
                # the MQM fit half or the WMT21 ru-en `ref-B` rows has the first kind.
                loop = earlier[-1] + n == i and not ctx.mt[words[i - 1].end : words[i].start].strip()
                covered.update(range(i, i + n))
                covered.update(range(earlier[0], earlier[0] + n))
                first = ctx.mt[words[earlier[0]].start : words[earlier[0] + n - 1].end]
                said = "; the reference says it once" if ctx.ref else ""
                flags.append(
                    make_flag(
                        ctx,
                        words[i].start,
                        words[i + n - 1].end,
                        "accuracy/addition",
                        "major" if total >= 3 or n >= 4 or loop else "minor",
                        self.name,
                        f"{quote(first)} is repeated ({total} times in all){said}",
                    )
                )
        for i in range(1, len(words)):
            a, b = words[i - 1], words[i]
            if i in covered or a.norm != b.norm or a.norm in DOUBLE_OK or a.is_number:
                continue
            if ctx.mt[a.end : b.start].strip():  # "very, very" is a figure of speech, not a slip
                continue
            if f"{a.norm} {b.norm}" in ref_text:
                continue
            flags.append(
                make_flag(
                    ctx,
                    a.start,
                    b.end,
                    "fluency/grammar",
                    "minor",
                    self.name,
                    f"word doubled: {quote(b.text)}",
                )
            )
        return flags


OPEN_QUOTES = "“«„"
CLOSE_QUOTES = "”»"
# `”, – he stressed`, `said Putin. – Thought`: the dialogue dash of Russian typography.
RUSSIAN_DASH = re.compile(r"(?:[”\"»],?|[,.])\s*[–—]\s+(?=[^\W\d_])")


def _quote_balance(text: str) -> tuple[int, int]:
    """(typographic opens minus closes, count of straight double quotes)."""
    opens = sum(text.count(q) for q in OPEN_QUOTES)
    closes = sum(text.count(q) for q in CLOSE_QUOTES)
    return opens - closes, text.count('"')


class QuoteDetector:
    name = "quotes"
    reference_based = False

    def detect(self, ctx: UnitContext) -> list[Flag]:
        flags: list[Flag] = []
        mt_net, mt_straight = _quote_balance(ctx.mt)
        ref_net, ref_straight = _quote_balance(ctx.ref)
        # Sentence units cut multi-sentence quotations, so an imbalance is only suspicious where the
        # reference's matching unit is balanced differently (both quote styles counted together).
        mt_open = mt_net + (mt_straight % 2)
        ref_open = ref_net + (ref_straight % 2)
        if ctx.ref and (mt_open != 0) != (ref_open != 0):
            marks = [m.start() for m in re.finditer(r"[“”«»„\"]", ctx.mt)]
            if marks and mt_open != 0:
                pos = marks[-1] if mt_net > 0 or mt_straight % 2 else marks[0]
                flags.append(
                    make_flag(
                        ctx,
                        pos,
                        pos + 1,
                        "fluency/punctuation",
                        "minor",
                        self.name,
                        "unbalanced quotation marks: this quotation is opened or closed without its pair "
                        "(the reference's sentence is balanced)",
                    )
                )
        for m in RUSSIAN_DASH.finditer(ctx.mt):
            dash = ctx.mt.index("–" if "–" in m.group() else "—", m.start())
            flags.append(
                make_flag(
                    ctx,
                    dash,
                    dash + 1,
                    "fluency/punctuation",
                    "minor",
                    self.name,
                    "Russian-style dash around the speaker attribution; English closes the quotation with "
                    "a comma inside the quotation marks",
                )
            )
        return flags


# Multiword names whose first word is also a common word.
KNOWN_NAMES = frozenset(
    """new york|new delhi|new zealand|new jersey|new mexico|new orleans|hong kong|united states|united nations|
    united kingdom|white house|middle east|security council|soviet union|european union|general staff|
    saudi arabia|north korea|south korea|south africa|latin america|red cross|red square|wall street|
    prime minister|foreign ministry|defense ministry|state department|supreme court|red sea|black sea|
    far east|golden gate|great britain|dead sea|persian gulf|west bank|gaza strip|islamic state""".replace(
        "\n", ""
    ).split("|")
)
KNOWN_NAMES = frozenset(n.strip() for n in KNOWN_NAMES)
INTENSIFIERS = frozenset(["very", "so", "too", "quite", "rather", "extremely", "really", "fairly", "highly"])
# Titles are capitalised before names and by some style guides alone: not a casing error.
TITLES = frozenset(
    [
        "president",
        "minister",
        "prime",
        "chairman",
        "secretary",
        "general",
        "king",
        "queen",
        "prince",
        "premier",
        "governor",
        "mayor",
        "pope",
    ]
)


class CasingDetector:
    name = "casing"
    reference_based = False

    def detect(self, ctx: UnitContext) -> list[Flag]:
        words = ctx.mt_words
        ref_words = ctx.ref_words
        ref_capitalised = {w.norm for w in ref_words if w.is_capitalised}
        ref_lower_only = {w.norm for w in ref_words if not w.is_capitalised} - ref_capitalised
        flags: list[Flag] = []
        for i, w in enumerate(words):
            prev: Word | None = words[i - 1] if i else None
            nxt: Word | None = words[i + 1] if i + 1 < len(words) else None
            # Lowercase word inside a proper name: "new York", "General staff".
            if w.text.islower():
                for a, b, other in ((prev, w, prev), (w, nxt, nxt)):
                    if a is None or b is None or ctx.mt[a.end : b.start].strip():
                        continue
                    pair = (a.norm, b.norm)
                    named = " ".join(pair) in KNOWN_NAMES
                    if named and other.is_capitalised:
                        name = " ".join(x.text[:1].upper() + x.text[1:] for x in (a, b))
                        flags.append(self._flag(ctx, w, f"should be capitalised in the name {quote(name)}"))
                        break
            # Common word capitalised mid-sentence: "very Frank".
            if not w.is_capitalised or not w.text[1:].isalpha() or not w.text[1:].islower():
                continue
            if is_sentence_start(ctx.mt, w.start) or w.norm in TITLES or w.norm in ref_capitalised:
                continue
            if (prev and prev.is_capitalised and not is_sentence_start(ctx.mt, prev.start)) or (
                nxt and nxt.is_capitalised
            ):
                continue  # part of a capitalised run: a name or title ("President Vladimir Putin")
            after_intensifier = prev is not None and prev.norm in INTENSIFIERS
            if w.norm in ref_lower_only or after_intensifier:
                why = (
                    f"the reference has {quote(w.norm)} in lowercase"
                    if w.norm in ref_lower_only
                    else f"after {quote(prev.text)} it is an ordinary adjective, not a name"
                )
                flags.append(self._flag(ctx, w, f"should be lowercase mid-sentence ({why})"))
        return flags

    def _flag(self, ctx: UnitContext, word: Word, fix: str) -> Flag:
        """A minor spelling flag on one word: "casing: 'Frank' <fix>"."""
        return make_flag(
            ctx,
            word.start,
            word.end,
            "fluency/spelling",
            "minor",
            self.name,
            f"casing: {quote(word.text)} {fix}",
        )
