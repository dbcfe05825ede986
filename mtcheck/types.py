"""Plain data passed between the pipeline stages.

segment -> align -> score -> flag -> report. Each stage takes and returns these
dataclasses only; no stage reaches into another's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEVERITIES = ("minor", "major", "critical")
VERDICTS = ("ok", "review", "rewrite")
REF_KINDS = ("reference", "retranslation")
# An article checked without any second text: the metric reads the MT alone.
NO_REFERENCE = "none"


class MtcheckError(Exception):
    """An error the user can fix; the CLI prints its message on one line and exits non-zero."""


class InputError(MtcheckError):
    """Unreadable, empty, binary or mismatched input."""


class ModelMissingError(MtcheckError):
    """A model package or folder is not installed / not found."""


def check_ref_kind(ref_kind: str) -> str:
    """The one check of a reference kind, for options, articles and manifest rows alike."""
    if ref_kind not in REF_KINDS:
        raise InputError(f"ref_kind must be one of {', '.join(REF_KINDS)}, not {ref_kind!r}")
    return ref_kind


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
class ErrorSpan:
    """An error a metric sees in a unit's MT: `mt[start:end]`, xCOMET-style.

    `category` is "accuracy" or "fluency"; `confidence` the model's probability of an error of this
    severity or worse.
    """

    start: int
    end: int
    severity: str  # one of SEVERITIES
    category: str
    confidence: float


@dataclass
class UnitScores:
    """Scores of one alignment unit (see README, "What the scores mean").

    fluency, adequacy, quality: 0-100 from the metric, higher is better; chrf, bleu: sacrebleu sentence
    scores 0-100; ter: 0+ (lower is better); similarity: MiniLM sentence cosine (-1..1). A score that
    cannot be computed for the unit (adequacy without a reference) is None.
    """

    chrf: float | None = None
    bleu: float | None = None
    ter: float | None = None
    similarity: float | None = None
    fluency: float | None = None
    adequacy: float | None = None
    quality: float | None = None
    # The metric's raw outputs and the cross-lingual `src_similarity`: the JSONL's `features`.
    features: dict[str, float] = field(default_factory=dict)

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

    @property
    def link(self) -> str:
        """ "1-1", "2-1", "0-1" (omitted from the MT), "1-0" (not in the reference), ..."""
        return f"{len(self.mt_ids)}-{len(self.ref_ids)}"

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

    @classmethod
    def from_record(cls, record: dict) -> UnitResult:
        """The unit back from its JSONL record (`as_record`): a resumed batch re-reads finished articles."""
        scores = UnitScores(**record["scores"], features=dict(record.get("features") or {}))
        return cls(
            doc=record["doc"],
            unit=record["unit"],
            mt_ids=list(record["mt_ids"]),
            ref_ids=list(record["ref_ids"]),
            mt=record["mt"],
            ref=record["ref"],
            scores=scores,
            flags=[Flag(**flag) for flag in record["flags"]],
            verdict=record["verdict"],
            src=record.get("src", ""),
            mt_spans=[tuple(span) for span in record["mt_spans"]],
            ref_spans=[tuple(span) for span in record["ref_spans"]],
            mt_kind=record.get("kind", "body"),
        )


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


@dataclass
class WorstUnit:
    """A unit that needs attention, as the article roll-up lists it."""

    unit: int
    link: str
    verdict: str
    quality: float | None
    n_flags: int
    mt: str


@dataclass
class ArticleSummary:
    """Roll-up of one article (the report header and the batch index).

    scored_units: units with MT text; quality: mean unit quality over scored units that have one (None
    if none); verdicts: {ok, review, rewrite: count}; rewrite_share: rewrite units / units;
    flags_by_severity / flags_by_category: counts (categories most frequent first); omitted: 0-1 units
    (reference sentences missing from the MT); added: 1-0 units; worst: up to 5 units whose verdict is
    not "ok", worst first.
    """

    doc: str
    ref_kind: str
    units: int
    scored_units: int
    quality: float | None
    verdicts: dict[str, int]
    rewrite_share: float
    flags: int
    flags_by_severity: dict[str, int]
    flags_by_category: dict[str, int]
    omitted: int
    added: int
    worst: list[WorstUnit]
