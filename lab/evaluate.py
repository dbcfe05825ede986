"""Measure mtcheck against human judgments, only through the product's public API.

    python -m lab evaluate ../shared/data/wmt22_ruen_da_dev.jsonl --split holdout [--no-ref] [--json F]
    python -m lab eval-flags ../shared/data/mqm_zhen_dev.jsonl --split holdout [--no-ref] [--json F]

`evaluate`: the metric's `quality`, `adequacy` and `fluency` (through `mtcheck.load_metric(...).predict`)
against the human scores of MT rows (human translations left out), with sacrebleu chrF and BLEU measured
in the same run: tau_item (Kendall tau within each source segment, averaged), flat Kendall and Pearson,
an item-bootstrap 95% interval of quality minus chrF, and on MQM the AUC for "has a Major error".

`eval-flags`: the whole flag stage (`mtcheck.Checker` in line-aligned mode, model spans and rules
together): character precision/recall/F1 against annotated Major spans (all flags; major and critical
flags only; per detector); false alarms on human translations (error-free ones and those with an
annotated Major error apart) and on the reference scored against itself; verdict shares on MT rows.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from lab.data import Row, read_rows
from lab.stats import auc, bootstrap_diff, flat_kendall, pearson, span_f1, tau_item

ARTICLE_LINES = 64  # rows checked together as one line-aligned pseudo-article (the metric batches them)


def _chrf_bleu(rows: list[Row]) -> tuple[list[float], list[float]]:
    import sacrebleu

    chrf, bleu = sacrebleu.metrics.CHRF(), sacrebleu.metrics.BLEU(effective_order=True)
    return (
        [chrf.sentence_score(r.mt, [r.ref]).score for r in rows],
        [bleu.sentence_score(r.mt, [r.ref]).score for r in rows],
    )


def evaluate_scores(rows: list[Row], metric, use_ref: bool = True) -> dict:
    """Agreement of the metric's scores (and chrF/BLEU) with the human scores of `rows`."""
    rows = [r for r in rows if not r.is_human]
    prediction = metric.predict([r.mt for r in rows], [r.ref if use_ref else None for r in rows])
    columns = {
        "quality": [u.quality for u in prediction.units],
        "adequacy": [u.adequacy for u in prediction.units],
        "fluency": [u.fluency for u in prediction.units],
    }
    columns["chrF"], columns["BLEU"] = _chrf_bleu(rows)
    human = [r.human for r in rows]
    items = [r.item for r in rows]
    out: dict = {"rows": len(rows), "items": len({r.item for r in rows}), "signature": prediction.signature}
    for name, values in columns.items():
        values = [np.nan if v is None else v for v in values]
        out[name] = {
            "tau_item": round(tau_item(values, human, items), 4),
            "kendall": round(flat_kendall(values, human), 4),
            "pearson": round(pearson(values, human), 4),
        }
        if rows and rows[0].dataset == "mqm":
            out[name]["auc_major"] = round(auc([-v for v in values], [r.has_major for r in rows]), 4)
    lo, hi = bootstrap_diff(columns["quality"], columns["chrF"], human, items)
    out["quality_minus_chrF"] = {
        "tau_item": round(out["quality"]["tau_item"] - out["chrF"]["tau_item"], 4),
        "ci95": [round(lo, 4), round(hi, 4)],
    }
    return out


def check_rows(checker, rows: list[Row], ref_of=lambda r: r.ref) -> list:
    """Each row's `UnitResult`, from line-aligned pseudo-articles of ARTICLE_LINES rows."""
    units = []
    for start in range(0, len(rows), ARTICLE_LINES):
        chunk = rows[start : start + ARTICLE_LINES]
        mt = "\n".join(r.mt.replace("\n", " ").strip() for r in chunk)
        refs = [ref_of(r) for r in chunk]
        ref = None if refs[0] is None else "\n".join(x.replace("\n", " ").strip() for x in refs)
        result = checker.check(f"rows{start}", mt, ref)
        units += result.units
    return units


def _gold(row: Row, severities: set[str]) -> list[tuple[int, int]]:
    shift = len(row.mt) - len(row.mt.lstrip())  # the unit's text is the stripped row
    return [(a - shift, b - shift) for a, b, sev, _ in row.spans if sev in severities]


