"""Fit the numbers a trained model folder needs beyond its weights, on the fit half's dev documents only.

    python -m lab calibrate MODEL_FOLDER ../shared/data

Reads the model through the product's loader (`mtcheck.load_metric`) and writes into its config.json:
- `knots`: raw head output -> 0-100 percentile, per head, with the reference ("ref") and without it
  ("noref"), from the dev rows (ru-en DA and MQM, the same documents and items the trainer kept out);
- `decoding`: the tag probability cuts. The major cut maximises character F1 against annotated Major
  spans on MQM dev MT rows among cuts that give at most MAX_CLEAN_MAJOR of the error-free human
  translations a major span; the minor cut is the lowest that gives at most MAX_CLEAN_ANY of them any
  span. The critical cut is hand-set (MQM marks no critical errors to fit it on);
- `verdict`: the quality cuts. "ok" is the quality below which OK_CUT_SHARE of error-free human
  translations fall; "rewrite" the one below which REWRITE_CUT_SHARE of them fall.
Nothing here reads the held-out half.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lab.data import Row
from lab.stats import span_f1
from mtcheck import load_metric
from mtcheck.neural import Knots, decode_spans

# Shares of error-free human translations (the fit half's dev items) the cuts may touch: a flag on a
# clean translation costs an editor's trust, a major one most of all.
MAX_CLEAN_MAJOR = 0.04
MAX_CLEAN_ANY = 0.12
OK_CUT_SHARE = 0.08
REWRITE_CUT_SHARE = 0.01
CRITICAL_CUT = 0.5  # set by hand: no MQM span is critical; synthetic untranslated text is
GRID = [round(float(x), 2) for x in np.arange(0.1, 0.96, 0.05)]


def _major_gold(row: Row) -> list[tuple[int, int]]:
    return [(a, b) for a, b, sev, _ in row.spans if sev in ("Major", "Critical")]


def _predicted(outputs, rows, cuts) -> list[list]:
    return [
        decode_spans(r.mt, o["offsets"], o["tags"], o["categories"], cuts) if o else []
        for r, o in zip(rows, outputs, strict=True)
    ]


def verdict_cuts(metric, knots: dict, clean_raw: np.ndarray) -> dict[str, float]:
    """The verdict cuts from the raw quality of error-free human translations, on the scale the product
    shows: through the knots just fitted, which it sets on `metric`. (The folder read may hold no knots
    yet, as after training, or older ones: cuts fitted on that scale are not where verdicts are taken.)"""
    metric.config = {**metric.config, "knots": knots}
    quality = np.array([metric.to_scale(float(raw), "ref", "quality") for raw in clean_raw])
    return {
        "ok": round(float(np.percentile(quality, 100 * OK_CUT_SHARE)), 2),
        "rewrite": round(float(np.percentile(quality, 100 * REWRITE_CUT_SHARE)), 2),
    }


def calibrate(folder: Path, data_dir: Path) -> dict:
    from lab.train import Corpus, Settings

    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    settings = Settings(
        **{k: v for k, v in config["training"]["settings"].items() if k in Settings.__dataclass_fields__}
    )
    corpus = Corpus(Path(data_dir), settings)
    metric = load_metric(folder, precision="auto")
    rows = corpus.dev_ruen + corpus.dev_mqm
    print(f"calibrating on {len(corpus.dev_ruen)} ru-en and {len(corpus.dev_mqm)} MQM dev rows", flush=True)
    with_ref = metric.raw_outputs([r.mt for r in rows], [r.ref for r in rows])
    without = metric.raw_outputs([r.mt for r in rows], [None] * len(rows))
    knots = {}
    for mode, outs in (("ref", with_ref), ("noref", without)):
        raw = np.array([o["raw"] for o in outs if o is not None])
        knots[mode] = {
            head: Knots.fit(raw[:, k]).__dict__ for k, head in enumerate(("quality", "adequacy", "fluency"))
        }
    config["knots"] = knots

    mqm = corpus.dev_mqm
    mqm_out = with_ref[len(corpus.dev_ruen) :]
    machine = [i for i, r in enumerate(mqm) if not r.is_human]
    clean_human = [i for i, r in enumerate(mqm) if r.is_human and not r.spans]
    report = {
        "dev_rows": {
            "ruen": len(corpus.dev_ruen),
            "mqm_mt": len(machine),
            "mqm_clean_human": len(clean_human),
        }
    }

    def share_with(cuts, idx, severities) -> float:
        pred = _predicted([mqm_out[i] for i in idx], [mqm[i] for i in idx], cuts)
        return float(np.mean([any(s.severity in severities for s in p) for p in pred])) if idx else 0.0

    best = None
    for major in GRID:
        cuts = {"minor": 1.01, "major": major, "critical": CRITICAL_CUT}
        if share_with(cuts, clean_human, {"major", "critical"}) > MAX_CLEAN_MAJOR:
            continue
        pred = _predicted([mqm_out[i] for i in machine], [mqm[i] for i in machine], cuts)
        f1 = span_f1(
            [[(s.start, s.end) for s in p] for p in pred],
            [_major_gold(mqm[i]) for i in machine],
            [len(mqm[i].mt) for i in machine],
        )["f1"]
        if best is None or f1 > best[1]:
            best = (major, f1)
    major_cut = best[0] if best else GRID[-1]
    minor_cut = next(
        (
            c
            for c in GRID
            if c <= major_cut
            and share_with(
                {"minor": c, "major": major_cut, "critical": CRITICAL_CUT},
                clean_human,
                {"minor", "major", "critical"},
            )
            <= MAX_CLEAN_ANY
        ),
        major_cut,
    )
    config["decoding"] = {"minor": minor_cut, "major": major_cut, "critical": CRITICAL_CUT}
    report["decoding"] = {"major_f1_dev": best[1] if best else None}

    config["verdict"] = verdict_cuts(metric, knots, np.array([mqm_out[i]["raw"][0] for i in clean_human]))
    config["calibration"] = {
        "command": "python -m lab calibrate FOLDER DATA",
        "rules": {
            "max_clean_major": MAX_CLEAN_MAJOR,
            "max_clean_any": MAX_CLEAN_ANY,
            "ok_cut_share": OK_CUT_SHARE,
            "rewrite_cut_share": REWRITE_CUT_SHARE,
        },
        **report,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    print(f"decoding {config['decoding']}, verdict {config['verdict']}, {report}", flush=True)
    return config
