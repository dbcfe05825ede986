"""`mtcheck benchmark`: throughput of the whole pipeline on this machine, measured, not assumed.

Articles come from a jsonl of whole documents (the format of wmt22_ruen_da_dev.jsonl: one row per
segment with doc, seg, system, mt, ref; a document's mt lines joined are an article) or, by default,
from the bundled corpora/ folder, repeated until the requested number of MT sentences is reached.
Reports sentences per second end to end, the share of time in each stage, model start-up time
and peak resident memory.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

from mtcheck.batch import discover, run_batch
from mtcheck.io import read_text
from mtcheck.pipeline import Checker, CheckOptions
from mtcheck.report import write_article
from mtcheck.segment import segment
from mtcheck.types import MtcheckError


class _Article(NamedTuple):
    doc: str
    mt: str
    ref: str


def _rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 1) if seconds > 0 else None


def _import_model_libraries() -> None:
    """Import torch and the transformers model code up front, so model load time is measured alone."""
    import torch  # noqa: F401
    from transformers.models.bert import modeling_bert  # noqa: F401
    from transformers.models.llama import modeling_llama  # noqa: F401


def matmul_gflops(seconds: float = 1.0) -> float:
    """This machine's fp32 matrix-multiply rate (GFLOP/s) through torch with its default threads.

    The best of the shapes the two models multiply (MiniLM 384 wide, SmolLM2 576 wide, 4x MLP),
    so the ceiling derived from it is generous: no model layer runs faster than a bare matmul.
    """
    import torch

    best = 0.0
    for width, inner in ((384, 1536), (576, 1536)):
        a, b = torch.randn(1024, width), torch.randn(width, inner)
        for _ in range(3):  # warm-up: thread pool, caches
            a @ b
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 2:
            a @ b
            count += 1
        best = max(best, 2.0 * 1024 * width * inner * count / (time.perf_counter() - start) / 1e9)
    return best


def compute_ceiling(model_flops: float, sentences: int, gflops: float) -> float | None:
    """MT sentences per second if the models' arithmetic ran at `gflops` and nothing else took time."""
    if model_flops <= 0 or sentences <= 0 or gflops <= 0:
        return None
    return sentences / (model_flops / (gflops * 1e9))


def _articles_from_jsonl(path: Path) -> list[tuple[str, str, str]]:
    docs: dict[tuple[str, str], list[tuple[int, str, str]]] = defaultdict(list)
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            docs[(row["doc"], row["system"])].append((row["seg"], row["mt"], row["ref"]))
    articles, seen = [], set()
    for (doc, system), segs in sorted(docs.items()):
        if doc in seen:  # one system per document: the same story twice would flatter the caches
            continue
        seen.add(doc)
        segs.sort()
        articles.append((f"{doc}.{system}", " ".join(s[1] for s in segs), " ".join(s[2] for s in segs)))
    return articles


def _articles_from_corpora(folder: Path) -> list[tuple[str, str, str]]:
    jobs, _ = discover(folder)
    return [(job.doc, read_text(job.mt), read_text(job.ref)) for job in jobs]


