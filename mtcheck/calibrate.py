"""Fit mtcheck's fluency, adequacy and quality scales to human judgments (writes calibration.json).

    mtcheck calibrate ../shared/data --cache-dir /work/cache/features     # seed 0, 3000 rows per file
    python -m mtcheck.calibrate --data-dir ../shared/data --cache-dir /work/cache/features  # the same

The defaults (seed 0, at most 3000 rows per data file) reproduce the shipped `calibration.json`
byte for byte from the same cached features; the file records `seed`, `max_rows`, the rows used per
dataset and the cross-validated figures. Features are cached per (MT, reference) pair in a file named
after `Scorer.feature_signature` (models, LM on/off, feature version), so a changed model never
reuses a stale cache.

README text (the lead may paste it under "Scores"):

**What the scores mean.** `quality`, `adequacy` and `fluency` run from 0 to 100, higher is better. They
are percentiles: a unit scoring 50 looks like the median segment that professional raters judged in
WMT data (MT into English from Chinese, Japanese, Ukrainian and Russian, news and TED talks); 80 means
better-looking than four in five of those segments. `adequacy` compares the MT with the reference
(chrF, BLEU, TER, MiniLM sentence and token matches, and how predictable the small language model
SmolLM2 finds the MT after reading the reference: "Sentence: <reference> / Paraphrase: <MT>");
`fluency` looks at the MT alone (SmolLM2 surprisal per token, its worst tokens, and how surprising it
is that the sentence ends where it does); `quality` combines all of these. A score is a percentile of
a weighted sum of standardised features; the weights are ridge-regression weights fitted to the human
scores (each dataset turned into percentiles, datasets weighing equally), mixing two views: which of
several translations of the same sentence is better (what editors compare) and how segments rank
overall. The fitted numbers ship as plain JSON (`mtcheck/calibration.json`); `python -m
mtcheck.calibrate` rebuilds it (fixed seed; features cached per MT/reference pair).

**Verdict bands.** `rewrite` below the `rewrite` threshold, `ok` at or above the `ok` threshold,
`review` in between (the flag detectors can raise a verdict; see the flag section). The cuts come from
the fitting data: below `rewrite`, segments that humans judged bad (an MQM Major error, or a DA
rating under 50) are at least 1.5 times as common as overall; at or above `ok` they are at most 2/3 as
common. `thresholds.fit_report` in the JSON gives, per dataset, the share of bad segments that fall
below `rewrite`, of clean segments (no Major error and at most one Minor point; DA 80+) that land in
`ok`, and the bad rate inside each band. These cheap signals rank translations only weakly (Kendall
tau 0.10-0.15 within a source sentence on held-out documents, see `mtcheck evaluate`): treat the bands
as triage, never as a verdict on their own, and read the flagged spans.

Data use: the fit reads the ja-en/uk-en DA training file and only the "fit" half of the MQM zh-en and
ru-en DA files, without the human translations of the MQM TED set; the halves are fixed by a hash of
the document id (`document_half`), so `mtcheck evaluate --split holdout` measures on documents never
fitted on. `max_rows` caps each file (whole
source segments, sampled with `seed`), because the LM reads about one MT/reference pair per second
on a shared 2-core machine.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import optimize, stats

from mtcheck.score import Scorer, add_derived

log = logging.getLogger(__name__)

MQM_FILE = "mqm_zhen_dev.jsonl"
RUEN_FILE = "wmt22_ruen_da_dev.jsonl"
TRAIN_FILE = "wmt22_jaen_uken_da_train.jsonl"
SPLITS = ("all", "holdout", "fit")


@dataclass
class Row:
    """One human-judged segment: MT, reference, human score (higher is better) and its grouping keys."""

    dataset: str  # "mqm", "ruen" or "train"
    lp: str
    doc: str
    seg: int
    system: str
    mt: str
    ref: str
    human: float  # MQM score (0 best, negative worse) or DA z-score
    da_raw: float | None = None  # DA only: the raw 0-100 rating (for the meaning of verdict bands)
    major: bool | None = None  # MQM only: at least one Major error on the target side
    fluency_penalty: float | None = None  # MQM ted21 only: minus weighted Fluency-category errors
    accuracy_penalty: float | None = None  # MQM ted21 only: minus weighted Accuracy-category errors
    is_human: bool = False  # MQM ted21: a human translation scored against the other human reference

    @property
    def item(self) -> tuple[str, str, int]:
        """The source segment: tau_item compares systems within it."""
        return (self.lp, self.doc, self.seg)


def document_half(lp: str, doc: str) -> str:
    """ "fit" or "holdout": a fixed hash of the document id, so whole documents stay on one side."""
    digest = hashlib.sha1(f"{lp}|{doc}".encode()).hexdigest()
    return "fit" if int(digest, 16) % 2 == 0 else "holdout"


_SEVERITY_WEIGHT = {"Major": 5.0, "Minor": 1.0, "Neutral": 0.0}


def _category_penalty(errors: list[dict], top: str, raters: int) -> float:
    total = 0.0
    for e in errors:
        if e.get("side", "target") != "target" or not str(e.get("category", "")).startswith(top):
            continue
        total += _SEVERITY_WEIGHT.get(e.get("severity", ""), 0.0)
    return -total / max(1, raters)


def read_rows(path: Path, dataset: str) -> list[Row]:
    """Rows with a usable human score from one of the shared data files."""
    rows: list[Row] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            r = json.loads(line)
            if dataset == "mqm":
                human = r.get("mqm_score")
                da_raw = None
                errors = r.get("errors") or []
                major = any(
                    e.get("severity") == "Major" and e.get("side", "target") == "target" for e in errors
                )
                has_categories = r.get("set") == "ted21"
                raters = len(r.get("raters") or []) or 1
            else:
                human = r.get("z")
                major, has_categories, errors, raters = None, False, [], 1
                da_raw = r.get("score")
            if human is None or not r.get("mt") or not r.get("ref"):
                continue
            rows.append(
                Row(
                    dataset=dataset,
                    lp=r.get("lp", ""),
                    doc=str(r["doc"]),
                    seg=int(r["seg"]),
                    system=str(r["system"]),
                    mt=r["mt"],
                    ref=r["ref"],
                    human=float(human),
                    da_raw=float(da_raw) if da_raw is not None else None,
                    major=major if dataset == "mqm" else None,
                    fluency_penalty=_category_penalty(errors, "Fluency", raters) if has_categories else None,
                    accuracy_penalty=_category_penalty(errors, "Accuracy", raters)
                    if has_categories
                    else None,
                    is_human=bool(r.get("is_human", False)),
                )
            )
    return rows


def select(rows: list[Row], split: str, max_rows: int | None, seed: int) -> list[Row]:
    """Rows of one document half ("all" keeps both), then at most `max_rows` rows, whole items at a time.

    Items (source segments with all their systems) are sampled with `seed`, so tau_item stays computable.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    if split != "all":
        rows = [r for r in rows if document_half(r.lp, r.doc) == split]
    if max_rows is None or len(rows) <= max_rows:
        return rows
    by_item: dict[tuple, list[Row]] = defaultdict(list)
    for r in rows:
        by_item[r.item].append(r)
    items = sorted(by_item)
    random.Random(seed).shuffle(items)
    chosen: list[Row] = []
    for item in items:
        if len(chosen) + len(by_item[item]) > max_rows:
            continue
        chosen.extend(by_item[item])
    return chosen


