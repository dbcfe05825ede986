"""Truncated clause: the sentence stops where no English sentence would.

Evidence, strongest first:
- the last word is an article/determiner ("the", "a", "their") or "of": the noun phrase is cut;
- the last word is a preposition, conjunction, auxiliary/modal, subject pronoun or a verb that needs an
  object ("have", "inflict"): the clause is cut, unless an ellipsis cue ("as we have", "than they do")
  explains it;
A strong last word is major on its own; a medium one is minor, and becomes major when the quality model
marks the same words (the flag stage's overlap rule: two independent witnesses).
Headlines legitimately lack a full stop, so a missing full stop only counts in body sentences; a
headline ending on "don't have" is still truncated.
"""

from __future__ import annotations

import re

from mtcheck.detectors.base import UnitContext, Word, make_flag, quote
from mtcheck.types import Flag

DETERMINERS = frozenset(["the", "a", "an", "every", "its", "their", "our", "my", "your", "whose"])
PREPOSITIONS = frozenset(
    [
        "of",
        "to",
        "for",
        "with",
        "from",
        "by",
        "into",
        "onto",
        "at",
        "in",
        "on",
        "about",
        "between",
        "among",
        "than",
        "like",
        "toward",
        "towards",
        "via",
        "without",
        "within",
        "against",
        "despite",
        "during",
        "through",
        "across",
        "behind",
        "under",
        "over",
        "beyond",
        "including",
    ]
)
# Particles/adverbs that end phrasal verbs ("the war is over", "we will go on") are not evidence.
PARTICLE_OK = frozenset(["in", "on", "over", "about", "through", "across", "behind", "under", "upon", "like"])
CONJUNCTIONS = frozenset(
    [
        "and",
        "or",
        "but",
        "nor",
        "because",
        "although",
        "while",
        "whether",
        "if",
        "unless",
        "whereas",
        "whom",
        "which",
    ]
)
AUXILIARIES = frozenset(
    [
        "have",
        "has",
        "had",
        "do",
        "does",
        "did",
        "don't",
        "doesn't",
        "didn't",
        "haven't",
        "hasn't",
        "hadn't",
        "is",
        "are",
        "was",
        "were",
        "isn't",
        "aren't",
        "wasn't",
        "weren't",
        "will",
        "would",
        "can",
        "could",
        "should",
        "must",
        "may",
        "might",
        "shall",
        "won't",
        "wouldn't",
        "can't",
        "couldn't",
        "shouldn't",
        "be",
        "been",
        "being",
        "not",
    ]
)
SUBJECT_PRONOUNS = frozenset(["i", "we", "they", "he", "she"])
# Verbs that need an object; at the very end of a sentence the object is missing.
TRANSITIVE = frozenset(
    [
        "make",
        "makes",
        "give",
        "gives",
        "put",
        "puts",
        "bring",
        "brings",
        "provide",
        "provides",
        "include",
        "includes",
        "inflict",
        "inflicts",
        "achieve",
        "achieves",
        "reach",
        "reaches",
        "send",
        "sends",
        "offer",
        "offers",
        "hold",
        "holds",
        "transfer",
        "take",
        "takes",
        "get",
        "gets",
    ]
)
# "as we have", "than they did", "so do we": elliptical endings that are fine.
ELLIPSIS_CUES = frozenset(["as", "than", "so", "nor", "neither", "too"])
# "what our lives are", "who we are": a wh-clause may end on its verb.
WH_WORDS = frozenset(
    ["what", "who", "whom", "where", "how", "whatever", "wherever", "however", "which", "why", "when"]
)
CLAUSE_BREAK = re.compile(r"[,;:–—]\s")
TERMINAL = ".!?…"
CUT_PUNCT = ",;–—-"


def _strip_end(text: str) -> tuple[str, str]:
    """The text without trailing closing quotes/brackets/spaces, and its last punctuation mark ('' if none)."""
    body = text.rstrip()
    body = body.rstrip("\"'”’»)] ")
    last = body[-1:] if body and not body[-1].isalnum() else ""
    return body, last


def _word_class(words: list[Word]) -> tuple[str, str] | None:
    """(strength, what is missing) for the last word, or None when it may end a sentence."""
    last = words[-1].norm
    prev = {w.norm for w in words[-4:-1]}
    elliptic = bool(prev & ELLIPSIS_CUES)
    if last in DETERMINERS:
        return "strong", f"stops after the determiner '{words[-1].text}': the noun is missing"
    if last == "of":
        return "strong", "stops after 'of': the rest of the phrase is missing"
    if last in SUBJECT_PRONOUNS and not elliptic:
        return "strong", f"stops after the subject '{words[-1].text}': the verb is missing"
    if elliptic:
        return None
    if len(words) >= 2 and words[-2].norm in DETERMINERS:
        return None  # "a while", "the like": the last word is a noun here
    if last in AUXILIARIES and {w.norm for w in words[-6:-1]} & WH_WORDS:
        return None
    if last in PREPOSITIONS and last not in PARTICLE_OK:
        return "medium", f"stops after the preposition '{words[-1].text}': its object is missing"
    if last in CONJUNCTIONS:
        return "medium", f"stops after '{words[-1].text}': the rest of the clause is missing"
    if last in ("have", "has", "had") and prev & AUXILIARIES | prev & {"not", "never"}:
        return "medium", f"stops after '{words[-1].text}': the object is missing"
    if last in AUXILIARIES:
        return "medium", f"stops after the auxiliary '{words[-1].text}': the verb or object is missing"
    if last in TRANSITIVE:
        return "medium", f"stops after '{words[-1].text}': the object is missing"
    if last in PARTICLE_OK:
        return "weak", f"stops after '{words[-1].text}': its object may be missing"
    return None


def _tail_span(ctx: UnitContext, body: str) -> tuple[int, int]:
    """The last words: the clause after the last comma/dash if short, else the last three words."""
    words = ctx.mt_words
    end = words[-1].end
    breaks = [m.end() for m in CLAUSE_BREAK.finditer(body)]
    if breaks:
        tail = [w for w in words if w.start >= breaks[-1]]
        if 1 <= len(tail) <= 6:
            return tail[0].start, end
    return words[max(0, len(words) - 3)].start, end


class TruncationDetector:
    name = "truncation"
    reference_based = False

    def detect(self, ctx: UnitContext) -> list[Flag]:
        words = ctx.mt_words
        if len(words) < 3:
            return []
        body, last_punct = _strip_end(ctx.mt)
        cls = _word_class(words)
        ends_open = bool(last_punct) and last_punct in CUT_PUNCT
        severity = None
        reason = ""
        if cls is not None:
            strength, reason = cls
            severity = {"strong": "major", "medium": "minor"}.get(strength)
        elif ends_open and ctx.kind == "body":
            severity = "minor"
            reason = f"ends on '{last_punct}': the rest of the sentence is missing"
        if severity is None:
            return []
        start, end = _tail_span(ctx, body)
        text = ctx.mt[start:end]
        return [
            make_flag(
                ctx,
                start,
                end,
                "fluency/truncation",
                severity,
                self.name,
                f"sentence {reason}; {quote(text)} is an unfinished clause",
            )
        ]
