"""Run the lab's `evaluate` on the 0.1.0 hand-combined scorer, to check that the harness measures it as
0.1.0's own evaluation did (docs/2026-12-02-harness-check.md).

    git worktree add ../mtcheck-0.1.0 b562ad8
    python scripts/eval_old_scorer.py ../mtcheck-0.1.0 ../shared/data/mqm_zhen_dev.jsonl [--no-lm]

The old `mtcheck` package is imported from the worktree, `lab` from this checkout; the old `Scorer` is
wrapped in the metric interface's `predict` and handed to `lab.evaluate.evaluate_scores`. Prints its JSON.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path


# The interface's own `UnitPrediction` / `Prediction` cannot be imported: `mtcheck` here is 0.1.0's
# package, which has no `mtcheck.metric`. `evaluate_scores` reads only these fields.
@dataclass
class _Unit:
    quality: float | None
    adequacy: float | None
    fluency: float | None
    spans: list = field(default_factory=list)


@dataclass
class _Prediction:
    units: list[_Unit]
    signature: str


class HandSignals:
    """0.1.0's `Scorer` behind `predict(mt, ref) -> Prediction`."""

    def __init__(self, scorer) -> None:
        self.scorer = scorer

    def predict(self, mt: list[str], ref: list[str | None]) -> _Prediction:
        scores = []
        for start in range(0, len(mt), 64):  # 0.1.0 scored an article's units at a time
            chunk = slice(start, start + 64)
            scores += self.scorer.score_units(mt[chunk], [r or "" for r in ref[chunk]])
        return _Prediction([_Unit(s.quality, s.adequacy, s.fluency) for s in scores], self.scorer.signature)


def main() -> None:
    old, data = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    sys.path.insert(0, str(old))  # the old `mtcheck` first
    import mtcheck

    if not Path(mtcheck.__file__).resolve().is_relative_to(old):
        sys.exit(f"mtcheck was imported from {mtcheck.__file__}, not from {old}")
    sys.path.append(str(Path(__file__).resolve().parents[1]))  # then this checkout's `lab`
    from mtcheck.score import Scorer

    from lab.data import read_rows
    from lab.evaluate import evaluate_scores

    metric = HandSignals(Scorer(use_lm="--no-lm" not in sys.argv))
    print(json.dumps(evaluate_scores(read_rows(data, "holdout"), metric, True), indent=1))


if __name__ == "__main__":
    main()