def load_dataset(data_dir: Path, dataset: str) -> list[Row]:
    name = {"mqm": MQM_FILE, "ruen": RUEN_FILE, "train": TRAIN_FILE}[dataset]
    path = Path(data_dir) / name
    if not path.is_file():
        from mtcheck.types import InputError

        raise InputError(f"{path} not found: pass the folder holding {name}")
    return read_rows(path, dataset)


class FeatureCache:
    """Features per (mt, ref) pair, appended to a JSONL file under `folder` (None: no caching).

    The file name carries the scorer's feature identity (models, LM on/off), so a change of model
    never reuses stale features.
    """

    def __init__(self, folder: Path | None, scorer: Scorer):
        self.path = None
        self.values: dict[str, dict[str, float]] = {}
        if folder is None:
            return
        ident = scorer.feature_signature
        name = hashlib.sha1(ident.encode()).hexdigest()[:10]
        self.path = Path(folder) / f"features-{name}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_file():
            with open(self.path, encoding="utf-8") as handle:
                for line in handle:
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:  # a line cut by an interrupted run
                        continue
                    self.values[record["k"]] = record["f"]

    @staticmethod
    def key(mt: str, ref: str) -> str:
        return hashlib.sha1(f"{mt}\x00{ref}".encode()).hexdigest()[:20]

    def get(self, mt: str, ref: str) -> dict[str, float] | None:
        return self.values.get(self.key(mt, ref))

    def add(self, pairs: Iterable[tuple[str, str]], features: list[dict[str, float]]) -> None:
        lines = []
        for (mt, ref), f in zip(pairs, features, strict=True):
            k = self.key(mt, ref)
            self.values[k] = f
            lines.append(json.dumps({"k": k, "f": f}))
        if self.path is not None and lines:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write("\n".join(lines) + "\n")


