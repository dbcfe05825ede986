"""`python -m lab bench-scale`: how mtcheck scales, measured through the product's public API.

Two measurements, both on whole WMT22 ru-en documents (one MT system per document, as `bench`):

* **long articles**: one article of about 1,000, 5,000 and 10,000 MT sentences (whole documents joined
  as paragraphs), each checked in a fresh process so its peak memory is its own; prints seconds, seconds
  per 1,000 sentences (flat when time is linear in length) and peak resident memory.
* **batch engines**: the same articles (about `--sentences` MT sentences) through `run_batch` in this
  process and through `run_batch_ray` with 1 and 2 workers; prints sentences per second, wall time
  including the workers' start-up, and each worker's peak memory.
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from lab.bench import articles_from_jsonl
from mtcheck.batch import discover, run_batch
from mtcheck.pipeline import Checker, CheckOptions
from mtcheck.segment import segment


def long_article(articles: list[tuple[str, str, str]], sentences: int) -> tuple[str, str]:
    """MT and reference of one article of at least `sentences` MT sentences, documents as paragraphs."""
    mt_parts, ref_parts, count = [], [], 0
    while count < sentences:
        _, mt, ref = articles[len(mt_parts) % len(articles)]
        mt_parts.append(mt)
        ref_parts.append(ref)
        count += len(segment(mt))
    return "\n\n".join(mt_parts), "\n\n".join(ref_parts)


def _check_one_long(data: Path, sentences: int) -> dict:
    """Check one long article (in a child process of its own), return its figures."""
    mt, ref = long_article(articles_from_jsonl(data), sentences)
    checker = Checker(CheckOptions(check_pairing=False))
    checker.check("warm-up", "Start-up check.", "Start-up check.")
    checker.sentences = 0
    start = time.perf_counter()
    result = checker.check("long", mt, ref)
    seconds = time.perf_counter() - start
    return {
        "mt_sentences": checker.sentences,
        "units": len(result.units),
        "seconds": round(seconds, 1),
        "seconds_per_1000": round(1000 * seconds / checker.sentences, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _write_articles(articles: list[tuple[str, str, str]], sentences: int, folder: Path) -> int:
    count = 0
    for n, (doc, mt, ref) in enumerate(articles):
        if count >= sentences:
            break
        name = f"{n:04d}_{doc}".replace("/", "_")
        (folder / f"{name}.mt.txt").write_text(mt, encoding="utf-8")
        (folder / f"{name}.ref.txt").write_text(ref, encoding="utf-8")
        count += len(segment(mt))
    return count


def engines(data: Path, sentences: int, workers: list[int]) -> dict:
    from mtcheck.distributed import CheckerSpec, run_batch_ray

    options = CheckOptions(check_pairing=False)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        total = _write_articles(articles_from_jsonl(data), sentences, folder)
        jobs, _ = discover(folder)
        out["articles"], out["mt_sentences"] = len(jobs), total

        start = time.perf_counter()
        checker = Checker(options)
        results: list = []
        run_batch(
            jobs,
            lambda job: checker.check_files(job.doc, job.mt, job.ref),
            results.append,
            prefetch=lambda chunk: checker.prefetch_files([(j.mt, j.ref, None) for j in chunk]),
        )
        wall = time.perf_counter() - start
        out["single_process"] = {
            "wall_seconds": round(wall, 1),
            "sentences_per_second": round(total / wall, 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
        for count in workers:
            memory: list[int] = []
            results = []
            start = time.perf_counter()
            failures = run_batch_ray(
                jobs, CheckerSpec(options), results.append, workers=count, on_workers=memory.extend
            )
            wall = time.perf_counter() - start
            out[f"ray_{count}_workers"] = {
                "wall_seconds": round(wall, 1),
                "sentences_per_second": round(total / wall, 1),
                "failed": len(failures),
                "worker_peak_rss_mib": [round(m / 2**20) for m in memory],
            }
    return out


def main(data: Path, sizes: list[int], sentences: int, workers: list[int], json_out: Path | None) -> dict:
    figures: dict = {"long_articles": []}
    for size in sizes:
        # A fresh process per size, so each peak memory is that article's own.
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            row = pool.submit(_check_one_long, data, size).result()
        figures["long_articles"].append(row)
        print(
            f"long article: {row['mt_sentences']} MT sentences ({row['units']} units) in {row['seconds']} s, "
            f"{row['seconds_per_1000']} s per 1,000, peak {row['peak_rss_mib']} MiB",
            flush=True,
        )
    if workers:
        figures["engines"] = engines(data, sentences, workers)
        print(json.dumps(figures["engines"], indent=1))
    if json_out:
        Path(json_out).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return figures
