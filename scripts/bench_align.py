"""Alignment time of this checkout against another checkout's, on the same documents, with the links compared.

    PYTHONPATH=. python scripts/bench_align.py OTHER_CHECKOUT [DATA]

Aligns the MT and reference sentences of every WMT22 ru-en document (one system each, as the benchmark
does) with both `mtcheck/align.py`s, alternately, twice; then one long article (the first 900 sentences of
all documents joined) once with each, and says whether every link is the same.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

from lab.bench import articles_from_jsonl
from mtcheck import align as this
from mtcheck.segment import segment


def load_other(checkout: Path):
    spec = importlib.util.spec_from_file_location("other_align", checkout / "mtcheck" / "align.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["other_align"] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def main(other_checkout: Path, data: Path) -> None:
    other = load_other(other_checkout)
    documents = [
        ([s.text for s in segment(mt)], [s.text for s in segment(ref)])
        for _, mt, ref in articles_from_jsonl(data)
    ]
    implementations = {"this checkout": this.align, str(other_checkout): other.align}
    same = sum(this.align(mt, ref) == other.align(mt, ref) for mt, ref in documents)
    print(
        f"{len(documents)} documents, {sum(len(mt) for mt, _ in documents)} MT sentences; same links in {same}"
    )
    for _ in range(2):
        for name, align in implementations.items():
            start = time.perf_counter()
            for mt, ref in documents:
                align(mt, ref)
            print(f"  {name}: {time.perf_counter() - start:.2f} s", flush=True)
    long_mt = [s for mt, _ in documents for s in mt][:900]
    long_ref = [s for _, ref in documents for s in ref][:900]
    print(
        f"  900-sentence article, same links: {this.align(long_mt, long_ref) == other.align(long_mt, long_ref)}"
    )


if __name__ == "__main__":
    default = Path("../shared/data/wmt22_ruen_da_dev.jsonl")
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else default)