def extract_features(
    rows: list[Row], scorer: Scorer, cache: FeatureCache, chunk: int = 256, progress: bool = True
) -> list[dict[str, float]]:
    """Scorer features of every row, computed once per distinct (mt, ref) pair and cached as they come."""
    missing = list(dict.fromkeys((r.mt, r.ref) for r in rows if cache.get(r.mt, r.ref) is None))
    bar = None
    if progress and missing:
        from tqdm import tqdm

        bar = tqdm(total=len(missing), desc="features", unit="pair")
    for start in range(0, len(missing), chunk):
        pairs = missing[start : start + chunk]
        feats, _ = scorer.features([p[0] for p in pairs], [p[1] for p in pairs])
        cache.add(pairs, feats)
        if bar is not None:
            bar.update(len(pairs))
    if bar is not None:
        bar.close()
    return [cache.get(r.mt, r.ref) or {} for r in rows]


# ------------------------------------------------------------------------------------------------------
# Fitting
# ------------------------------------------------------------------------------------------------------

# Features of each scale (see mtcheck.score.FEATURE_DOC). Fluency sees only what the LM says about the
# MT alone (and the reference, as a difficulty baseline); adequacy only MT-vs-reference comparisons
# (surface, embedding matches, and the LM reading the MT after the reference); quality all of them.
# The *_nolm scales serve --no-lm.
_MATCHING = [
    "chrf",
    "bleu",
    "ter_log",
    "similarity",
    "match_precision",
    "match_recall",
    "match_min_precision",
    "match_min_recall",
    "unmatched_mt_share",
    "unmatched_ref_share",
    "len_ratio_abs",
]
_CONDITIONED = ["cond_lm_mean_bits", "cond_lm_p90_bits", "cond_lm_max_bits", "pmi_mean_bits", "cond_eos_bits"]
SCALE_FEATURES: dict[str, list[str]] = {
    "fluency": ["lm_mean_bits", "lm_max_bits", "lm_p90_bits", "eos_bits", "lm_mean_bits_vs_ref"],
    "adequacy": _MATCHING + _CONDITIONED,
    "adequacy_nolm": _MATCHING,
    "quality_nolm": _MATCHING + ["len_ratio_log", "mt_chars_log"],
}
SCALE_FEATURES["quality"] = SCALE_FEATURES["quality_nolm"] + _CONDITIONED + SCALE_FEATURES["fluency"]
# Features whose useful direction depends on the data (length effects): their weights may take either sign.
SIGN_FREE = ("len_ratio_log", "mt_chars_log")
# Fluency: SmolLM2's view of the MT alone tracks human judgments only weakly (tau_item 0.03-0.08, also
# against MQM Fluency-category penalties); fitted weights did no better than equal ones in
# cross-validation, and fitting gave the sentence-end surprisal (rare truncations) almost no weight.
# Equal weights keep every fluency signal, a cut-off sentence included, visible on the scale.
EQUAL_WEIGHT_SCALES = ("fluency",)


