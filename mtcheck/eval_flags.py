"""How well the flagged spans match human MQM error spans (`mtcheck eval-flags DATA`).

Data: a JSONL of MT segments with MQM error annotations (`mt`, `ref`, `doc`, `is_human`, `errors` with
`start`/`end` character offsets into `mt`, `severity`, `side`), e.g. `mqm_zhen_dev.jsonl`.

Measured, on the documents of the chosen split (the calibration's document hash, `doc_split`):
- character-level precision, recall and F1 of the flagged characters against the characters inside
  annotated *Major* target-side spans, and against *all* target-side spans (Major and Minor), micro-
  averaged over all characters of the machine-translated rows, overall and per detector;
- two plain baselines in the same run: (a) every LM token whose surprisal is at least `lm_bits`,
  (b) every MT word whose best token-embedding match in the reference is at most `match_cosine`
  (both thresholds chosen on the fit half by `fit`, see below);
- false alarms: flags per segment, share of segments with any flag and with a major/critical flag, for
  human translations (`is_human` rows; also apart for those annotators found error-free and those with
  an annotated Major error, since human translations have errors too) and for the reference scored
  against itself;
- verdicts: share of ok/review/rewrite and the mean MQM score of each, on machine rows.

`fit(data_path)` grid-searches the flag thresholds (and the two baselines' thresholds) on the fit half
only, maximising overall Major-span F1, and writes `mtcheck/flag_thresholds.json` with the fit-half
figures (per-detector precision/recall, human false alarms); see `fit_thresholds`. It scores without the
LM's reference-conditioned pass, which no detector reads (`_NoConditionLM`).

Scores come from the real `mtcheck.score.Scorer`; its LM and embedder are wrapped so that each distinct
text is run through a model once (references recur once per system), and the LM results are kept on
disk. Scorer outputs are cached too (pickle, keyed by the scorer's signature and the texts), all under
`$MTCHECK_EVAL_CACHE` or `user_cache_dir()/eval_flags`, since scoring 8k rows takes many minutes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import pickle
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from mtcheck.detectors.base import words_of
from mtcheck.flag import DEFAULT_THRESHOLDS, THRESHOLDS_PATH, Flagger, load_thresholds
from mtcheck.types import Flag, UnitScores

log = logging.getLogger("mtcheck")

SPLITS = ("all", "fit", "holdout")
BASELINE_DEFAULTS = {"lm_bits": 10.0, "match_cosine": 0.5}
SCORE_BATCH = 256
# Bump when the UnitScores the flags read change shape (2: every word's best match, `mt_match`): keys the
# cached Scorer outputs, whose signature does not change with the code.
SCORES_VERSION = 2


# -- data --------------------------------------------------------------------------------------------------
def doc_split(doc: str, lp: str = "") -> int:
    """0 = fit, 1 = holdout: the calibration's document-hash split (`mtcheck.calibrate.document_half`),
    so flag thresholds and score calibration are fitted on the same documents; `sha1(doc) % 2` without it."""
    try:
        from mtcheck.calibrate import document_half
    except ImportError:
        return int(hashlib.sha1(doc.encode("utf-8")).hexdigest(), 16) % 2
    return 0 if document_half(lp, doc) == "fit" else 1


def load_rows(data_path: str | Path, split: str = "all", max_rows: int | None = None) -> list[dict]:
    """Rows of the JSONL with an MT text, restricted to the split's documents, at most `max_rows`."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    rows = []
    with open(data_path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            if not row.get("mt") or not row.get("ref"):
                continue
            half = doc_split(str(row.get("doc", "")), str(row.get("lp", "")))
            if split != "all" and half != (0 if split == "fit" else 1):
                continue
            rows.append(row)
            if max_rows and len(rows) >= max_rows:
                break
    return rows


def _target_errors(row: dict) -> list[dict]:
    return [e for e in row.get("errors") or [] if e.get("side", "target") == "target"]


def _has_major(row: dict) -> bool:
    return any(e.get("severity") == "Major" for e in _target_errors(row))


def gold_mask(row: dict, severities: Iterable[str]) -> list[bool]:
    """Per character of `mt`: inside an annotated target-side span of one of `severities`."""
    mt = row["mt"]
    mask = [False] * len(mt)
    wanted = set(severities)
    for err in _target_errors(row):
        if err.get("severity") not in wanted:
            continue
        for i in range(max(0, int(err["start"])), min(len(mt), int(err["end"]))):
            mask[i] = True
    return mask


# -- scoring with cache ------------------------------------------------------------------------------------
def cache_dir() -> Path:
    from mtcheck.models import user_cache_dir

    return Path(os.environ.get("MTCHECK_EVAL_CACHE") or user_cache_dir() / "eval_flags")


class _MemoLM:
    """A causal LM whose `surprisal` results are memoised per text and kept on disk.

    In MQM data each reference and many MT outputs recur across systems, so memoising per text (and per
    MT/reference pair for the reference-conditioned pass) saves LM work without changing any number.
    """

    def __init__(self, lm, path: Path):
        self._lm = lm
        self._path = path
        self._memo: dict[str, tuple] = {}
        if path.is_file():
            with open(path, "rb") as handle:
                self._memo = pickle.load(handle)

    def __getattr__(self, name: str):
        return getattr(self._lm, name)

    def surprisal(self, texts: list[str]) -> list[tuple]:
        missing = sorted({t for t in texts if t not in self._memo})
        if missing:
            self._memo.update(zip(missing, self._lm.surprisal(missing), strict=True))
        return [self._memo[t] for t in texts]

    def conditional_surprisal(self, texts: list[str], contexts: list[str] | None, *args) -> list[tuple]:
        """`surprisal` of each text after its context (the reference), memoised per pair."""
        contexts = contexts if contexts is not None else [None] * len(texts)
        keys = [("cond", t, c, args) for t, c in zip(texts, contexts, strict=True)]
        missing = sorted({k for k in keys if k not in self._memo}, key=str)
        if missing:
            given = None if all(k[2] is None for k in missing) else [k[2] for k in missing]
            results = self._lm.conditional_surprisal([k[1] for k in missing], given, *args)
            self._memo.update(zip(missing, results, strict=True))
        return [self._memo[k] for k in keys]

    def save(self) -> None:
        tmp = self._path.with_suffix(".tmp")
        with open(tmp, "wb") as handle:
            pickle.dump(self._memo, handle)
        os.replace(tmp, self._path)


class _MemoEmbedder:
    """An embedder whose `encode_with_tokens` results are memoised per text (for this run only)."""

    def __init__(self, embedder):
        self._embedder = embedder
        self._memo: dict[str, tuple] = {}

    def __getattr__(self, name: str):
        return getattr(self._embedder, name)

    def encode_with_tokens(self, texts: list[str]):
        import numpy as np

        missing = sorted({t for t in texts if t not in self._memo})
        if missing:
            sentences, tokens = self._embedder.encode_with_tokens(missing)
            self._memo.update({t: (sentences[i], tokens[i]) for i, t in enumerate(missing)})
        return np.stack([self._memo[t][0] for t in texts]), [self._memo[t][1] for t in texts]


class _NoConditionLM(_MemoLM):
    """The memoised LM without the reference-conditioned pass (empty results for it).

    No detector reads the conditioned pass (only the calibrated adequacy/quality do), so fitting the
    flag thresholds can skip it: the MT-alone surprisals are the same, and the fit needs no verdicts.
    """

    def conditional_surprisal(self, texts: list[str], contexts: list[str] | None, *args) -> list[tuple]:
        return [([], float("nan"), float("nan")) for _ in texts]


def default_scorer(conditional: bool = True):
    """The real Scorer (MiniLM + SmolLM2, shipped calibration) with per-text memoised models.

    conditional=False skips the LM's reference-conditioned pass (see `_NoConditionLM`): for `fit` only,
    since quality/adequacy (and so verdicts) are then not the shipped ones."""
    from mtcheck.models import CausalLM, Embedder
    from mtcheck.score import Scorer

    lm = CausalLM()
    memo_type = _MemoLM if conditional else _NoConditionLM
    memo_lm = memo_type(lm, cache_dir() / f"lm-{lm.name}-{lm.version}.pkl")
    return Scorer(embedder=_MemoEmbedder(Embedder()), lm=memo_lm)


def score_pairs(pairs: list[tuple[str, str]], scorer=None) -> dict[tuple[str, str], UnitScores]:
    """UnitScores of each distinct (mt, ref) pair from the real Scorer, cached on disk by content."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    scorer = scorer or default_scorer()
    signature = str(getattr(scorer, "signature", type(scorer).__name__))
    if isinstance(getattr(scorer, "lm", None), _NoConditionLM):
        signature += "|no-conditional"
    distinct = sorted(set(pairs))
    blob = json.dumps([signature, SCORES_VERSION, distinct]).encode("utf-8")
    path = folder / f"scores-{hashlib.sha1(blob).hexdigest()[:16]}.pkl"
    if path.is_file():
        with open(path, "rb") as handle:
            return pickle.load(handle)
    out: dict[tuple[str, str], UnitScores] = {}
    for i in range(0, len(distinct), SCORE_BATCH):
        chunk = distinct[i : i + SCORE_BATCH]
        scores = scorer.score_units([m for m, _ in chunk], [r for _, r in chunk])
        out.update(zip(chunk, scores, strict=True))
        log.info("scored %d/%d units", min(i + SCORE_BATCH, len(distinct)), len(distinct))
        if isinstance(scorer.lm, _MemoLM):
            scorer.lm.save()
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as handle:
        pickle.dump(out, handle)
    os.replace(tmp, path)
    return out


# -- metrics -----------------------------------------------------------------------------------------------
class SpanCounter:
    """Character-level true/false positives and false negatives, summed over rows."""

    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0

    def add(self, predicted: list[bool], gold: list[bool]) -> None:
        for p, g in zip(predicted, gold, strict=True):
            self.tp += p and g
            self.fp += p and not g
            self.fn += g and not p

    def result(self) -> dict[str, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(f, 4),
            "flagged_chars": self.tp + self.fp,
        }


def span_mask(length: int, spans: Iterable[tuple[int, int]]) -> list[bool]:
    mask = [False] * length
    for start, end in spans:
        for i in range(max(0, start), min(length, end)):
            mask[i] = True
    return mask


def baseline_lm_spans(scores: UnitScores, bits: float) -> list[tuple[int, int]]:
    """Baseline (a): every LM token at or above `bits` of surprisal."""
    return [(t.start, t.end) for t in scores.mt_surprisal if t.value >= bits]


def baseline_match_spans(mt: str, scores: UnitScores, cosine: float) -> list[tuple[int, int]]:
    """Baseline (b): every MT word whose best reference match is at most `cosine`."""
    weak = [t for t in scores.mt_unmatched if t.value <= cosine]
    return [(w.start, w.end) for w in words_of(mt) if any(t.start < w.end and t.end > w.start for t in weak)]


def _false_alarms(flag_lists: list[list[Flag]]) -> dict[str, float]:
    n = len(flag_lists) or 1
    return {
        "segments": len(flag_lists),
        "flags_per_segment": round(sum(len(f) for f in flag_lists) / n, 4),
        "share_flagged": round(sum(bool(f) for f in flag_lists) / n, 4),
        "share_major_flagged": round(
            sum(any(x.severity in ("major", "critical") for x in f) for f in flag_lists) / n, 4
        ),
    }


def evaluate(
    rows: list[dict],
    scores: dict[tuple[str, str], UnitScores],
    flagger: Flagger,
    baselines: dict[str, float],
    ref_scores: dict[tuple[str, str], UnitScores] | None = None,
) -> dict:
    """All measurements of the module docstring on `rows` (scores keyed by (mt, ref))."""
    machine = [r for r in rows if not r.get("is_human")]
    human = [r for r in rows if r.get("is_human")]
    counters: dict[str, dict[str, SpanCounter]] = defaultdict(
        lambda: {"major": SpanCounter(), "all": SpanCounter()}
    )
    detectors = [d.name for d in flagger.detectors]
    verdicts: dict[str, list[float]] = defaultdict(list)
    categories: dict[str, int] = defaultdict(int)
    for row in machine:
        mt, ref = row["mt"], row["ref"]
        unit = scores[(mt, ref)]
        flags = flagger.flag(mt, ref, unit, "reference", src="", kind="body")
        gold = {"major": gold_mask(row, ["Major"]), "all": gold_mask(row, ["Major", "Minor"])}
        predictions: dict[str, list[tuple[int, int]]] = {
            "overall": [(f.start, f.end) for f in flags],
            "overall_major_only": [(f.start, f.end) for f in flags if f.severity != "minor"],
            "baseline_lm": baseline_lm_spans(unit, baselines["lm_bits"]),
            "baseline_match": baseline_match_spans(mt, unit, baselines["match_cosine"]),
            "flag_everything": [(0, len(mt))],
        }
        for name in detectors:
            predictions[f"detector:{name}"] = [(f.start, f.end) for f in flags if f.detector == name]
        for name, spans in predictions.items():
            mask = span_mask(len(mt), spans)
            for level in ("major", "all"):
                counters[name][level].add(mask, gold[level])
        for f in flags:
            categories[f"{f.detector}:{f.category}:{f.severity}"] += 1
        if row.get("mqm_score") is not None:
            verdicts[flagger.verdict(unit, flags, "reference")].append(float(row["mqm_score"]))
    spans = {name: {lvl: c.result() for lvl, c in levels.items()} for name, levels in counters.items()}
    human_flags = [flagger.flag(r["mt"], r["ref"], scores[(r["mt"], r["ref"])]) for r in human]
    human_verdicts: dict[str, int] = defaultdict(int)
    for r, flags in zip(human, human_flags, strict=True):
        human_verdicts[flagger.verdict(scores[(r["mt"], r["ref"])], flags, "reference")] += 1
    result = {
        "rows": len(rows),
        "machine_rows": len(machine),
        "human_rows": len(human),
        "spans": spans,
        "flag_counts": dict(sorted(categories.items())),
        "false_alarms": {
            "human_translations": _false_alarms(human_flags)
            | {
                f"share_{v}": round(human_verdicts[v] / max(1, len(human)), 4)
                for v in ("ok", "review", "rewrite")
            }
        },
        "verdicts": {
            v: {"share": round(len(s) / max(1, len(machine)), 4), "mean_mqm": round(sum(s) / len(s), 3)}
            for v, s in sorted(verdicts.items())
        },
    }
    # Human translations carry annotated errors too (in the MQM zh-en dev set, Major ones in about a third
    # of human segments), so a flag on a human translation is a false alarm only where annotators found
    # nothing: the error-free ones are counted apart, and so are those with an annotated Major error.
    for name, wanted in (("error_free", lambda r: not _target_errors(r)), ("with_major", _has_major)):
        subset = [f for r, f in zip(human, human_flags, strict=True) if wanted(r)]
        result["false_alarms"][f"human_translations_{name}"] = _false_alarms(subset)
    if ref_scores is not None:
        refs = sorted({r["ref"] for r in rows})
        self_flags = [flagger.flag(ref, ref, ref_scores[(ref, ref)]) for ref in refs]
        result["false_alarms"]["reference_vs_itself"] = _false_alarms(self_flags)
    return result


# -- fitting -----------------------------------------------------------------------------------------------
FIT_GRID: dict[str, list[float]] = {
    # 99 / 0 switch a detector off: the fit may find it adds more false than true characters.
    "salad_word_bits": [10.0, 12.0, 14.0, 16.0, 99.0],
    "salad_single_bits": [16.0, 18.0, 22.0, 99.0],
    "mismatch_cosine": [0.0, 0.3, 0.35, 0.4, 0.45, 0.5],
    "omission_min_words": [2.0, 3.0, 4.0, 99.0],
    "merge_gap_words": [-1.0, 1.0, 2.0],
}
GARBLE_P_GRID = [0.08, 0.09, 0.1, 0.11, 0.12, 0.14, 0.17, 0.2, 1.0]
# Major severity is a promise to the editor: the garble major cut is the one that best finds Major spans
# with the major flags alone while at most this share of human translations (fit half) draws a major flag.
MAX_HUMAN_MAJOR_SHARE = 0.2
# Detectors whose thresholds the fit varies (the others are run once and their flags reused).
VARIED = ("garble", "word_salad", "mismatch", "omission")


def _major_f1(rows: list[dict], predict: Callable[[dict], list[tuple[int, int]]]) -> float:
    counter = SpanCounter()
    for row in rows:
        counter.add(span_mask(len(row["mt"]), predict(row)), gold_mask(row, ["Major"]))
    return counter.result()["f1"]


def fit_garble_weights(
    rows: list[dict], scores: dict[tuple[str, str], UnitScores], l2: float = 1.0
) -> dict[str, float]:
    """Logistic-regression weights of the garble detector: word inside a Major span, weighted by length."""
    import numpy as np
    from scipy.optimize import minimize

    from mtcheck.detectors.base import UnitContext
    from mtcheck.detectors.garble import FEATURES, word_features

    xs, ys, ws = [], [], []
    for row in rows:
        ctx = UnitContext(
            row["mt"], row["ref"], scores[(row["mt"], row["ref"])], thresholds=DEFAULT_THRESHOLDS
        )
        gold = gold_mask(row, ["Major"])
        for w, feats in zip(ctx.mt_words, word_features(ctx), strict=True):
            xs.append([feats[k] for k in FEATURES])
            ys.append(float(any(gold[w.start : w.end])))
            ws.append(float(w.end - w.start))
    x = np.c_[np.ones(len(xs)), np.asarray(xs)]
    y, weight = np.asarray(ys), np.asarray(ws) / np.mean(ws)

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ beta
        p = 1.0 / (1.0 + np.exp(-z))
        nll = np.sum(weight * (np.logaddexp(0.0, z) - y * z)) / len(y)
        grad = x.T @ (weight * (p - y)) / len(y)
        penalty = l2 * np.sum(beta[1:] ** 2) / len(y)
        grad[1:] += 2 * l2 * beta[1:] / len(y)
        return nll + penalty, grad

    beta = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    return {"garble_bias": float(beta[0])} | {
        f"garble_w_{k}": float(b) for k, b in zip(FEATURES, beta[1:], strict=True)
    }


def fit_thresholds(
    rows: list[dict], scores: dict[tuple[str, str], UnitScores], grid: dict[str, list[float]] | None = None
) -> tuple[dict[str, float], dict[str, float], dict]:
    """(flag thresholds, baseline thresholds, fit-half figures), chosen by Major-span F1 on `rows`.

    First the garble weights (logistic regression), then its probability cut, then the word-salad,
    mismatch and omission thresholds one coordinate at a time, the others held fixed (each grid has a
    value that switches the detector off) and the flag-joining gap, then the garble cut once more; last
    the garble major cut (best major-only F1 with at most MAX_HUMAN_MAJOR_SHARE of the human
    translations drawing a major flag). Detectors with no fitted threshold are run once and their flags
    reused in every trial. The fit-half figures include each detector's character precision/recall
    against Major spans at the chosen thresholds and the false alarms on human translations.
    """
    from mtcheck.detectors import default_detectors

    machine = [r for r in rows if not r.get("is_human")]
    human = [r for r in rows if r.get("is_human")]
    grid = grid or FIT_GRID
    best = dict(DEFAULT_THRESHOLDS) | fit_garble_weights(machine, scores)
    fixed_flagger = Flagger(best, [d for d in default_detectors() if d.name not in VARIED])
    fixed = [fixed_flagger.flag(r["mt"], r["ref"], scores[(r["mt"], r["ref"])]) for r in machine]
    golds = [gold_mask(r, ["Major"]) for r in machine]

    def all_flags(thresholds: dict[str, float]) -> list[list[Flag]]:
        flagger = Flagger(thresholds, [d for d in default_detectors() if d.name in VARIED])
        return [
            static + flagger.flag(row["mt"], row["ref"], scores[(row["mt"], row["ref"])])
            for row, static in zip(machine, fixed, strict=True)
        ]

    def flag_f1(thresholds: dict[str, float], major_only: bool = False) -> float:
        counter = SpanCounter()
        for row, flags, gold in zip(machine, all_flags(thresholds), golds, strict=True):
            kept = [(f.start, f.end) for f in flags if not major_only or f.severity != "minor"]
            counter.add(span_mask(len(row["mt"]), kept), gold)
        return counter.result()["f1"]

    best_f1 = -1.0
    for key, values in [("garble_p", GARBLE_P_GRID), *grid.items(), ("garble_p", GARBLE_P_GRID)]:
        for value in values:
            trial = {**best, key: value}
            f1 = flag_f1(trial)
            log.info("fit: %s=%s -> F1 %.4f", key, value, f1)
            if f1 > best_f1 + 1e-6:
                best, best_f1 = trial, f1

    def human_flags(thresholds: dict[str, float]) -> list[list[Flag]]:
        return [Flagger(thresholds).flag(r["mt"], r["ref"], scores[(r["mt"], r["ref"])]) for r in human]

    # Major severity: the probability cut that best finds Major spans with the major flags alone, among
    # those that keep major flags off most human translations.
    trials = []
    for step, words in itertools.product((0.0, 0.05, 0.1, 0.15, 0.2, 0.3), (2.0, 3.0)):
        trial = {**best, "garble_major_p": best["garble_p"] + step, "mismatch_major_words": words}
        share = _false_alarms(human_flags(trial))["share_major_flagged"] if human else 0.0
        trials.append((share <= MAX_HUMAN_MAJOR_SHARE, flag_f1(trial, major_only=True), -share, trial))
        log.info(
            "fit: garble_major_p=%.3f mismatch_major_words=%g -> major-only F1 %.4f, human major share %.3f",
            trial["garble_major_p"],
            words,
            trials[-1][1],
            share,
        )
    # Within the budget the best major-only F1; with none within it, the fewest human majors.
    best = max(trials, key=lambda t: (1, t[1]) if t[0] else (0, t[2]))[3]
    per_detector: dict[str, SpanCounter] = defaultdict(SpanCounter)
    names = ["overall"] + [d.name for d in default_detectors()]
    for row, flags, gold in zip(machine, all_flags(best), golds, strict=True):
        for name in names:
            spans = [(f.start, f.end) for f in flags if name == "overall" or f.detector == name]
            per_detector[name].add(span_mask(len(row["mt"]), spans), gold)
    lm_bits = max(
        [6.0, 8.0, 10.0, 12.0, 14.0, 16.0],
        key=lambda b: _major_f1(machine, lambda r: baseline_lm_spans(scores[(r["mt"], r["ref"])], b)),
    )
    cosine = max(
        [0.2, 0.3, 0.4, 0.5],
        key=lambda c: _major_f1(
            machine, lambda r: baseline_match_spans(r["mt"], scores[(r["mt"], r["ref"])], c)
        ),
    )
    baselines = {"lm_bits": lm_bits, "match_cosine": cosine}
    figures = {
        "flags_major_f1": best_f1,
        "detectors": {k: c.result() for k, c in per_detector.items()},
        "false_alarms_human": _false_alarms(human_flags(best)) if human else {},
        "baseline_lm_f1": _major_f1(
            machine, lambda r: baseline_lm_spans(scores[(r["mt"], r["ref"])], lm_bits)
        ),
        "baseline_match_f1": _major_f1(
            machine, lambda r: baseline_match_spans(r["mt"], scores[(r["mt"], r["ref"])], cosine)
        ),
    }
    return best, baselines, figures


def fit(data_path: str | Path, out_path: Path = THRESHOLDS_PATH, max_rows: int | None = None) -> dict:
    """Fit thresholds on the fit half of `data_path` and write them to `out_path`."""
    rows = load_rows(data_path, "fit", max_rows)
    # The flags never read the LM's reference-conditioned pass, so the fit skips it (hours of CPU).
    scores = score_pairs([(r["mt"], r["ref"]) for r in rows], default_scorer(conditional=False))
    thresholds, baselines, f1s = fit_thresholds(rows, scores)
    changed = {
        k: v
        for k, v in thresholds.items()
        if k in FIT_GRID
        or k in ("garble_p", "garble_major_p", "garble_bias", "mismatch_major_words")
        or k.startswith("garble_w_")
    }
    payload = {
        "about": "Flag thresholds fitted on the fit half (calibration document hash: fit) of the MQM dev "
        "set by `python -m mtcheck.eval_flags fit DATA` (mtcheck.eval_flags.fit_thresholds), maximising "
        "character-level Major-span F1; the garble major cut keeps major flags off at least 80% of human "
        "translations. Scores: the Scorer's SmolLM2 MT surprisal and MiniLM token matching (its "
        "reference-conditioned LM pass, which no detector reads, skipped). See mtcheck/flag.py.",
        "data": Path(data_path).name,
        "fit_rows": len(rows),
        "fit": f1s,
        "thresholds": changed,
        "baselines": baselines,
    }
    Path(out_path).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return payload


def fitted_baselines(path: Path = THRESHOLDS_PATH) -> dict[str, float]:
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        return {**BASELINE_DEFAULTS, **data.get("baselines", {})}
    return dict(BASELINE_DEFAULTS)


# -- entry point -------------------------------------------------------------------------------------------
def main(
    data_path: str | Path, json_out: str | Path | None, split: str = "holdout", max_rows: int | None = None
) -> dict:
    """Evaluate on `split` of `data_path`, print a summary table, write the JSON result to `json_out`."""
    rows = load_rows(data_path, split, max_rows)
    if not rows:
        from mtcheck.types import InputError

        raise InputError(f"{data_path}: no rows with mt and ref in split {split!r}")
    scores = score_pairs([(r["mt"], r["ref"]) for r in rows])
    ref_scores = score_pairs([(r["ref"], r["ref"]) for r in rows])
    flagger = Flagger()
    baselines = fitted_baselines()
    result = evaluate(rows, scores, flagger, baselines, ref_scores)
    result |= {
        "data": str(data_path),
        "split": split,
        "signature": flagger.signature,
        "baseline_thresholds": baselines,
        "fitted_thresholds": load_thresholds(),
    }
    _print_summary(result)
    if json_out:
        Path(json_out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def _print_summary(result: dict) -> None:
    out = sys.stdout
    out.write(
        f"eval-flags: {result['data']} split={result['split']} rows={result['rows']} "
        f"(machine {result['machine_rows']}, human {result['human_rows']}) {result['signature']}\n"
    )
    out.write(f"{'spans':34} {'Major P':>8} {'R':>6} {'F1':>6} {'All P':>8} {'R':>6} {'F1':>6}\n")
    for name, levels in result["spans"].items():
        m, a = levels["major"], levels["all"]
        out.write(
            f"{name:34} {m['precision']:8.3f} {m['recall']:6.3f} {m['f1']:6.3f} "
            f"{a['precision']:8.3f} {a['recall']:6.3f} {a['f1']:6.3f}\n"
        )
    spans = result["spans"]
    if "overall" in spans and "baseline_lm" in spans and "baseline_match" in spans:
        better = max(("baseline_lm", "baseline_match"), key=lambda k: spans[k]["major"]["f1"])
        ours, theirs = spans["overall"]["major"]["f1"], spans[better]["major"]["f1"]
        out.write(
            f"overall Major-span F1 {ours:.3f} vs the better baseline ({better}) {theirs:.3f}: "
            f"{ours - theirs:+.3f}\n"
        )
    for who, fa in result["false_alarms"].items():
        out.write(
            f"false alarms, {who}: {fa['flags_per_segment']:.3f} flags/segment, {fa['share_flagged']:.1%} "
            f"segments flagged, {fa['share_major_flagged']:.1%} with a major flag ({fa['segments']} segments)\n"
        )
        if "share_rewrite" in fa:
            out.write(
                f"  verdicts on {who}: ok {fa['share_ok']:.1%}, review {fa['share_review']:.1%}, "
                f"rewrite {fa['share_rewrite']:.1%}\n"
            )
    for verdict, v in result["verdicts"].items():
        out.write(f"verdict {verdict:8} {v['share']:.1%} of machine rows, mean MQM {v['mean_mqm']}\n")


if __name__ == "__main__":  # python -m mtcheck.eval_flags fit DATA
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if len(sys.argv) >= 3 and sys.argv[1] == "fit":
        print(json.dumps(fit(sys.argv[2]), indent=2))
    else:
        main(sys.argv[1], None, sys.argv[2] if len(sys.argv) > 2 else "holdout")
