"""Measure mtcheck's scores against human judgments (MQM or DA JSONL from the shared data folder).

    python -m mtcheck.evaluate /work/shared/data/mqm_zhen_dev.jsonl --split holdout --json-out eval.json

For mtcheck's quality, fluency and adequacy, sacrebleu chrF and BLEU, and every single feature the
quality scale is built from, it reports:
- tau_item: Kendall tau-b between metric and human score within each source segment (across the
  systems that translated it), averaged over segments with at least two distinct human scores
  (the WMT "item-level" view: it asks whether a metric ranks translations of the same sentence right,
  which flat correlations on MQM mostly fail to measure because they reward sentence length);
- kendall: flat Kendall tau-b over all rows; pearson: flat Pearson r;
- auc_major (MQM only): ROC AUC of the metric for "the segment has no Major error" (0.5 = chance).
Features where a higher value means a worse translation (TER, surprisal, unmatched shares) are negated
first, so that every correlation is expected to be positive.

`split` picks the document half used by calibration (`holdout`: never fitted on; `fit`; `all`).
"""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

log = logging.getLogger(__name__)

# Raw features whose higher values mean a worse translation.
LOWER_IS_BETTER = (
    "ter",
    "ter_log",
    "len_ratio_abs",
    "lm_mean_bits",
    "lm_max_bits",
    "lm_p90_bits",
    "lm_sum_bits",
    "eos_bits",
    "lm_mean_bits_vs_ref",
    "cond_lm_mean_bits",
    "cond_lm_max_bits",
    "cond_lm_p90_bits",
    "cond_lm_sum_bits",
    "cond_eos_bits",
    "unmatched_mt_share",
    "unmatched_ref_share",
)


def _clean(metric, human) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray(metric, dtype=float)
    h = np.asarray(human, dtype=float)
    ok = np.isfinite(m) & np.isfinite(h)
    return m[ok], h[ok]


def tau_item(metric, human, items) -> float:
    """Mean within-item Kendall tau-b; items whose human scores are all equal are skipped."""
    groups: dict[object, list[int]] = defaultdict(list)
    for k, item in enumerate(items):
        groups[item].append(k)
    m_all, h_all = np.asarray(metric, dtype=float), np.asarray(human, dtype=float)
    taus = []
    for idx in groups.values():
        m, h = _clean(m_all[idx], h_all[idx])
        if len(m) < 2 or np.ptp(h) == 0:
            continue
        if np.ptp(m) == 0:
            taus.append(0.0)  # a metric that cannot tell the translations apart gets no credit
            continue
        tau = stats.kendalltau(m, h).statistic
        taus.append(0.0 if math.isnan(tau) else float(tau))
    return float(np.mean(taus)) if taus else math.nan


def flat_kendall(metric, human) -> float:
    m, h = _clean(metric, human)
    return float(stats.kendalltau(m, h).statistic) if len(m) > 1 else math.nan


def pearson(metric, human) -> float:
    m, h = _clean(metric, human)
    if len(m) < 2 or np.ptp(m) == 0:
        return math.nan
    return float(stats.pearsonr(m, h).statistic)


def roc_auc(metric, positive) -> float:
    """P(metric of a positive > metric of a negative), ties counting half (Mann-Whitney)."""
    m = np.asarray(metric, dtype=float)
    y = np.asarray(positive, dtype=bool)
    ok = np.isfinite(m)
    m, y = m[ok], y[ok]
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = stats.rankdata(m)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _signal_values(features: list[dict[str, float]], name: str) -> np.ndarray:
    sign = -1.0 if name in LOWER_IS_BETTER else 1.0
    return np.array([sign * f.get(name, math.nan) for f in features], dtype=float)


def measure(signals: dict[str, np.ndarray], rows) -> dict[str, dict[str, float]]:
    """tau_item, flat Kendall, Pearson (and AUC for "no Major error" on MQM) of every signal."""
    human = [r.human for r in rows]
    items = [r.item for r in rows]
    has_major = rows and rows[0].major is not None
    table: dict[str, dict[str, float]] = {}
    for name, values in signals.items():
        result = {
            "tau_item": tau_item(values, human, items),
            "kendall": flat_kendall(values, human),
            "pearson": pearson(values, human),
        }
        if has_major:
            result["auc_major"] = roc_auc(values, [not r.major for r in rows])
        table[name] = result
    return table


def detect_dataset(path: Path) -> str:
    """ "mqm" for MQM files (mqm_score), "ruen"/"train" for DA files (z)."""
    with open(path, encoding="utf-8") as handle:
        first = json.loads(handle.readline())
    if "mqm_score" in first:
        return "mqm"
    if "z" in first:
        return "ruen" if first.get("lp") == "ru-en" else "train"
    from mtcheck.types import InputError

    raise InputError(f"{path}: rows carry neither `mqm_score` nor `z`; not a human-judgment file")