def feature_matrix(features: list[dict[str, float]], names: list[str]) -> np.ndarray:
    """Rows x names, NaN where a feature is missing (derived features are added first)."""
    out = np.full((len(features), len(names)), np.nan)
    for i, f in enumerate(features):
        f = add_derived(dict(f))
        for j, name in enumerate(names):
            value = f.get(name)
            if value is not None and math.isfinite(value):
                out[i, j] = value
    return out


def percentile_target(rows: list[Row]) -> np.ndarray:
    """Human score as a within-dataset percentile in (0, 1): puts MQM and DA on one scale."""
    target = np.zeros(len(rows))
    by_dataset: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_dataset[r.dataset].append(i)
    for idx in by_dataset.values():
        ranks = stats.rankdata([rows[i].human for i in idx])
        target[idx] = (ranks - 0.5) / len(idx)
    return target


def _dataset_weights(rows: list[Row]) -> np.ndarray:
    """Each dataset weighs the same in total, whatever its size."""
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r.dataset] += 1
    return np.array([1.0 / counts[r.dataset] for r in rows])


def _demean_by_item(values: np.ndarray, items: list[tuple]) -> np.ndarray:
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        groups[item].append(i)
    out = values.copy()
    for idx in groups.values():
        out[idx] = values[idx] - values[idx].mean(axis=0)
    return out


@dataclass
class LinearScale:
    """Standardise, clip to +-4 sd, weighted sum: the model behind one calibrated scale."""

    features: list[str]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray

    def standardise(self, matrix: np.ndarray) -> np.ndarray:
        z = np.clip((matrix - self.mean) / self.scale, -4.0, 4.0)
        return np.where(np.isfinite(z), z, 0.0)  # missing feature: the fitting mean

    def raw(self, matrix: np.ndarray) -> np.ndarray:
        return self.standardise(matrix) @ self.weights


