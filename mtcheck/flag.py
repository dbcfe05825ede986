"""Flag stage: garbled spans of each unit's MT text, with category, severity and reason; unit verdicts.

Two sources of evidence:
- the metric's error spans (`ErrorSpan`, from the trained model: severity, accuracy or fluency,
  confidence), turned into flags with a reason an editor can act on;
- hand-set rule detectors (`mtcheck.detectors`) for errors with a definite shape: a cut-off clause,
  numbers and names that differ from the reference, a pronoun or negation that turns the reference's
  meaning over, untranslated or transliterated source text, repeated phrases, unbalanced quotes, casing.

Overlap policy (one rule for every flag): where a model span overlaps a rule flag, the rule flag stays,
since its reason is more specific, and takes the higher of the two severities, its reason noting that the
model marks the same words; the model span is dropped. Two independent witnesses make a surer flag.
Flags of the same span and category are one flag (the more severe).

Against a *retranslation* (another MT system's output), reference-based flags (rules that compare with
the reference, and model spans read with it) are evidence, not proof: capped at major, said so in their
reason, and counted at half weight in the verdict. Without any second text only the MT is read: the
reference-based rules do not run and the model spans come from the model's reference-free mode.

An MT unit with the human reference's own wording (`same_wording`: equal up to whitespace and Unicode
normalisation) has nothing to flag: whatever a detector or the model would mark there is in the reference
too. The pipeline scores such a unit 100 for quality and adequacy. Against a retranslation, agreeing with
another MT system proves nothing, so such units are judged as usual.

Verdict (`Flagger.verdict`), MQM weights minor 1, major 5, critical 25:
    penalty = reference-free flags + w x reference-based flags, w = 1 (reference) or 0.5 (retranslation);
    rewrite: a critical flag, penalty >= REWRITE_PENALTY, or (against a human reference only) quality
             below the model's rewrite cut, or a major flag and quality below the model's ok cut;
    review:  penalty >= REVIEW_PENALTY, or quality below the model's ok cut;
    ok:      otherwise.
The quality cuts are fitted with the model and stored in its folder (`config.json`, "verdict").
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import replace

from mtcheck.detectors import Detector, UnitContext, default_detectors, words_of
from mtcheck.detectors.base import STOPWORDS, quote
from mtcheck.types import SEVERITIES, VERDICTS, ErrorSpan, Flag

VERSION = "flag7"
SEVERITY_WEIGHT = {"minor": 1.0, "major": 5.0, "critical": 25.0}
MODEL_DETECTOR = "model"
MODEL_CATEGORY = {"accuracy": "accuracy/mistranslation", "fluency": "fluency/grammar"}


def _overlaps(a: Flag, b: Flag) -> bool:
    return a.start < b.end and b.start < a.end


def _stem(word: str) -> str:
    return word.lower()[:5]


def same_wording(mt: str, ref: str) -> bool:
    """The MT unit says exactly what the reference says (whitespace and Unicode forms aside)."""

    def norm(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text).split())

    return bool(mt.strip()) and norm(mt) == norm(ref)


def missing_reference_words(mt: str, ref: str, limit: int = 3) -> list[str]:
    """Content words of the reference with no word of the same stem in the MT (what may be lost)."""
    have = {_stem(w.text) for w in words_of(mt)}
    out: list[str] = []
    for w in words_of(ref):
        if w.norm in STOPWORDS or len(w.text) < 3 or _stem(w.text) in have or w.text in out:
            continue
        out.append(w.text)
        if len(out) == limit:
            break
    return out


class Flagger:
    """Turns one unit's model spans and rule-detector hits into flags, and flags into a verdict."""

    # One major, or two minors, is worth an editor's look.
    REVIEW_PENALTY = 2.0
    # Three majors against a reference (six against a retranslation) mean the sentence must be redone.
    REWRITE_PENALTY = 15.0

    def __init__(self, verdict_cuts: dict[str, float] | None = None, detectors: list[Detector] | None = None):
        # Quality cuts from the model folder; without them only the flags decide.
        self.cuts = {"ok": -1.0, "rewrite": -1.0, **(verdict_cuts or {})}
        self.detectors = detectors if detectors is not None else default_detectors()

    @property
    def signature(self) -> str:
        """Short id of the detector set and cuts, for the report signature."""
        blob = json.dumps({"c": self.cuts, "d": [d.name for d in self.detectors]}, sort_keys=True).encode()
        return f"flags:{VERSION}+{hashlib.sha1(blob).hexdigest()[:8]}"

    def flag(
        self,
        mt: str,
        ref: str,
        spans: list[ErrorSpan],
        ref_kind: str = "reference",
        src: str = "",
        kind: str = "body",
    ) -> list[Flag]:
        if not mt.strip() or (ref_kind == "reference" and same_wording(mt, ref or "")):
            return []
        ctx = UnitContext(mt, ref or "", ref_kind, src or "", kind)
        has_ref = bool(ref and ref.strip())
        rules: list[Flag] = []
        for detector in self.detectors:
            if detector.reference_based and not has_ref:
                continue
            for f in detector.detect(ctx):
                if f.end > f.start:
                    rules.append(self._against_retranslation(f, detector.reference_based, ref_kind))
        model = [
            self._against_retranslation(self._model_flag(mt, ref, s, has_ref), has_ref, ref_kind)
            for s in spans
        ]
        flags = self._merge(rules, model)
        flags.sort(key=lambda f: (f.start, -f.end, f.category))
        assert all(mt[f.start : f.end] == f.text for f in flags), "flag offsets must index the MT text"
        return flags

    @staticmethod
    def _merge(rules: list[Flag], model: list[Flag]) -> list[Flag]:
        """The overlap policy of the module docstring."""
        best: dict[tuple[int, int, str], Flag] = {}
        for f in rules:
            agreeing = [m for m in model if _overlaps(f, m)]
            if agreeing:
                top = max((m.severity for m in agreeing), key=SEVERITIES.index)
                if SEVERITIES.index(top) > SEVERITIES.index(f.severity):
                    f = replace(f, severity=top, reason=f"{f.reason}; the quality model marks the same words")
            key = (f.start, f.end, f.category)
            old = best.get(key)
            if old is None or SEVERITIES.index(f.severity) > SEVERITIES.index(old.severity):
                best[key] = f
        kept = [m for m in model if not any(_overlaps(m, f) for f in rules)]
        return list(best.values()) + kept

    @staticmethod
    def _model_flag(mt: str, ref: str, span: ErrorSpan, has_ref: bool) -> Flag:
        text = mt[span.start : span.end]
        sure = f"model confidence {span.confidence:.2f}"
        if span.category == "fluency":
            reason = f"{quote(text)} does not read as correct English ({sure})"
        elif has_ref:
            reason = f"{quote(text)} does not convey what the reference says ({sure})"
            missing = missing_reference_words(mt, ref)
            if missing:
                reason += (
                    f"; the reference has {', '.join(quote(w) for w in missing)} with no counterpart here"
                )
        else:
            reason = f"{quote(text)} reads as a likely mistranslation ({sure}); check it against the source"
        return Flag(
            span.start, span.end, text, MODEL_CATEGORY[span.category], span.severity, MODEL_DETECTOR, reason
        )

    @staticmethod
    def _against_retranslation(flag: Flag, reference_based: bool, ref_kind: str) -> Flag:
        """Against a retranslation every flag names the other text as what it is; a reference-based flag
        is also capped at major and said to be evidence only."""
        if ref_kind != "retranslation":
            return flag
        reason = re.sub(r"\breference\b", "retranslation", flag.reason)
        if not reference_based:
            return replace(flag, reason=reason)
        severity = "major" if flag.severity == "critical" else flag.severity
        return replace(flag, severity=severity, reason=f"{reason} (a retranslation is machine output: check)")

    def reference_based(self, flag: Flag, has_ref: bool) -> bool:
        if flag.detector == MODEL_DETECTOR:
            return has_ref
        return any(d.name == flag.detector and d.reference_based for d in self.detectors)

    def verdict(self, quality: float | None, flags: list[Flag], ref_kind: str, has_ref: bool = True) -> str:
        """ok / review / rewrite by the rule in the module docstring."""
        ref_weight = 0.5 if ref_kind == "retranslation" else 1.0
        penalty = sum(
            SEVERITY_WEIGHT[f.severity] * (ref_weight if self.reference_based(f, has_ref) else 1.0)
            for f in flags
        )
        critical = any(f.severity == "critical" for f in flags)
        # A score decides a rewrite only against a human reference: against machine output, or with the MT
        # alone, it is evidence to review.
        scored = quality is not None and has_ref and ref_kind == "reference"
        low = scored and quality < self.cuts["rewrite"]
        # Two witnesses of one broken sentence: a major flag, and a score that a review alone would follow.
        confirmed = scored and quality < self.cuts["ok"] and any(f.severity == "major" for f in flags)
        if critical or penalty >= self.REWRITE_PENALTY or low or confirmed:
            result = "rewrite"
        elif penalty >= self.REVIEW_PENALTY or (quality is not None and quality < self.cuts["ok"]):
            result = "review"
        else:
            result = "ok"
        assert result in VERDICTS
        return result