def format_table(table: dict[str, dict[str, float]], title: str) -> str:
    columns = ["tau_item", "kendall", "pearson"] + (
        ["auc_major"] if "auc_major" in next(iter(table.values())) else []
    )
    width = max(len(name) for name in table) + 2
    lines = [title, "signal".ljust(width) + "".join(c.rjust(11) for c in columns)]
    for name, result in table.items():
        lines.append(name.ljust(width) + "".join(f"{result[c]:11.3f}" for c in columns))
    return "\n".join(lines)


def verdict_bands(quality: np.ndarray, rows, thresholds: dict[str, float]) -> dict:
    """Where human-judged bad and good segments land in the verdict bands of `quality`.

    Bad: an MQM Major error (target side), or a raw DA rating under 50. Good: MQM error-free (score 0:
    no penalised error), or DA 80+; for MQM also "no Major error". rewrite: quality < thresholds
    ["rewrite"]; ok: quality >= thresholds["ok"]; review in between. Rows without the human label
    (DA rows with no raw rating) are left out.
    """
    rewrite, ok = float(thresholds["rewrite"]), float(thresholds["ok"])
    q = np.asarray(quality, dtype=float)
    is_mqm = bool(rows) and rows[0].major is not None
    if is_mqm:
        labelled = np.ones(len(rows), dtype=bool)
        bad = np.array([bool(r.major) for r in rows])
        good = np.array([r.human >= 0 for r in rows])
        groups = {"major_error": bad, "error_free": good, "no_major_error": ~bad}
    else:
        labelled = np.array([r.da_raw is not None for r in rows])
        bad = np.array([r.da_raw is not None and r.da_raw < 50 for r in rows])
        good = np.array([r.da_raw is not None and r.da_raw >= 80 for r in rows])
        groups = {"da_below_50": bad, "da_80_plus": good}
    valid = labelled & np.isfinite(q)
    band = np.where(q < rewrite, "rewrite", np.where(q >= ok, "ok", "review"))
    result: dict = {
        "thresholds": {"rewrite": rewrite, "ok": ok},
        "rows": int(valid.sum()),
        "band_share": {b: _share(band[valid] == b) for b in ("rewrite", "review", "ok")},
        "groups": {},
        "bad_rate_in_band": {b: _share(bad[valid & (band == b)]) for b in ("rewrite", "review", "ok")},
        "bad_rate_overall": _share(bad[valid]),
    }
    for name, mask in groups.items():
        sel = valid & mask
        result["groups"][name] = {
            "n": int(sel.sum()),
            **{f"in_{b}": _share(band[sel] == b) for b in ("rewrite", "review", "ok")},
        }
    return result


def _share(mask: np.ndarray) -> float:
    return round(float(np.mean(mask)), 4) if len(mask) else math.nan


def format_bands(bands: dict) -> str:
    t = bands["thresholds"]
    lines = [
        f"verdict bands by quality (rewrite < {t['rewrite']:g} <= review < {t['ok']:g} <= ok), "
        f"{bands['rows']} rows: " + ", ".join(f"{b} {v:.1%}" for b, v in bands["band_share"].items()),
        "group".ljust(16) + "n".rjust(7) + "rewrite".rjust(10) + "review".rjust(10) + "ok".rjust(10),
    ]
    for name, g in bands["groups"].items():
        lines.append(
            name.ljust(16)
            + f"{g['n']:7d}"
            + "".join(f"{g['in_' + b]:10.1%}" for b in ("rewrite", "review", "ok"))
        )
    lines.append(
        "bad rate in band: "
        + ", ".join(f"{b} {v:.1%}" for b, v in bands["bad_rate_in_band"].items())
        + f" (overall {bands['bad_rate_overall']:.1%})"
    )
    return "\n".join(lines)


def _signals(features: list[dict[str, float]], scorer, components: bool) -> dict[str, np.ndarray]:
    """mtcheck's scales, chrF and BLEU (and, with `components`, every feature of the quality scale)."""
    signals: dict[str, np.ndarray] = {}
    for k, scale in enumerate(("fluency", "adequacy", "quality")):
        values = [scorer.scales(f, True, True)[k] for f in features]
        if any(v is not None for v in values):
            signals[scale] = np.array([math.nan if v is None else v for v in values], dtype=float)
    signals = {name: signals[name] for name in ("quality", "fluency", "adequacy") if name in signals}
    signals["chrF"] = _signal_values(features, "chrf")
    signals["BLEU"] = _signal_values(features, "bleu")
    if components:
        quality_scale = "quality" if scorer.lm is not None else "quality_nolm"
        spec = scorer.calibration.data.get("scales", {}).get(quality_scale, {})
        for name in spec.get("features", []):
            if name not in ("chrf", "bleu"):
                signals[name] = _signal_values(features, name)
    return signals


