"""Agreement statistics: the same definitions for every metric the lab measures."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import stats


def _clean(metric, human) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray(metric, dtype=float)
    h = np.asarray(human, dtype=float)
    ok = np.isfinite(m) & np.isfinite(h)
    return m[ok], h[ok]


def groups(items: Sequence) -> dict[object, list[int]]:
    """Row indices of each item (source segment)."""
    out: dict[object, list[int]] = defaultdict(list)
    for k, item in enumerate(items):
        out[item].append(k)
    return out


def tau_item(metric, human, items) -> float:
    """Mean within-item Kendall tau-b; items whose human scores are all equal are skipped."""
    m_all, h_all = np.asarray(metric, dtype=float), np.asarray(human, dtype=float)
    taus = []
    for idx in groups(items).values():
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


def auc(scores, labels) -> float:
    """Area under the ROC curve of `scores` for boolean `labels` (ties count half)."""
    s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=bool)
    ok = np.isfinite(s)
    s, y = s[ok], y[ok]
    if y.all() or not y.any():
        return math.nan
    ranks = stats.rankdata(s)
    n1 = y.sum()
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * (len(y) - n1)))


def item_taus(metric, human, items) -> dict[object, float]:
    """Kendall tau-b of each item (the terms `tau_item` averages)."""
    m_all, h_all = np.asarray(metric, dtype=float), np.asarray(human, dtype=float)
    out = {}
    for item, idx in groups(items).items():
        m, h = _clean(m_all[idx], h_all[idx])
        if len(m) < 2 or np.ptp(h) == 0:
            continue
        tau = 0.0 if np.ptp(m) == 0 else stats.kendalltau(m, h).statistic
        out[item] = 0.0 if math.isnan(tau) else float(tau)
    return out


def bootstrap_diff(a, b, human, items, n: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% interval of tau_item(a) - tau_item(b), resampling items (tau_item is a mean over items)."""
    ta, tb = item_taus(a, human, items), item_taus(b, human, items)
    keys = sorted(set(ta) & set(tb), key=str)
    diff = np.array([ta[k] - tb[k] for k in keys])
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (n, len(diff)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def span_mask(length: int, spans: Iterable[tuple[int, int]]) -> np.ndarray:
    mask = np.zeros(length, dtype=bool)
    for start, end in spans:
        mask[max(0, start) : min(length, end)] = True
    return mask


def span_f1(
    predicted: Sequence[Iterable[tuple[int, int]]],
    gold: Sequence[Iterable[tuple[int, int]]],
    lengths: Sequence[int],
) -> dict[str, float]:
    """Character-level precision, recall and F1, counts summed over rows."""
    tp = fp = fn = 0
    for p, g, n in zip(predicted, gold, lengths, strict=True):
        pm, gm = span_mask(n, p), span_mask(n, g)
        tp += int((pm & gm).sum())
        fp += int((pm & ~gm).sum())
        fn += int((~pm & gm).sum())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {
        "precision": round(prec, 4),
        "recall": round(rec, 4),
        "f1": round(f1, 4),
        "flagged_chars": tp + fp,
    }
