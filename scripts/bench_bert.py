"""Bare forward of the packaged MiniLM through transformers and through mtcheck.bert, in one run.

    PYTHONPATH=. python scripts/bench_bert.py [bf16|fp32]

The sentence pairs of the first 60 WMT22 ru-en documents (MT sentence with the reference sentence of the same
index), length-sorted batches of 32, each implementation timed twice, alternating, after a warm-up.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer

from lab.bench import articles_from_jsonl
from mtcheck.bert import load_encoder
from mtcheck.models import default_embedder_path
from mtcheck.segment import segment


def main(precision: str, data: Path = Path("../shared/data/wmt22_ruen_da_dev.jsonl")) -> None:
    folder = default_embedder_path()
    articles = articles_from_jsonl(data)[:60]
    mt = [s.text for _, text, _ in articles for s in segment(text)]
    ref = [s.text for _, _, text in articles for s in segment(text)]
    pairs = list(zip(mt, ref[: len(mt)], strict=False))
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    batches = []
    for start in range(0, len(order), 32):
        chunk = [pairs[i] for i in order[start : start + 32]]
        batches.append(
            tokenizer(
                [a for a, _ in chunk],
                [b for _, b in chunk],
                padding=True,
                truncation=True,
                max_length=512,
                return_tensors="pt",
            )
        )
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    models = {
        "transformers": AutoModel.from_pretrained(str(folder)).eval().to(dtype),
        "mtcheck.bert": load_encoder(folder)[1].eval().to(dtype),
    }

    def run(model) -> float:
        start = time.perf_counter()
        with torch.inference_mode():
            for b in batches:
                model(
                    input_ids=b["input_ids"],
                    attention_mask=b["attention_mask"],
                    token_type_ids=b["token_type_ids"],
                )
        return time.perf_counter() - start

    for model in models.values():
        run(model)  # warm-up
    print(f"{len(pairs)} pairs, {len(batches)} batches, {precision}")
    for _ in range(2):
        for name, model in models.items():
            print(f"  {name}: {run(model):.2f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bf16")
