"""Who and whether: personal pronouns and negation that disagree with the reference.

Both are errors that read fluently and turn the meaning over, so a fluency check never sees them and
the quality model rarely does: "she" for "he" (Russian and Chinese MT guesses gender), "they" for
"we", a "not" lost or gained. Both rules compare the MT with its reference and stay silent where free
wording could explain the difference:

`PronounDetector`: the MT has pronouns of a person the reference never uses while the reference has
more of the person it is confused with (he/she, we/they) and has none of the MT's; those pronouns of the MT
are flagged, major. "It"/"they" and "I"/"you" are never compared (an organisation is either; "you" is
often no one in particular).

`NegationDetector`: a plain negation ("not", "n't", "never", "cannot") on one side only, while the other
side has no negative word of any kind ("no", "nothing", "without", "failed", "refused", "unable", ...):
an added negation is flagged on the MT's "not" and its verb, a lost one on the MT's counterpart of the
reference's negated word (and its auxiliary); where the MT has no such word, no flag. Major.
"""

from __future__ import annotations

from collections import Counter

from mtcheck.detectors.base import STOPWORDS, UnitContext, Word, make_flag, quote
from mtcheck.types import Flag

PERSON = {
    **dict.fromkeys(("i", "me", "my", "mine", "myself"), "first person singular"),
    **dict.fromkeys(("we", "us", "our", "ours", "ourselves"), "first person plural"),
    **dict.fromkeys(("you", "your", "yours", "yourself", "yourselves"), "second person"),
    **dict.fromkeys(("he", "him", "his", "himself"), "masculine"),
    **dict.fromkeys(("she", "her", "hers", "herself"), "feminine"),
    **dict.fromkeys(("they", "them", "their", "theirs", "themselves"), "third person plural"),
}
# Persons one is mistaken for in MT. Not "it"/"they" (an organisation is either) nor "I"/"you" ("to tell
# you the truth", the generic "you").
CONFUSED = {
    "masculine": "feminine",
    "feminine": "masculine",
    "first person plural": "third person plural",
    "third person plural": "first person plural",
}
PLAIN_NEGATION = frozenset(("not", "never", "cannot"))
# Negations that negate nothing: "not only" (... "but also"), "can't wait", "can't help but" (= must).
IDIOMS = frozenset(
    [("not", "only")] + [(can, verb) for can in ("can't", "cannot", "couldn't") for verb in ("wait", "help")]
)
CONTRACTED = {"won't": "will", "can't": "can", "shan't": "shall", "ain't": "is"}
# Any of these on the other side means the negation may just be worded differently: no flag.
NEGATIVE_WORDS = frozenset(
    [
        "no",
        "nobody",
        "nothing",
        "none",
        "neither",
        "nor",
        "nowhere",
        "without",
        "never",
        "not",
        "cannot",
        "lack",
        "lacks",
        "lacked",
        "lacking",
        "unable",
        "impossible",
        "hardly",
        "barely",
        "scarcely",
        "rarely",
        "seldom",
        "unlikely",
        "instead",
        "rather",
        "refuse",
        "refused",
        "refuses",
        "refusing",
        "fail",
        "failed",
        "fails",
        "failing",
        "deny",
        "denied",
        "denies",
        "denying",
        "reject",
        "rejected",
        "rejects",
        "absent",
        "absence",
        "little",
        "few",
        "less",
    ]
)


# Beginnings of words that say "not" ("in-" and "dis-" begin too many others to take them all).
NEGATIVE_STEMS = (
    "non-",
    "insuffic",
    "inadequ",
    "incorrect",
    "incapab",
    "incomplet",
    "inconsist",
    "ineffect",
    "inabil",
    "inappropr",
    "invalid",
    "illegal",
    "illegit",
    "irregul",
    "irrespons",
    "improp",
    "imposs",
    "disagre",
    "dislik",
    "disapprov",
)
# Words starting with "un" that are not negations.
UN_WORDS = frozenset(
    [
        "under",
        "understand",
        "understood",
        "understanding",
        "undertake",
        "undertaken",
        "underway",
        "union",
        "unions",
        "united",
        "unity",
        "universe",
        "universal",
        "university",
        "universities",
        "unique",
        "uniform",
        "uniforms",
        "unless",
        "until",
        "unveil",
        "unveiled",
    ]
)


def _person(word: Word) -> str | None:
    """The person of a personal pronoun, contracted ones included ("I'm", "we've", "they'll")."""
    return PERSON.get(word.norm.split("'")[0])


def _plain_negation(word: Word) -> bool:
    return word.norm in PLAIN_NEGATION or word.norm.endswith("n't")


def _negations(words: list[Word]) -> list[int]:
    """Indices of plain negations, less the `IDIOMS`."""
    return [
        i
        for i, w in enumerate(words)
        if _plain_negation(w) and not (i + 1 < len(words) and (w.norm, words[i + 1].norm) in IDIOMS)
    ]