def fit_linear(
    matrix: np.ndarray,
    rows: list[Row],
    names: list[str],
    within: float = 0.5,
    ridge: float = 1.0,
) -> LinearScale:
    """Ridge weights predicting the human percentile, mixing two views of the same data.

    `within` in [0, 1] weighs the item-demeaned problem (features and target centred within each
    source segment: which of several translations of a sentence is better, i.e. what tau_item measures)
    against the pooled one (all segments on one scale, i.e. what flat correlations and verdict bands need).
    Datasets weigh equally. `ridge` is the L2 penalty in units of the total weight.
    """
    mean = np.nanmean(matrix, axis=0)
    scale = np.nanstd(matrix, axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    model = LinearScale(names, mean, scale, np.zeros(len(names)))
    z = model.standardise(matrix)
    y = percentile_target(rows)
    weight = _dataset_weights(rows)
    weight = weight / weight.sum()
    items = [r.item for r in rows]
    z_within, y_within = _demean_by_item(z, items), _demean_by_item(y[:, None], items)[:, 0]
    z_pooled = z - np.average(z, axis=0, weights=weight)
    y_pooled = y - np.average(y, weights=weight)
    gram = within * (z_within.T * weight) @ z_within + (1 - within) * (z_pooled.T * weight) @ z_pooled
    moment = within * (z_within.T * weight) @ y_within + (1 - within) * (z_pooled.T * weight) @ y_pooled
    gram += ridge * 1e-3 * np.eye(len(names))
    # Each weight keeps the sign its feature's meaning implies (more surprisal, more TER: worse), so
    # noise in the human scores cannot make a scale reward a defect. Minimising w'Gw - 2m'w under
    # bounds is a least-squares problem in the Cholesky factor of G.
    lower, upper = _sign_bounds(names)
    factor = np.linalg.cholesky(gram)
    solution = optimize.lsq_linear(factor.T, np.linalg.solve(factor, moment), bounds=(lower, upper))
    model.weights = solution.x
    return model


def _sign_bounds(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    from mtcheck.evaluate import LOWER_IS_BETTER

    lower = np.array([-np.inf if n in LOWER_IS_BETTER or n in SIGN_FREE else 0.0 for n in names])
    upper = np.array([0.0 if n in LOWER_IS_BETTER else np.inf for n in names])
    return lower, upper


def equal_weights(matrix: np.ndarray, names: list[str]) -> LinearScale:
    """Standardised features summed with weight +-1/k by their meaning (used for fluency; see SCALE_FEATURES)."""
    from mtcheck.evaluate import LOWER_IS_BETTER

    mean = np.nanmean(matrix, axis=0)
    scale = np.nanstd(matrix, axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    weights = np.array([-1.0 if n in LOWER_IS_BETTER else 1.0 for n in names]) / len(names)
    return LinearScale(names, mean, scale, weights)


def _quantile_knots(raw: np.ndarray, weight: np.ndarray) -> tuple[list[float], list[float]]:
    """Knots mapping a raw sum to its weighted percentile among the fitting segments (0-100)."""
    order = np.argsort(raw)
    cumulative = np.cumsum(weight[order]) / weight.sum()
    probs = np.array([0.0, 0.005, 0.01, 0.025] + [k / 20 for k in range(1, 20)] + [0.975, 0.99, 0.995, 1.0])
    xs = np.interp(probs, cumulative, raw[order])
    knots_x, knots_y = [], []
    for x, p in zip(xs, probs, strict=True):
        if knots_x and x <= knots_x[-1] + 1e-9:
            continue
        knots_x.append(round(float(x), 6))
        knots_y.append(round(float(100 * p), 3))
    return knots_x, knots_y


def scale_spec(model: LinearScale, rows: list[Row], matrix: np.ndarray) -> dict:
    """The JSON form of one scale, as read by `mtcheck.score.Calibration`."""
    knots_x, knots_y = _quantile_knots(model.raw(matrix), _dataset_weights(rows))
    return {
        "features": list(model.features),
        "mean": [round(float(v), 6) for v in model.mean],
        "scale": [round(float(v), 6) for v in model.scale],
        "weights": [round(float(v), 6) for v in model.weights],
        "bias": 0.0,
        "knots_x": knots_x,
        "knots_y": knots_y,
    }


def _folds(rows: list[Row], k: int, seed: int) -> np.ndarray:
    """Cross-validation fold of each row, by document (a hash of lp, doc and seed)."""
    return np.array(
        [int(hashlib.sha1(f"{seed}|{r.lp}|{r.doc}".encode()).hexdigest(), 16) % k for r in rows], dtype=int
    )


def cross_validate(
    matrix: np.ndarray, rows: list[Row], names: list[str], within: float, ridge: float, seed: int, k: int = 5
) -> dict[str, dict[str, float]]:
    """Out-of-fold tau_item and flat Kendall per dataset (documents never straddle folds)."""
    from mtcheck.evaluate import flat_kendall, tau_item

    folds = _folds(rows, k, seed)
    predicted = np.zeros(len(rows))
    for fold in range(k):
        train = np.flatnonzero(folds != fold)
        test = np.flatnonzero(folds == fold)
        if len(test) == 0 or len(train) == 0:
            continue
        model = fit_linear(matrix[train], [rows[i] for i in train], names, within, ridge)
        predicted[test] = model.raw(matrix[test])
    result = {}
    for dataset in sorted({r.dataset for r in rows}):
        idx = [i for i, r in enumerate(rows) if r.dataset == dataset]
        human = [rows[i].human for i in idx]
        result[dataset] = {
            "tau_item": tau_item(predicted[idx], human, [rows[i].item for i in idx]),
            "kendall": flat_kendall(predicted[idx], human),
        }
    return result


REWRITE_LIFT = 1.5  # below the rewrite cut, bad segments are at least 1.5x as common as overall
OK_LIFT = 0.67  # at or above the ok cut, bad segments are at most 2/3 as common as overall


def _lift(quality: np.ndarray, bad: np.ndarray, datasets: list[str], cut: float, below: bool) -> float:
    """Mean over datasets of P(bad | quality below / at-or-above cut) / P(bad)."""
    lifts = []
    for dataset in sorted(set(datasets)):
        idx = np.array([d == dataset for d in datasets])
        side = idx & ((quality < cut) if below else (quality >= cut))
        if side.sum() < 20 or not bad[idx].any():
            continue
        lifts.append(bad[side].mean() / bad[idx].mean())
    return float(np.mean(lifts)) if lifts else math.nan


def verdict_thresholds(quality: np.ndarray, rows: list[Row]) -> dict:
    """Quality cuts for the verdicts, derived from what humans said about the fitting segments.

    "Bad": MQM segments with a Major error, DA segments rated under 50 (WMT's DA scale: at most "some
    of the meaning preserved"). "Clean": MQM segments with no Major error and at most 1 penalty point,
    DA segments rated 80 or more. On a 5-point grid, rewrite is the highest cut under which bad
    segments are at least REWRITE_LIFT times as common as overall, and ok the lowest cut at or above
    which they are at most OK_LIFT times as common (each averaged over the datasets, which weigh equally).
    """
    bad = np.array(
        [(r.major if r.dataset == "mqm" else (r.da_raw is not None and r.da_raw < 50)) for r in rows],
        dtype=bool,
    )
    clean = np.array(
        [
            (not r.major and r.human >= -1.0)
            if r.dataset == "mqm"
            else (r.da_raw is not None and r.da_raw >= 80)
            for r in rows
        ],
        dtype=bool,
    )
    datasets = [r.dataset for r in rows]
    grid = np.arange(5.0, 100.0, 5.0)
    rewrite_ok = [c for c in grid if _lift(quality, bad, datasets, c, below=True) >= REWRITE_LIFT]
    rewrite = float(max(rewrite_ok)) if rewrite_ok else 10.0
    ok_cuts = [
        c for c in grid if c >= rewrite + 10 and _lift(quality, bad, datasets, c, below=False) <= OK_LIFT
    ]
    ok = float(min(ok_cuts)) if ok_cuts else 90.0
    report: dict[str, dict[str, float]] = {}
    for dataset in sorted({r.dataset for r in rows}):
        idx = np.array([i for i, r in enumerate(rows) if r.dataset == dataset])
        q, b, c = quality[idx], bad[idx], clean[idx]
        report[dataset] = {
            "bad_share": round(float(b.mean()), 4),
            "clean_share": round(float(c.mean()), 4),
            "bad_below_rewrite": round(float((q[b] < rewrite).mean()), 4) if b.any() else math.nan,
            "clean_below_rewrite": round(float((q[c] < rewrite).mean()), 4) if c.any() else math.nan,
            "clean_in_ok": round(float((q[c] >= ok).mean()), 4) if c.any() else math.nan,
            "bad_in_ok": round(float((q[b] >= ok).mean()), 4) if b.any() else math.nan,
            "bad_rate_below_rewrite": round(float(b[q < rewrite].mean()), 4)
            if (q < rewrite).any()
            else math.nan,
            "bad_rate_in_ok": round(float(b[q >= ok].mean()), 4) if (q >= ok).any() else math.nan,
        }
    return {
        "rewrite": rewrite,
        "ok": ok,
        "rule": f"rewrite: P(bad | q < cut) >= {REWRITE_LIFT} x P(bad); ok: P(bad | q >= cut) <= {OK_LIFT} x P(bad)",
        "fit_report": report,
    }


DEFAULT_SEED = 0  # the shipped calibration.json was fitted with these two defaults
DEFAULT_MAX_ROWS = 3000


def fitting_rows(data_dir: Path, max_rows: int | None, seed: int) -> list[Row]:
    """The rows a calibration is fitted on: up to `max_rows` of the ja-en/uk-en DA file (all documents)
    and of the "fit" half of the MQM and ru-en DA files (whole source segments sampled with `seed`).

    Human translations (MQM ted21 `is_human`) are left out after sampling: mtcheck scores MT, and a
    human translation measured against a second human reference teaches the scale that rewording is
    an error.
    """
    rows = select(load_dataset(data_dir, "train"), "all", max_rows, seed)
    for dataset in ("mqm", "ruen"):
        rows += select(load_dataset(data_dir, dataset), "fit", max_rows, seed)
    return [r for r in rows if not r.is_human]


def main(
    data_dir: str | Path,
    out: str | Path,
    seed: int = DEFAULT_SEED,
    max_rows: int | None = DEFAULT_MAX_ROWS,
    cache_dir: str | Path | None = None,
    scorer: Scorer | None = None,
    within_grid: tuple[float, ...] = (0.0, 0.5, 0.8, 1.0),
    ridge_grid: tuple[float, ...] = (1.0, 30.0, 300.0),
) -> dict:
    """Fit all scales and verdict thresholds; write the calibration JSON to `out` and return it.

    Fitting data: the ja-en/uk-en DA file (all documents), plus the "fit" document half of the MQM and
    ru-en DA files; `max_rows` caps the rows taken from each file (whole segments, sampled with `seed`).
    The held-out halves are never read. `cache_dir` caches extracted features between runs.
    """
    data_dir = Path(data_dir)
    rows = fitting_rows(data_dir, max_rows, seed)
    scorer = scorer or Scorer()
    cache = FeatureCache(Path(cache_dir) if cache_dir else None, scorer)
    features = extract_features(rows, scorer, cache)
    calibration: dict = {
        "version": 1,
        "seed": seed,
        "max_rows": max_rows,
        "command": f"mtcheck calibrate DATA_DIR --seed {seed} --max-rows {max_rows}",
        "feature_signature": scorer.feature_signature,
        "fit_rows": {d: sum(r.dataset == d for r in rows) for d in ("train", "mqm", "ruen")},
        "human_translations": "excluded from fitting (MQM ted21 ref-A/ref-B rows)",
        "target": "within-dataset percentile of the human score (DA z, MQM score); datasets weigh equally",
        "scales": {},
        "cross_validation": {},
    }
    for scale, names in SCALE_FEATURES.items():
        matrix = feature_matrix(features, names)
        if scale in EQUAL_WEIGHT_SCALES:
            model = equal_weights(matrix, names)
            calibration["scales"][scale] = {**scale_spec(model, rows, matrix), "within": None, "ridge": None}
            continue
        best, best_score, cv_table = (0.5, 1.0), -math.inf, {}
        for within in within_grid:
            for ridge in ridge_grid:
                cv = cross_validate(matrix, rows, names, within, ridge, seed)
                # Ranking translations of one sentence (tau_item) matters most; the flat scale still matters.
                score = float(np.mean([0.7 * v["tau_item"] + 0.3 * v["kendall"] for v in cv.values()]))
                cv_table[f"within={within:g},ridge={ridge:g}"] = cv
                if score > best_score:
                    best, best_score = (within, ridge), score
        model = fit_linear(matrix, rows, names, *best)
        spec = scale_spec(model, rows, matrix)
        spec["within"], spec["ridge"] = best
        calibration["scales"][scale] = spec
        calibration["cross_validation"][scale] = cv_table[f"within={best[0]:g},ridge={best[1]:g}"]
        log.info(
            "%s: within=%g ridge=%g cv=%s", scale, best[0], best[1], calibration["cross_validation"][scale]
        )
    from mtcheck.score import Calibration

    fitted = Calibration(calibration, "fit")
    quality = np.array([fitted.apply("quality", add_derived(dict(f))) for f in features], dtype=float)
    calibration["thresholds"] = verdict_thresholds(quality, rows)
    text = json.dumps(json_safe(calibration), indent=1, allow_nan=False) + "\n"
    Path(out).write_text(text, encoding="utf-8")
    return calibration


def json_safe(value):
    """NaN (e.g. a share over no segments) becomes null: the file stays strict JSON."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _cli() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Fit mtcheck's calibrated scales to human judgments")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", default=str(Path(__file__).with_name("calibration.json")))
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS)
    parser.add_argument("--cache-dir", default=None, help="cache features here between runs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    result = main(args.data_dir, args.out, args.seed, args.max_rows, args.cache_dir)
    print(
        json.dumps(
            {"thresholds": result["thresholds"], "cross_validation": result["cross_validation"]}, indent=1
        )
    )


if __name__ == "__main__":
    _cli()
