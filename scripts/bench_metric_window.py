"""The quality model per article against once per window of 16 articles: time, and how far the numbers move.

    PYTHONPATH=. python scripts/bench_metric_window.py [bf16|fp32] [DOCUMENTS]

Units come from checking the first DOCUMENTS (default 123) WMT22 ru-en documents as the benchmark does; then
`predict` runs on them per article and per window, alternating, twice, and the two runs' quality scores and
spans are compared unit by unit.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from lab.bench import articles_from_jsonl
from mtcheck import Checker, CheckOptions


def main(precision: str, documents: int, window: int = 16) -> None:
    articles = articles_from_jsonl(Path("../shared/data/wmt22_ruen_da_dev.jsonl"))[:documents]
    checker = Checker(CheckOptions(check_pairing=False, precision=precision))
    jobs = []
    for doc, mt, ref in articles:
        result = checker.check(doc, mt, ref)
        jobs.append(([u.mt for u in result.units], [u.ref or None for u in result.units]))
    metric = checker.metric

    def per_article() -> list:
        return [u for mt, ref in jobs for u in metric.predict(mt, ref).units]

    def per_window() -> list:
        out = []
        for start in range(0, len(jobs), window):
            part = jobs[start : start + window]
            out += metric.predict([m for j in part for m in j[0]], [r for j in part for r in j[1]]).units
        return out

    print(f"{sum(len(mt) for mt, _ in jobs)} units of {len(jobs)} articles, {precision}")
    runs = {}
    for _ in range(2):
        for name, fn in (("per article", per_article), (f"per window of {window}", per_window)):
            start = time.perf_counter()
            runs[name] = fn()
            print(f"  {name}: {time.perf_counter() - start:.2f} s", flush=True)
    single, windowed = runs.values()
    moved = [
        abs(a.quality - b.quality) for a, b in zip(single, windowed, strict=True) if a.quality is not None
    ]
    spans = sum(
        [(s.start, s.end, s.severity) for s in a.spans] != [(s.start, s.end, s.severity) for s in b.spans]
        for a, b in zip(single, windowed, strict=True)
    )
    print(f"  quality moved in {sum(d > 0 for d in moved)} of {len(moved)} units (at most {max(moved):.2f});")
    print(f"  spans changed in {spans} units")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bf16", int(sys.argv[2]) if len(sys.argv) > 2 else 123)