def _negative(word: Word) -> bool:
    """A negation or a word that says "not" by itself ("unable", "non-binding", "failed")."""
    norm = word.norm
    prefixed = norm.startswith(NEGATIVE_STEMS) or (
        norm.startswith("un") and len(norm) > 5 and norm not in UN_WORDS
    )
    return _plain_negation(word) or norm in NEGATIVE_WORDS or prefixed


def _reversal(ctx: UnitContext, start: int, end: int, detector: str, reason: str) -> Flag:
    """Both rules' flags: a mistranslation that may turn the meaning over, major."""
    return make_flag(ctx, start, end, "accuracy/mistranslation", "major", detector, reason)


class PronounDetector:
    name = "pronouns"
    reference_based = True

    def detect(self, ctx: UnitContext) -> list[Flag]:
        if not ctx.ref.strip():
            return []
        mt = Counter(p for w in ctx.mt_words if (p := _person(w)))
        ref = Counter(p for w in ctx.ref_words if (p := _person(w)))
        flags = []
        for person, other in CONFUSED.items():
            if mt[person] and not ref[person] and ref[other] > mt[other]:
                theirs = [w.norm for w in ctx.ref_words if _person(w) == other]
                mine = {w.norm for w in ctx.mt_words}
                expected = sorted({n for n in theirs if n not in mine} or set(theirs))
                # Within the surplus person, the words the MT has more often than the reference ("our"
                # where the reference has "their", not the "we" both have).
                extra = Counter(w.norm for w in ctx.mt_words if _person(w) == person)
                extra.subtract(w.norm for w in ctx.ref_words if _person(w) == person)
                for w in ctx.mt_words:
                    if _person(w) == person and extra[w.norm] > 0:
                        said = ", ".join(quote(e) for e in expected)
                        reason = (
                            f"{quote(w.text)} is {person} where the reference says {said}: check who is meant"
                        )
                        flags.append(_reversal(ctx, w.start, w.end, self.name, reason))
        return flags


class NegationDetector:
    name = "negation"
    reference_based = True

    def detect(self, ctx: UnitContext) -> list[Flag]:
        if not ctx.ref.strip():
            return []
        mt_words, ref_words = ctx.mt_words, ctx.ref_words
        mt_plain = _negations(mt_words)
        ref_plain = _negations(ref_words)
        if mt_plain and not any(_negative(w) for w in ref_words):
            return [self._added(ctx, mt_words, i) for i in mt_plain]
        if ref_plain and not any(_negative(w) for w in mt_words):
            return [f for i in ref_plain if (f := self._lost(ctx, mt_words, ref_words, i)) is not None]
        return []

    def _added(self, ctx: UnitContext, words: list[Word], i: int) -> Flag:
        # "is not", "did not", "never went": the negation with the word it belongs to.
        start = words[i - 1].start if words[i].norm == "not" and i > 0 else words[i].start
        end = words[i + 1].end if words[i].norm == "never" and i + 1 < len(words) else words[i].end
        reason = f"{quote(ctx.mt[start:end])} is negated, the reference is not: the meaning may be reversed"
        return _reversal(ctx, start, end, self.name, reason)

    def _lost(self, ctx: UnitContext, mt_words: list[Word], ref_words: list[Word], i: int) -> Flag | None:
        # The reference's negated verb group: its auxiliary ("did" of "did not" / "didn't") and the next
        # content word ("go"); the flag spans their counterparts in the MT.
        negation = ref_words[i]
        if negation.norm.endswith("n't"):
            aux = CONTRACTED.get(negation.norm, negation.norm[:-3])
        else:
            aux = ref_words[i - 1].norm if i > 0 and negation.norm == "not" else ""
        negated = next((w for w in ref_words[i + 1 : i + 4] if w.norm not in STOPWORDS), None)
        if negated is None:
            return None
        at = next((k for k, w in enumerate(mt_words) if w.norm[:5] == negated.norm[:5]), None)
        if at is None:
            return None  # the negated word itself is reworded ("not rare" / "frequent"): nothing to compare
        # The auxiliary, when it stands just before the word ("did go"), joins the span.
        aux_at = next((k for k in range(at - 1, max(-1, at - 4), -1) if aux and mt_words[k].norm == aux), at)
        start, end = mt_words[aux_at].start, mt_words[at].end
        first = ref_words[i - 1] if aux and negation.norm == "not" else negation
        said = ctx.ref[first.start : negated.end]
        reason = (
            f"the reference says {quote(said)}, the MT {quote(ctx.mt[start:end])} without the negation: "
            "the meaning may be reversed"
        )
        return _reversal(ctx, start, end, self.name, reason)
