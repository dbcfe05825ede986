"""Plain data passed between the pipeline stages.

segment -> align -> score -> flag -> report. Each stage takes and returns these
dataclasses only; no stage reaches into another's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEVERITIES = ("minor", "major", "critical")
VERDICTS = ("ok", "review", "rewrite")
REF_KINDS = ("reference", "retranslation")


class MtcheckError(Exception):
    """An error the user can fix; the CLI prints its message on one line and exits non-zero."""


class InputError(MtcheckError):
    """Unreadable, empty, binary or mismatched input."""


class ModelMissingError(MtcheckError):
    """A model package or folder is not installed / not found."""


def internal_error_message(exc: Exception) -> str:
    """One line for an unexpected error (a bug in mtcheck, not bad input)."""
    detail = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:200]
    return (
        f"internal error ({detail}); please report it with this article, and rerun with -v for the traceback"
    )


@dataclass(frozen=True)
class Sentence:
    """One segment of an article.

    `start`/`end` are character offsets into the decoded article text returned by
    `mtcheck.io.read_text` (so `text == article[start:end]`).
    `kind` is one of "headline", "dateline", "subhead", "body".
    """

    index: int
    text: str
    start: int
    end: int
    kind: str = "body"


@dataclass(frozen=True)
class Unit:
    """One alignment unit: MT sentence indices linked to reference sentence indices.

    Either side may be empty (1-0: added in MT, 0-1: omitted from MT), never both.
    """

    mt_ids: tuple[int, ...]
    ref_ids: tuple[int, ...]

    @property
    def link(self) -> str:
        return f"{len(self.mt_ids)}-{len(self.ref_ids)}"


@dataclass(frozen=True)
class TokenSpan:
    """A token (or word) of a unit's text with a number attached.

    Offsets index the unit text (`UnitScores` says which side). `value` is the
    surprisal in bits for LM tokens, or the best cosine match for matching tokens.
    """

    start: int
    end: int
    text: str
    value: float


@dataclass
class UnitScores:
    """Scores of one alignment unit (see README, "Scores").

    chrf, bleu: sacrebleu sentence scores 0-100; ter: 0+ (lower is better);
    similarity: sentence-embedding cosine (-1..1); fluency, adequacy, quality: 0-100 calibrated.
    A metric that cannot be computed for the unit (e.g. adequacy of a 1-0 unit) is None.
    """

    chrf: float | None = None
    bleu: float | None = None
    ter: float | None = None
    similarity: float | None = None
    fluency: float | None = None
    adequacy: float | None = None
    quality: float | None = None
    # Raw features behind the calibrated scales (lm_mean_bits, eos_bits, lm_max_bits,
    # match_precision, match_recall, match_f1, src_similarity, ...). Goes to the JSONL as `features`.
    features: dict[str, float] = field(default_factory=dict)
    # Per-token LM surprisal of the MT unit text (offsets into the unit's `mt`).
    mt_surprisal: list[TokenSpan] = field(default_factory=list)
    # MT words whose best match in the reference is weak (offsets into `mt`), and
    # reference words with no good match in the MT (offsets into `ref`).
    mt_unmatched: list[TokenSpan] = field(default_factory=list)
    ref_unmatched: list[TokenSpan] = field(default_factory=list)
    # Every MT word with its best match cosine in the reference (and every reference word with its best
    # match in the MT): the flag stage's word model reads the whole range, not only the weak ones.
    mt_match: list[TokenSpan] = field(default_factory=list)
    ref_match: list[TokenSpan] = field(default_factory=list)

    def as_dict(self) -> dict[str, float | None]:
        return {
            "chrf": self.chrf,
            "bleu": self.bleu,
            "ter": self.ter,
            "similarity": self.similarity,
            "fluency": self.fluency,
            "adequacy": self.adequacy,
            "quality": self.quality,
        }


@dataclass(frozen=True)
class Flag:
    """A flagged span of a unit's MT text: `mt[start:end] == text`."""

    start: int
    end: int
    text: str
    category: str  # MQM-style, e.g. "fluency/truncation", "accuracy/omission"
    severity: str  # one of SEVERITIES
    detector: str  # name of the detector that raised it
    reason: str  # plain words for an editor

    def as_dict(self) -> dict[str, object]:
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "category": self.category,
            "severity": self.severity,
            "detector": self.detector,
            "reason": self.reason,
        }


@dataclass
class UnitResult:
    """One row of the output contract (one JSONL record)."""

    doc: str
    unit: int
    mt_ids: list[int]
    ref_ids: list[int]
    link: str
    mt: str
    ref: str
    scores: UnitScores
    flags: list[Flag]
    verdict: str
    src: str = ""
    # [start, end] character offsets of each MT / reference sentence in its article.
    mt_spans: list[tuple[int, int]] = field(default_factory=list)
    ref_spans: list[tuple[int, int]] = field(default_factory=list)
    mt_kind: str = "body"  # kind of the first MT sentence (headline, dateline, subhead, body)

    def as_record(self) -> dict[str, object]:
        return {
            "doc": self.doc,
            "unit": self.unit,
            "mt_ids": list(self.mt_ids),
            "ref_ids": list(self.ref_ids),
            "link": self.link,
            "mt": self.mt,
            "ref": self.ref,
            "src": self.src,
            "scores": self.scores.as_dict(),
            "flags": [f.as_dict() for f in self.flags],
            "verdict": self.verdict,
            "kind": self.mt_kind,
            "mt_spans": [list(s) for s in self.mt_spans],
            "ref_spans": [list(s) for s in self.ref_spans],
            "features": dict(self.scores.features),
        }


@dataclass
class ArticleResult:
    """All units of one article plus what is needed for its report header."""

    doc: str
    units: list[UnitResult]
    ref_kind: str
    signature: str
    mt_path: str = ""
    ref_path: str = ""
    src_path: str = ""

    @property
    def scored_units(self) -> list[UnitResult]:
        return [u for u in self.units if u.mt]