def main(
    data_path: str | Path,
    json_out: str | Path | None = None,
    split: str = "holdout",
    max_rows: int | None = None,
    use_lm: bool = True,
    cache_dir: str | Path | None = None,
    seed: int = 0,
    scorer=None,
    calibration_path: str | Path | None = None,
    include_human: bool = False,
) -> dict:
    """Score every row of a human-judgment JSONL and print/return the agreement table (see module doc).

    split: "holdout" (default: documents never used for fitting), "fit" or "all"; max_rows samples whole
    source segments with `seed`; cache_dir caches features per (mt, ref) pair between runs;
    calibration_path evaluates another calibration JSON. Human translations (MQM `is_human`) are left
    out of the main table unless `include_human`; a second table then shows the scales, chrF and BLEU
    with them included.
    """
    from mtcheck import calibrate
    from mtcheck.score import Scorer, add_derived

    data_path = Path(data_path)
    dataset = detect_dataset(data_path)
    rows = calibrate.select(calibrate.read_rows(data_path, dataset), split, max_rows, seed)
    if not rows:
        from mtcheck.types import InputError

        raise InputError(f"{data_path}: no rows with human scores in split {split!r}")
    if scorer is None:
        scorer = Scorer(use_lm=use_lm, calibration_path=Path(calibration_path) if calibration_path else None)
    cache = calibrate.FeatureCache(Path(cache_dir) if cache_dir else None, scorer)
    features = [add_derived(dict(f)) for f in calibrate.extract_features(rows, scorer, cache)]
    human_rows = [k for k, r in enumerate(rows) if r.is_human]
    main_idx = list(range(len(rows))) if include_human else [k for k, r in enumerate(rows) if not r.is_human]
    main_rows = [rows[k] for k in main_idx]
    signals = _signals([features[k] for k in main_idx], scorer, components=True)
    table = measure(signals, main_rows)
    n_items = len({r.item for r in main_rows})
    n_items_ranked = sum(
        1
        for idx in _groups(main_rows).values()
        if len(idx) > 1 and len({main_rows[k].human for k in idx}) > 1
    )
    human_note = (
        f"human translations: {len(human_rows)} rows "
        + ("included" if include_human else "left out (see the table with them below)")
        if human_rows
        else "no human translations"
    )
    title = (
        f"{data_path.name}  split={split}  rows={len(main_rows)}  items={n_items} "
        f"(tau_item over {n_items_ranked})  docs={len({(r.lp, r.doc) for r in main_rows})}  {human_note}\n"
        f"{scorer.signature}"
    )
    print(format_table(table, title))
    note = None
    if dataset == "train":
        note = (
            "every document of this file is in the calibration's fitting data: these are not held-out figures"
        )
        print(f"note: {note}")
    result = {
        "data": str(data_path),
        "dataset": dataset,
        "split": split,
        "rows": len(main_rows),
        "items": n_items,
        "items_for_tau_item": n_items_ranked,
        "human_translations": {"rows": len(human_rows), "included": bool(include_human)},
        "signature": scorer.signature,
        "metrics": table,
    }
    if note:
        result["note"] = note
    if human_rows and not include_human:
        with_human = measure(_signals(features, scorer, components=False), rows)
        result["metrics_with_human"] = with_human
        print()
        print(format_table(with_human, f"with the {len(human_rows)} human-translation rows included"))
    if "quality" in signals and scorer.thresholds.get("rewrite") is not None and "ok" in scorer.thresholds:
        bands = verdict_bands(signals["quality"], main_rows, scorer.thresholds)
        result["verdict_bands"] = bands
        print()
        print(format_bands(bands))
    if any(r.fluency_penalty is not None for r in main_rows):
        # MQM with categories: do fluency/adequacy track their own error categories?
        sub = [k for k, r in enumerate(main_rows) if r.fluency_penalty is not None]
        extra = {}
        for scale, attr in (("fluency", "fluency_penalty"), ("adequacy", "accuracy_penalty")):
            if scale in signals:
                values = signals[scale][sub]
                human = [getattr(main_rows[k], attr) for k in sub]
                extra[f"{scale}_vs_{attr}"] = {
                    "tau_item": tau_item(values, human, [main_rows[k].item for k in sub]),
                    "kendall": flat_kendall(values, human),
                }
        result["category_checks"] = extra
        for name, value in extra.items():
            print(f"{name}: tau_item {value['tau_item']:.3f}  kendall {value['kendall']:.3f}")
    if json_out:
        Path(json_out).write_text(json.dumps(calibrate.json_safe(result), indent=2) + "\n", encoding="utf-8")
    return result


def _groups(rows) -> dict:
    groups: dict[object, list[int]] = defaultdict(list)
    for k, r in enumerate(rows):
        groups[r.item].append(k)
    return groups


def _cli() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", help="MQM or DA JSONL (e.g. /work/shared/data/mqm_zhen_dev.jsonl)")
    parser.add_argument("--json-out", default=None)
    parser.add_argument("--split", default="holdout", choices=["all", "holdout", "fit"])
    parser.add_argument("--max-rows", type=int, default=None)
    parser.add_argument("--no-lm", action="store_true")
    parser.add_argument("--cache-dir", default=None, help="cache features here between runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calibration", default=None)
    parser.add_argument("--include-human", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    main(
        args.data,
        args.json_out,
        args.split,
        args.max_rows,
        not args.no_lm,
        args.cache_dir,
        args.seed,
        calibration_path=args.calibration,
        include_human=args.include_human,
    )


if __name__ == "__main__":
    _cli()
