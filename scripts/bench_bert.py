"""Bare forward of the packaged MiniLM through transformers and through mtcheck.bert, in one run.

    PYTHONPATH=. python scripts/bench_bert.py [bf16|fp32]

The first 60 WMT22 ru-en documents: every MT sentence, and each MT sentence with the reference sentence of
the same index, timed by the benchmark's own `lab.bench.bare_forward_seconds` (the embedder's batches and
the quality model's pair batches), each implementation twice, alternating.
"""

from __future__ import annotations

import sys
from pathlib import Path

from transformers import AutoModel

from lab.bench import articles_from_jsonl, bare_forward_seconds
from mtcheck.bert import load_encoder
from mtcheck.models import default_embedder_path
from mtcheck.segment import segment


def main(precision: str, data: Path = Path("../shared/data/wmt22_ruen_da_dev.jsonl")) -> None:
    folder = default_embedder_path()
    articles = articles_from_jsonl(data)[:60]
    mt = [s.text for _, text, _ in articles for s in segment(text)]
    ref = [s.text for _, _, text in articles for s in segment(text)]
    pairs = list(zip(mt, ref[: len(mt)], strict=False))
    encoders = {
        "transformers": AutoModel.from_pretrained(str(folder)),
        "mtcheck.bert": load_encoder(folder)[1],
    }
    print(f"{len(mt)} sentences, {len(pairs)} pairs, {precision}")
    for _ in range(2):
        for name, encoder in encoders.items():
            seconds = bare_forward_seconds(precision, mt, pairs, encoder)
            print(
                f"  {name}: sentences {seconds['embedder']:.2f} s, pairs {seconds['quality_model']:.2f} s",
                flush=True,
            )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bf16")