def _false_alarms(units: list) -> dict:
    n = len(units) or 1
    verdicts = Counter(u.verdict for u in units)
    return {
        "segments": len(units),
        "share_flagged": round(sum(bool(u.flags) for u in units) / n, 4),
        "share_major_flagged": round(sum(any(f.severity != "minor" for f in u.flags) for u in units) / n, 4),
        "share_not_ok": round(sum(u.verdict != "ok" for u in units) / n, 4),
        "flags_per_segment": round(sum(len(u.flags) for u in units) / n, 4),
        "verdicts": {k: round(verdicts[k] / n, 4) for k in ("ok", "review", "rewrite")},
    }


def evaluate_flags(rows: list[Row], checker, use_ref: bool = True) -> dict:
    machine = [r for r in rows if not r.is_human]
    human = [r for r in rows if r.is_human]
    ref_of = (lambda r: r.ref) if use_ref else (lambda r: None)
    mt_units = check_rows(checker, machine, ref_of)
    out: dict = {"signature": checker.signature, "mt_rows": len(machine), "human_rows": len(human)}
    gold = [_gold(r, {"Major", "Critical"}) for r in machine]
    gold_any = [_gold(r, {"Major", "Minor", "Critical"}) for r in machine]
    lengths = [len(u.mt) for u in mt_units]
    flags = [[(f.start, f.end) for f in u.flags] for u in mt_units]
    out["major_spans"] = {
        "all_flags": span_f1(flags, gold, lengths),
        "major_flags": span_f1(
            [[(f.start, f.end) for f in u.flags if f.severity != "minor"] for u in mt_units], gold, lengths
        ),
        "all_flags_vs_all_spans": span_f1(flags, gold_any, lengths),
        "baseline_flag_everything": span_f1([[(0, n)] for n in lengths], gold, lengths),
    }
    detectors = sorted({f.detector for u in mt_units for f in u.flags})
    out["per_detector"] = {
        d: {
            **span_f1(
                [[(f.start, f.end) for f in u.flags if f.detector == d] for u in mt_units], gold, lengths
            ),
            "segments": sum(any(f.detector == d for f in u.flags) for u in mt_units),
        }
        for d in detectors
    }
    mean_mqm: dict[str, list[float]] = defaultdict(list)
    for r, u in zip(machine, mt_units, strict=True):
        mean_mqm[u.verdict].append(r.human)
    out["mt_verdicts"] = {
        v: {"share": round(len(s) / max(1, len(machine)), 4), "mean_mqm": round(float(np.mean(s)), 3)}
        for v, s in sorted(mean_mqm.items())
    }
    if human:
        human_units = check_rows(checker, human, ref_of)
        clean = [u for r, u in zip(human, human_units, strict=True) if not r.spans]
        major = [u for r, u in zip(human, human_units, strict=True) if r.has_major]
        out["human"] = {
            "all": _false_alarms(human_units),
            "error_free": _false_alarms(clean),
            "with_major": _false_alarms(major),
        }
    if use_ref:
        # One copy of each reference against itself (the MT rows of a segment share it).
        refs = list({r.item: r for r in machine}.values())
        out["reference_vs_itself"] = _false_alarms(check_rows(checker, [_as_copy(r) for r in refs]))
    return out


def _as_copy(row: Row) -> Row:
    return Row(**{**row.__dict__, "mt": row.ref, "spans": []})


def write_json(figures: dict, path: Path | None) -> None:
    text = json.dumps(figures, indent=1)
    print(text)
    if path:
        Path(path).write_text(text + "\n")


def main_scores(data: Path, split: str, model: Path | None, use_ref: bool, json_out: Path | None) -> None:
    from mtcheck import load_metric

    write_json(evaluate_scores(read_rows(data, split), load_metric(model), use_ref), json_out)


def main_flags(data: Path, split: str, model: Path | None, use_ref: bool, json_out: Path | None) -> None:
    from mtcheck import Checker, CheckOptions

    checker = Checker(CheckOptions(mode="aligned", check_pairing=False), model_path=model)
    write_json(evaluate_flags(read_rows(data, split), checker, use_ref), json_out)
