"""Score aligned units: surface metrics, embedding similarity, token matching, LM surprisal, calibrated scales.

`Scorer` loads its models once (like bert_score's scorer object) and scores all units of an article,
or a whole evaluation file, in a few batched model calls:

    scorer = Scorer()                       # MiniLM + SmolLM2, shipped calibration
    scores = scorer.score_units(mt_texts, ref_texts)
    scorer.signature                        # mtcheck:0.1.0|emb:...|lm:...|calib:...|chrF2|bleu:eff

Empty sides (alignment units 0-1 and 1-0):
- mt == "" (reference sentence omitted from the MT): nothing is scored; every score is None and the
  lists are empty. The unit's `link` ("0-1") already says what happened.
- ref == "" (MT sentence with no reference counterpart): only what needs no reference is computed: the LM
  features and `mt_surprisal`; chrf, bleu, ter, similarity, adequacy and quality are None. Fluency is
  still given (it needs no reference).

With `use_lm=False` (the CLI's --no-lm fast mode) the LM is never loaded: fluency is None (no LM-free
signal of fluency is good enough to be called one), `mt_surprisal` is empty and quality/adequacy come
from the LM-free fit in the calibration file.

Features (`UnitScores.features`, all floats; see FEATURE_DOC for the meaning of each) feed the
calibrated fluency / adequacy / quality scales whose parameters live in `mtcheck/calibration.json`
(fitted by `python -m mtcheck.calibrate`; see its docstring for what the numbers mean). Without that
file a hand-set PROVISIONAL mapping is used and the signature says `calib:provisional`.

Model work per call: MiniLM reads each distinct MT and reference text once (sentence embedding and
token embeddings from one pass); SmolLM2 reads each distinct MT alone (fluency, `mt_surprisal`) and each
distinct (reference, MT) pair as "Sentence: <reference>\nParaphrase: <MT>" (adequacy: how well the
reference predicts the MT). Token spans in `mt_surprisal` are the MT-alone surprisals.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mtcheck import __version__
from mtcheck.models import CausalLM, Embedder
from mtcheck.types import TokenSpan, UnitScores

# Bump when a feature's definition changes: calibration caches are keyed by it.
FEATURES_VERSION = 2
DEFAULT_CALIBRATION = Path(__file__).with_name("calibration.json")

# A word whose best contextual-cosine match on the other side is under this is listed as unmatched.
# Measured on 600 TED MQM segments (zh-en, MiniLM last layer): median best match 0.92 for MT words
# outside any annotated error, 0.86 inside Major accuracy errors; under 0.5 fall 5.3% of the former
# and 13.5% of the latter (0.4: 2.4% / 9.1%; 0.6: 9.2% / 19.1%). A weak signal alone: combine it.
DEFAULT_UNMATCHED_THRESHOLD = 0.5

# Words: letters/digits with inner apostrophes or hyphens ("don't", "Syria-based"); punctuation is not a word.
_WORD = re.compile(r"\w+(?:['’\-]\w+)*")

FEATURE_DOC: dict[str, str] = {
    "chrf": "sacrebleu sentence chrF2 (0-100)",
    "bleu": "sacrebleu sentence BLEU with effective order (0-100)",
    "ter": "sacrebleu sentence TER (0+, lower is better)",
    "similarity": "MiniLM sentence-embedding cosine of MT and reference",
    "match_precision": "mean over MT word pieces of the best cosine to any reference piece (BERTScore P, no idf)",
    "match_recall": "mean over reference word pieces of the best cosine to any MT piece (BERTScore R, no idf)",
    "match_f1": "harmonic mean of match_precision and match_recall",
    "match_min_precision": "lowest best-match cosine of any MT word (one garbled or invented word)",
    "match_min_recall": "lowest best-match cosine of any reference word (one dropped word)",
    "len_ratio_log": "log of MT characters over reference characters",
    "mt_chars_log": "log(1 + MT characters)",
    "ref_chars_log": "log(1 + reference characters)",
    "lm_mean_bits": "mean LM surprisal of the MT tokens, bits per token (length-normalised)",
    "lm_max_bits": "highest LM surprisal of any MT token, bits",
    "lm_p90_bits": "90th percentile of the MT token surprisals, bits",
    "lm_sum_bits": "total LM surprisal of the MT, bits",
    "lm_tokens": "number of LM tokens of the MT",
    "unmatched_mt_share": "share of MT words listed in mt_unmatched",
    "unmatched_ref_share": "share of reference words listed in ref_unmatched",
    "eos_bits": "surprisal of the MT sentence ending where it does (high for a cut-off sentence), bits",
    "ref_lm_mean_bits": "mean LM surprisal of the reference tokens (read as the prompt's sentence), bits",
    "lm_mean_bits_vs_ref": "lm_mean_bits minus ref_lm_mean_bits (MT less fluent than the reference if > 0)",
    "cond_lm_mean_bits": "mean surprisal of the MT tokens after 'Sentence: <reference>\\nParaphrase:', bits",
    "cond_lm_max_bits": "highest reference-conditioned surprisal of an MT token, bits",
    "cond_lm_p90_bits": "90th percentile of the reference-conditioned MT token surprisals, bits",
    "cond_lm_sum_bits": "total reference-conditioned surprisal of the MT, bits",
    "cond_eos_bits": "sentence-end surprisal of the MT after the reference prompt, bits",
    "pmi_mean_bits": "lm_mean_bits minus cond_lm_mean_bits: bits per token the reference explains",
    "ter_log": "log(1 + min(TER, 300) / 100)",
    "len_ratio_abs": "absolute value of len_ratio_log (length mismatch either way)",
    "match_pr_gap": "match_precision minus match_recall (> 0: MT leaves reference content out)",
    "src_similarity": "multilingual sentence-embedding cosine of MT and source (only with a source encoder)",
}


def add_derived(f: dict[str, float]) -> dict[str, float]:
    """Add features computed from other features (in place; returns `f`). Used by calibration on cached
    raw features too, so a derived feature needs no model re-run."""
    if "ter" in f:
        f["ter_log"] = math.log1p(min(f["ter"], 300.0) / 100.0)  # TER > 100 (much longer MT) saturates
    if "len_ratio_log" in f:
        f["len_ratio_abs"] = abs(f["len_ratio_log"])
    if "match_precision" in f and "match_recall" in f:
        f["match_pr_gap"] = f["match_precision"] - f["match_recall"]
    return f


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def words_with_values(
    text: str, spans: Sequence[tuple[int, int]], values: Sequence[float]
) -> list[TokenSpan]:
    """Merge word pieces into whole words; a word's value is the mean of its pieces' values.

    Pieces that fall in no word (punctuation) are dropped. Offsets index `text`.
    """
    result: list[TokenSpan] = []
    piece = 0
    for match in _WORD.finditer(text):
        start, end = match.span()
        while piece < len(spans) and spans[piece][1] <= start:
            piece += 1
        inside = []
        k = piece
        while k < len(spans) and spans[k][0] < end:
            inside.append(values[k])
            k += 1
        if inside:
            result.append(TokenSpan(start, end, match.group(), float(np.mean(inside))))
    return result


class Calibration:
    """Maps feature dicts to 0-100 scales with the plain numbers stored in calibration.json.

    Each scale ("fluency", "adequacy", "quality", and LM-free variants "adequacy_nolm", "quality_nolm")
    is: standardise the named features (clip to +-4 sd), take a weighted sum, then map the sum through
    monotone knots (piecewise-linear, sum -> 0-100) so that 50 is the median human-judged segment of the
    fitting data. Missing features are replaced by their fitting mean (i.e. contribute 0).
    """

    def __init__(self, data: dict, digest: str):
        self.data = data
        self.digest = digest
        # Verdict cuts on the quality scale: {"rewrite": q_r, "ok": q_ok} (see mtcheck.calibrate).
        self.thresholds: dict[str, float] = {
            k: float(v) for k, v in data.get("thresholds", {}).items() if isinstance(v, int | float)
        }

    @classmethod
    def load(cls, path: Path | None = None) -> Calibration:
        path = Path(path) if path else DEFAULT_CALIBRATION
        if not path.is_file():
            return cls(PROVISIONAL, "provisional")
        raw = path.read_bytes()
        return cls(json.loads(raw), hashlib.sha256(raw).hexdigest()[:8])

    def has(self, scale: str) -> bool:
        return scale in self.data.get("scales", {})

    def apply(self, scale: str, features: dict[str, float]) -> float | None:
        spec = self.data["scales"].get(scale)
        if spec is None:
            return None
        total = float(spec.get("bias", 0.0))
        for name, mean, sd, weight in zip(
            spec["features"], spec["mean"], spec["scale"], spec["weights"], strict=True
        ):
            value = features.get(name)
            if value is None or not math.isfinite(value):
                continue
            total += weight * float(np.clip((value - mean) / sd, -4.0, 4.0))
        knots_x, knots_y = spec["knots_x"], spec["knots_y"]
        return float(np.clip(np.interp(total, knots_x, knots_y), 0.0, 100.0))


# Used until `python -m mtcheck.calibrate` has written calibration.json: hand-set weights on features
# with rough means/spreads seen on WMT MT output, and a linear sum -> 0-100 map (sum 0 -> 50, +-2 -> 0/100).
_PROVISIONAL_KNOTS = {"knots_x": [-2.0, 2.0], "knots_y": [0.0, 100.0]}
PROVISIONAL: dict = {
    "version": 0,
    "provisional": True,
    "scales": {
        "fluency": {
            "features": ["lm_mean_bits", "eos_bits", "lm_max_bits"],
            "mean": [5.0, 2.5, 14.0],
            "scale": [1.5, 2.0, 3.0],
            "weights": [-0.5, -0.3, -0.2],
            **_PROVISIONAL_KNOTS,
        },
        "adequacy": {
            "features": ["chrf", "match_f1", "similarity"],
            "mean": [50.0, 0.8, 0.75],
            "scale": [18.0, 0.08, 0.15],
            "weights": [0.4, 0.3, 0.3],
            **_PROVISIONAL_KNOTS,
        },
        "quality": {
            "features": ["chrf", "match_f1", "similarity", "lm_mean_bits_vs_ref", "eos_bits"],
            "mean": [50.0, 0.8, 0.75, 0.5, 2.5],
            "scale": [18.0, 0.08, 0.15, 1.0, 2.0],
            "weights": [0.3, 0.25, 0.25, -0.1, -0.1],
            **_PROVISIONAL_KNOTS,
        },
    },
    "thresholds": {"rewrite": 25.0, "ok": 60.0},
}
PROVISIONAL["scales"]["adequacy_nolm"] = PROVISIONAL["scales"]["adequacy"]
PROVISIONAL["scales"]["quality_nolm"] = PROVISIONAL["scales"]["adequacy"]


class Scorer:
    """Scores alignment units. Models load lazily on first use and once per Scorer.

    embedder: sentence/token encoder (default all-MiniLM-L6-v2); lm: causal LM (default SmolLM2-135M);
    use_lm=False skips the LM entirely (fast mode). src_encoder: optional multilingual encoder with an
    `encode(texts) -> np.ndarray` of unit-length rows, used for `src_similarity` when `src` is given.
    calibration_path: a calibration JSON (default: the one shipped in the package).
    unmatched_threshold: words whose best match is under it go to mt_unmatched / ref_unmatched.
    """

    def __init__(
        self,
        embedder: Embedder | None = None,
        lm: CausalLM | None = None,
        use_lm: bool = True,
        src_encoder=None,
        calibration_path: Path | None = None,
        unmatched_threshold: float = DEFAULT_UNMATCHED_THRESHOLD,
    ):
        self.embedder = embedder or Embedder()
        self.use_lm = use_lm
        self.lm = (lm or CausalLM()) if use_lm else None
        self.src_encoder = src_encoder
        self.calibration = Calibration.load(calibration_path)
        self.unmatched_threshold = unmatched_threshold
        import sacrebleu

        self._chrf = sacrebleu.metrics.CHRF()
        self._bleu = sacrebleu.metrics.BLEU(effective_order=True)
        self._ter = sacrebleu.metrics.TER()

    @property
    def signature(self) -> str:
        """Reproducibility string, sacrebleu style: versions of everything a score depends on."""
        lm = f"{self.lm.name}@{self.lm.version}" if self.lm is not None else "none"
        parts = [
            f"mtcheck:{__version__}",
            f"emb:{self.embedder.name}",
            f"lm:{lm}",
            f"calib:{self.calibration.digest}",
            "chrF2",
            "bleu:eff",
            f"unmatched:{self.unmatched_threshold:g}",
        ]
        # The source encoder is named per article by the pipeline, only where a source was scored.
        return "|".join(parts)

    @property
    def thresholds(self) -> dict[str, float]:
        """Quality cuts of the calibration: quality < "rewrite" -> rewrite, >= "ok" -> ok, else review."""
        return dict(self.calibration.thresholds)

    @property
    def feature_signature(self) -> str:
        """What the raw features depend on (not the calibration): keys feature caches."""
        lm = f"{self.lm.name}@{self.lm.version}" if self.lm is not None else "none"
        return f"features:{FEATURES_VERSION}|emb:{self.embedder.name}|lm:{lm}|unmatched:{self.unmatched_threshold:g}"

    # ------------------------------------------------------------------------------------------------
    def features(
        self, mt: list[str], ref: list[str], src: list[str] | None = None
    ) -> tuple[list[dict[str, float]], list[dict]]:
        """Raw features per unit plus the token-level extras (surprisal spans, unmatched words).

        Used by `score_units` and by calibration (which caches the features).
        """
        if len(mt) != len(ref) or (src is not None and len(src) != len(mt)):
            raise ValueError("mt, ref (and src) must have the same number of units")
        n = len(mt)
        feats: list[dict[str, float]] = [{} for _ in range(n)]
        extras: list[dict] = [
            {"mt_surprisal": [], "mt_unmatched": [], "ref_unmatched": [], "mt_match": [], "ref_match": []}
            for _ in range(n)
        ]
        both = [i for i in range(n) if mt[i].strip() and ref[i].strip()]

        for i in both:
            f = feats[i]
            f["chrf"] = self._chrf.sentence_score(mt[i], [ref[i]]).score
            f["bleu"] = self._bleu.sentence_score(mt[i], [ref[i]]).score
            f["ter"] = self._ter.sentence_score(mt[i], [ref[i]]).score
            f["len_ratio_log"] = math.log((len(mt[i]) + 1) / (len(ref[i]) + 1))
            f["mt_chars_log"] = math.log1p(len(mt[i]))
            f["ref_chars_log"] = math.log1p(len(ref[i]))

        if both:
            self._embedding_features(mt, ref, both, feats, extras)
        if self.lm is not None:
            self._lm_features(mt, ref, feats, extras)
        if self.src_encoder is not None and src is not None:
            with_src = [i for i in range(n) if mt[i].strip() and src[i].strip()]
            if with_src:
                a = np.asarray(self.src_encoder.encode([mt[i] for i in with_src]))
                b = np.asarray(self.src_encoder.encode([src[i] for i in with_src]))
                for k, i in enumerate(with_src):
                    feats[i]["src_similarity"] = float(a[k] @ b[k])
        for f in feats:
            add_derived(f)
        return feats, extras

    def _embedding_features(self, mt, ref, both: list[int], feats, extras) -> None:
        # The embedder's memo runs each distinct text once (a reference shared by several units).
        sentence, tokens = self.embedder.encode_with_tokens([mt[i] for i in both] + [ref[i] for i in both])
        for k, i in enumerate(both):
            f = feats[i]
            a, b = k, len(both) + k
            f["similarity"] = float(sentence[a] @ sentence[b])
            (mt_spans, mt_vecs), (ref_spans, ref_vecs) = tokens[a], tokens[b]
            if len(mt_vecs) == 0 or len(ref_vecs) == 0:
                continue
            sim = mt_vecs @ ref_vecs.T
            best_for_mt = sim.max(axis=1)
            best_for_ref = sim.max(axis=0)
            precision, recall = float(best_for_mt.mean()), float(best_for_ref.mean())
            f["match_precision"] = precision
            f["match_recall"] = recall
            f["match_f1"] = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
            mt_words = words_with_values(mt[i], mt_spans, best_for_mt)
            ref_words = words_with_values(ref[i], ref_spans, best_for_ref)
            if mt_words:
                f["match_min_precision"] = min(w.value for w in mt_words)
                f["unmatched_mt_share"] = float(
                    np.mean([w.value < self.unmatched_threshold for w in mt_words])
                )
            if ref_words:
                f["match_min_recall"] = min(w.value for w in ref_words)
                f["unmatched_ref_share"] = float(
                    np.mean([w.value < self.unmatched_threshold for w in ref_words])
                )
            extras[i]["mt_unmatched"] = [w for w in mt_words if w.value < self.unmatched_threshold]
            extras[i]["ref_unmatched"] = [w for w in ref_words if w.value < self.unmatched_threshold]
            extras[i]["mt_match"], extras[i]["ref_match"] = mt_words, ref_words

    @staticmethod
    def _surprisal_stats(spans: list[TokenSpan], eos: float, prefix: str, f: dict[str, float]) -> None:
        bits = np.array([s.value for s in spans]) if spans else np.zeros(1)
        f[prefix + "lm_mean_bits"] = float(bits.mean())
        f[prefix + "lm_max_bits"] = float(bits.max())
        f[prefix + "lm_p90_bits"] = float(np.percentile(bits, 90))
        f[prefix + "lm_sum_bits"] = float(bits.sum())
        f[prefix + "lm_tokens"] = float(len(spans))
        if math.isfinite(eos):
            f[prefix + "eos_bits"] = eos

    def _lm_features(self, mt, ref, feats, extras) -> None:
        # Two LM passes: the MT alone (fluency, the token surprisals editors see), and the MT after the
        # reference in a paraphrase prompt (does the MT say what the reference says?). The second pass
        # also yields the reference's own surprisal, a baseline for how hard the sentence is.
        with_mt = [i for i in range(len(mt)) if mt[i].strip()]
        unique_mt = list(dict.fromkeys(mt[i] for i in with_mt))
        alone = dict(zip(unique_mt, self.lm.surprisal(unique_mt), strict=True))
        pairs = list(dict.fromkeys((mt[i], ref[i]) for i in with_mt if ref[i].strip()))
        conditioned = self.lm.conditional_surprisal([p[0] for p in pairs], [p[1] for p in pairs])
        after_ref = dict(zip(pairs, conditioned, strict=True))
        for i in with_mt:
            f = feats[i]
            spans, eos = alone[mt[i]]
            self._surprisal_stats(spans, eos, "", f)
            extras[i]["mt_surprisal"] = list(spans)
            if (mt[i], ref[i]) in after_ref:
                cond_spans, cond_eos, ref_bits = after_ref[(mt[i], ref[i])]
                self._surprisal_stats(cond_spans, cond_eos, "cond_", f)
                f.pop("cond_lm_tokens")  # same as lm_tokens
                f["pmi_mean_bits"] = f["lm_mean_bits"] - f["cond_lm_mean_bits"]
                if math.isfinite(ref_bits):
                    f["ref_lm_mean_bits"] = ref_bits
                    f["lm_mean_bits_vs_ref"] = f["lm_mean_bits"] - ref_bits

    # ------------------------------------------------------------------------------------------------
    def scales(self, features: dict[str, float], has_mt: bool, has_ref: bool) -> tuple:
        """(fluency, adequacy, quality) on 0-100 from one unit's features; None where not computable."""
        if not has_mt:
            return None, None, None
        calib = self.calibration
        fluency = calib.apply("fluency", features) if self.lm is not None else None
        if not has_ref:
            return fluency, None, None
        suffix = "" if self.lm is not None else "_nolm"
        return fluency, calib.apply("adequacy" + suffix, features), calib.apply("quality" + suffix, features)

    def score_units(self, mt: list[str], ref: list[str], src: list[str] | None = None) -> list[UnitScores]:
        """Score each (mt[i], ref[i]) unit; see the module docstring for empty sides and --no-lm."""
        feats, extras = self.features(mt, ref, src)
        results = []
        for i, (f, extra) in enumerate(zip(feats, extras, strict=True)):
            has_mt, has_ref = bool(mt[i].strip()), bool(ref[i].strip())
            fluency, adequacy, quality = self.scales(f, has_mt, has_ref)
            results.append(
                UnitScores(
                    chrf=_finite(f.get("chrf")),
                    bleu=_finite(f.get("bleu")),
                    ter=_finite(f.get("ter")),
                    similarity=_finite(f.get("similarity")),
                    fluency=fluency,
                    adequacy=adequacy,
                    quality=quality,
                    features={k: float(v) for k, v in f.items() if math.isfinite(v)},
                    mt_surprisal=extra["mt_surprisal"],
                    mt_unmatched=extra["mt_unmatched"],
                    ref_unmatched=extra["ref_unmatched"],
                    mt_match=extra["mt_match"],
                    ref_match=extra["ref_match"],
                )
            )
        return results
