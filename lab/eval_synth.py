"""Does mtcheck catch the errors wire copy shows? Injected errors on documents never trained on.

    python -m lab eval-synth ../shared/data [--per-type 150] [--split holdout|fit] [--json F]

Good translations of held-out documents (the MQM file's second human translation `ref_alt`, and ru-en
MT that raters scored in the top fifth) get one error of each kind from `lab.synth`, and the damaged and
the clean versions are checked against the reference through `mtcheck.Checker`. Per kind: the share of
damaged units that leave *ok*, the share with a flag on the injected span, and the share of the same
clean translations that stay *ok*.
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import numpy as np

from lab import synth
from lab.data import MQM_FILE, RUEN_FILE, Row, data_file, read_rows
from lab.evaluate import check_rows


def good_translations(data_dir: Path, n: int, seed: int, split: str = "holdout") -> list[Row]:
    """Good translations of the `split` half's documents (held out unless developing on "fit")."""
    mqm = read_rows(data_file(data_dir, MQM_FILE), split)
    alt = list(
        {r.item: Row(**{**r.__dict__, "mt": r.ref_alt, "spans": []}) for r in mqm if r.ref_alt}.values()
    )
    ruen = read_rows(data_file(data_dir, RUEN_FILE), split)
    cut = np.percentile([r.human for r in ruen], 80)
    good = [r for r in ruen if r.human >= cut]
    rng = random.Random(seed)
    bases = rng.sample(alt, min(len(alt), n // 2)) + rng.sample(good, min(len(good), n - n // 2))
    return bases


def evaluate_synthetic(
    data_dir: Path, checker, per_type: int = 150, seed: int = 7, split: str = "holdout"
) -> dict:
    bases = good_translations(data_dir, per_type, seed, split)
    rng = random.Random(seed)
    clean_units = check_rows(checker, bases)
    clean_ok = {id(b): u.verdict == "ok" for b, u in zip(bases, clean_units, strict=True)}
    out: dict = {
        "split": split,
        "bases": len(bases),
        "clean_ok": round(float(np.mean(list(clean_ok.values()))), 4),
        "signature": checker.signature,
        "types": {},
    }
    for kind in synth.ERROR_TYPES:
        damaged, hits = [], []
        for b in bases:
            hit = synth.inject(b.mt.strip(), rng, src=b.src, kind=kind)
            if hit is not None:
                damaged.append(Row(**{**b.__dict__, "mt": hit.text}))
                hits.append((b, hit))
        units = check_rows(checker, damaged)
        stats = defaultdict(list)
        for (base, hit), unit in zip(hits, units, strict=True):
            serious = hit.severity in ("major", "critical")
            on_error = any(f.start < e and s < f.end for f in unit.flags for s, e, _, _ in hit.spans)
            key = "serious" if serious else "minor"
            stats[f"{key}_left_ok"].append(unit.verdict != "ok")
            stats[f"{key}_flag_on_error"].append(on_error)
            stats[f"{key}_clean_ok"].append(clean_ok[id(base)])
        out["types"][kind] = {"n": len(hits)} | {
            k: round(float(np.mean(v)), 4) for k, v in sorted(stats.items())
        }
    return out