def main(
    data: Path | None,
    sentences: int,
    json_out: Path | None,
    use_lm: bool = True,
    embedder_path: str | None = None,
    lm_path: str | None = None,
    align_embeddings: bool = False,
) -> dict:
    articles = _articles_from_jsonl(data) if data else _articles_from_corpora(Path("corpora"))
    checker = Checker(
        CheckOptions(use_lm=use_lm, align_embeddings=align_embeddings),
        embedder_path=embedder_path,
        lm_path=lm_path,
    )

    # Start-up in three parts: library imports (torch, transformers: paid by any process using them),
    # model load (weights and tokenizers, from the cache after the first run), first scored unit.
    start = time.perf_counter()
    _import_model_libraries()
    imports = time.perf_counter() - start
    start = time.perf_counter()
    checker.embedder._load()
    if checker.scorer.lm is not None:
        checker.scorer.lm._load()
    startup = time.perf_counter() - start
    start = time.perf_counter()
    checker.scorer.score_units(["Start-up check."], ["Start-up check."])
    first_unit = time.perf_counter() - start
    checker.timings.clear()

    out_dir = Path(json_out).parent / "bench_reports" if json_out else Path("/tmp/mtcheck_bench_reports")
    # The articles to run, fixed before the clock starts (cycling through the data as needed), so the
    # prefetch windows embed exactly the articles that are then checked.
    plan: list[_Article] = []
    planned = 0
    while planned < sentences:
        doc, mt, ref = articles[len(plan) % len(articles)]
        plan.append(_Article(f"{doc}.{len(plan)}", mt, ref))
        planned += len(segment(mt))
    report_time = 0.0

    def write(result) -> None:
        nonlocal report_time
        t0 = time.perf_counter()
        write_article(result, out_dir)
        report_time += time.perf_counter() - t0

    # The same driver as `mtcheck batch`: windows of articles embedded together, then checked one by one.
    start = time.perf_counter()
    failures = run_batch(
        plan,
        lambda article: checker.check(article.doc, article.mt, article.ref),
        write,
        prefetch=lambda window: checker.prefetch([(a.mt, a.ref, None) for a in window]),
    )
    if failures:
        raise MtcheckError(f"benchmark article {failures[0][0]} failed: {failures[0][1]}")
    elapsed = time.perf_counter() - start
    stages = dict(checker.timings) | {"report": report_time}
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # What each model managed alone: texts through it per second of its own stage time.
    lm = checker.scorer.lm
    model_rate = {"minilm_texts_per_second": _rate(checker.embedder.texts_run, checker.embedder.seconds_run)}
    if lm is not None:
        model_rate["lm_texts_per_second"] = _rate(getattr(lm, "texts_run", 0), stages.get("lm", 0.0))
    # The floor set by arithmetic alone: what the models computed (tokens x FLOPs per token) at the
    # machine's bare matmul rate. No code change below the models can beat it.
    model_gflop = {"minilm": checker.embedder.tokens_run * checker.embedder.flops_per_token() / 1e9}
    if lm is not None:
        model_gflop["lm"] = lm.tokens_run * lm.flops_per_token() / 1e9
    peak = matmul_gflops()
    total_gflop = sum(model_gflop.values())
    ceiling = compute_ceiling(total_gflop * 1e9, checker.sentences, peak)
    model_seconds = checker.embedder.seconds_run + stages.get("lm", 0.0)
    figures = {
        "mode": "full" if use_lm else "no-lm",
        "articles": len(plan),
        "mt_sentences": checker.sentences,
        "seconds": round(elapsed, 2),
        "sentences_per_second": round(checker.sentences / elapsed, 1),
        "import_seconds": round(imports, 2),
        "model_load_seconds": round(startup, 2),
        "first_unit_seconds": round(first_unit, 2),
        "peak_rss_mib": round(peak_mib, 1),
        "stage_share": {k: round(v / elapsed, 3) for k, v in sorted(stages.items())},
        "model_throughput": model_rate,
        "compute": {
            "matmul_gflops": round(peak, 1),
            "model_gflop": {k: round(v, 1) for k, v in model_gflop.items()},
            "gflop_per_sentence": round(total_gflop / max(1, checker.sentences), 3),
            "ceiling_sentences_per_second": round(ceiling, 1) if ceiling else None,
            "model_gflops_achieved": round(total_gflop / model_seconds, 1) if model_seconds > 0 else None,
        },
        "signature": checker.signature,
    }
    print(f"mtcheck benchmark ({figures['mode']}): {checker.sentences} MT sentences in {len(plan)} articles")
    print(f"  {figures['sentences_per_second']} sentences/s end to end ({elapsed:.1f} s)")
    print(
        f"  start-up: imports {imports:.2f} s, model load {startup:.2f} s, first unit {first_unit:.2f} s; "
        f"peak memory {peak_mib:.0f} MiB"
    )
    for stage, share in figures["stage_share"].items():
        print(f"  {stage:<8} {share:6.1%}")
    print(
        "  model throughput: "
        + ", ".join(
            f"{name.replace('_texts_per_second', '')} {rate} texts/s" for name, rate in model_rate.items()
        )
    )
    compute = figures["compute"]
    print(
        f"  compute: models did {compute['gflop_per_sentence']} GFLOP per MT sentence "
        f"({', '.join(f'{k} {v}' for k, v in compute['model_gflop'].items())} GFLOP in all) at "
        f"{compute['model_gflops_achieved']} GFLOP/s; this machine's bare fp32 matmul runs "
        f"{compute['matmul_gflops']} GFLOP/s, so these models cannot pass "
        f"{compute['ceiling_sentences_per_second']} sentences/s here"
    )
    print(f"  signature: {checker.signature}")
    if json_out:
        Path(json_out).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    sys.stdout.flush()
    return figures
