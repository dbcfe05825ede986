"""`python -m lab bench`: throughput of the whole pipeline on this machine, measured, not assumed.

Articles come from a jsonl of whole documents (the format of wmt22_ruen_da_dev.jsonl: one row per
segment with doc, seg, system, mt, ref; a document's mt lines joined are an article) or, by default,
from the bundled corpora/ folder, repeated until the requested number of MT sentences is reached.
Reports sentences per second end to end, the share of time in each stage (timed through the
pipeline's stage hook), model start-up time, peak resident memory and this machine's bare matmul
rate in float32 and bfloat16 measured in the same run; then the same for fast mode (`--fast`, no sentence
embedder) on the same articles, against the quality model's bare forward alone.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

from lab.data import read_documents
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
    """Import what the product's models need (torch, tokenizers, safetensors) up front, so model load time
    is measured alone. Its BERT encoders run without transformers (`mtcheck.bert`)."""
    import safetensors.torch  # noqa: F401
    import tokenizers  # noqa: F401
    import torch  # noqa: F401


def cpu_model() -> str:
    """`lscpu`'s model name with the flags that decide the speed (AVX-512, bf16, AMX, VNNI, AVX2)."""
    import platform
    import re

    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    name = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
    flags = re.search(r"^flags\s*:\s*(.+)$", info, re.M)
    wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16")
    have = [f for f in wanted if flags and f in flags.group(1).split()]
    return f"{name.group(1).strip() if name else 'unknown'} ({', '.join(have) or 'none of ' + ', '.join(wanted)})"


def matmul_gflops(dtype: str = "float32", seconds: float = 1.0) -> float:
    """Bare 1024x1024 matrix-multiply rate of this machine in GFLOP/s, at `dtype`."""
    import torch

    a = torch.randn(1024, 1024, dtype=getattr(torch, dtype))
    b = torch.randn(1024, 1024, dtype=getattr(torch, dtype))
    a @ b  # warm-up
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        runs += 1
    return runs * 2 * 1024**3 / (time.perf_counter() - start) / 1e9


def precision_agreement(model_path: str | None, mt: list[str], ref: list[str]) -> dict:
    """The quality model in bf16 against float32 on the same units: score correlation and span agreement."""
    import numpy as np

    from lab.stats import pearson, span_f1
    from mtcheck import load_metric

    runs = {p: load_metric(model_path, precision=p).predict(mt, ref).units for p in ("fp32", "bf16")}
    out: dict = {"units": len(mt)}
    for head in ("quality", "adequacy", "fluency"):
        a = np.array([getattr(u, head) for u in runs["fp32"]], dtype=float)
        b = np.array([getattr(u, head) for u in runs["bf16"]], dtype=float)
        out[head] = {
            "pearson": round(pearson(a, b), 4),
            "mean_abs_diff": round(float(np.nanmean(abs(a - b))), 3),
        }
    spans = {p: [[(s.start, s.end) for s in u.spans] for u in units] for p, units in runs.items()}
    out["spans_f1_bf16_vs_fp32"] = span_f1(spans["bf16"], spans["fp32"], [len(m) for m in mt])["f1"]
    out["same_severities"] = round(
        float(
            np.mean(
                [
                    [s.severity for s in a.spans] == [s.severity for s in b.spans]
                    for a, b in zip(runs["fp32"], runs["bf16"], strict=True)
                ]
            )
        ),
        4,
    )
    return out


def bare_forward_seconds(
    precision: str, sentences: list[str], pairs: list[tuple[str, str | None]], encoder=None
) -> dict:
    """Seconds the pipeline's two networks need for the same inputs when nothing else runs: the MiniLM
    encoder over every sentence (the embedder's batches of up to 64) and over every unit's
    `[CLS] MT [SEP] reference [SEP]` pair (the quality model's batches of up to 32), batched as the
    pipeline batches them (`mtcheck.models.length_batches`, so both pad alike), tokenized
    beforehand, with weights at `precision` as the pipeline holds them, on the encoder implementation the
    pipeline runs (`mtcheck.bert.load_encoder`), or on `encoder` if one is given (to compare
    implementations). The quality model's encoder has the base encoder's shape (6 x 384), so the base
    weights give its cost; its heads are a few small matrices.
    """
    import torch
    from transformers import AutoTokenizer  # pair encoding for the prepared inputs only (not timed)

    from mtcheck.bert import load_encoder
    from mtcheck.models import PAD_MULTIPLE, default_embedder_path, length_batches

    path = default_embedder_path()
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = (encoder or load_encoder(path)[1]).eval()
    model.to(torch.bfloat16 if precision == "bf16" else torch.float32)

    def pieces(item) -> int:
        first, second = item if isinstance(item, tuple) else (item, None)
        return len(tokenizer(first, second, truncation=True, max_length=512)["input_ids"])

    pad = {"pad_to_multiple_of": PAD_MULTIPLE}

    def batches(inputs: list, size: int, max_length: int) -> list[dict]:
        # The product's batching (`mtcheck.models.length_batches`, lengths padded to `PAD_MULTIPLE`), so
        # both pad alike.
        out = []
        for idx in length_batches([min(pieces(x), max_length) for x in inputs], size):
            chunk = [inputs[i] for i in idx]
            if isinstance(chunk[0], tuple):
                first = [m for m, _ in chunk]
                second = [r or None for _, r in chunk]
                second = second if all(r is not None for r in second) else None
                enc = tokenizer(first, second, padding=True, truncation=True, max_length=max_length, **pad)
            else:
                enc = tokenizer(chunk, padding=True, truncation=True, max_length=max_length, **pad)
            out.append({k: torch.tensor(v) for k, v in enc.items()})
        return out

    def timed(prepared: list[dict]) -> float:
        start = time.perf_counter()
        with torch.inference_mode():
            for batch in prepared:
                model(**batch)
        return time.perf_counter() - start

    embed_batches = batches(sentences, 64, 256)
    pair_batches = batches(pairs, 32, 512)
    timed(pair_batches[:2])  # warm-up
    return {
        "embedder": round(timed(embed_batches), 2),
        "quality_model": round(timed(pair_batches), 2),
        "sentences": len(sentences),
        "unit_pairs": len(pairs),
        "pieces": int(sum(int(b["attention_mask"].sum()) for b in pair_batches)),
    }


def articles_from_jsonl(path: Path) -> list[tuple[str, str, str]]:
    """Whole documents as articles, one system each: the same story twice would flatter the caches."""
    articles = []
    for doc, systems in sorted(read_documents(path).items()):
        system = sorted(systems)[0]
        lines = systems[system]
        articles.append((f"{doc}.{system}", " ".join(m for m, _ in lines), " ".join(r for _, r in lines)))
    return articles


def _articles_from_corpora(folder: Path) -> list[tuple[str, str, str]]:
    jobs, _ = discover(folder)
    return [(job.doc, read_text(job.mt), read_text(job.ref)) for job in jobs]


def _run_plan(
    checker: Checker, plan: list[_Article], out_dir: Path, stages: dict[str, float]
) -> tuple[float, list]:
    """Check the planned articles with the driver of `mtcheck batch` (windows of articles prefetched
    together, then checked one by one), writing every report; seconds taken and the results. Seconds per
    stage (the pipeline's stage hook, and "report") are added to `stages`; `checker.sentences` counts
    the MT sentences of this run alone."""
    checked: list = []

    def add(stage: str, seconds: float) -> None:
        stages[stage] += seconds

    checker.stage_hooks.append(add)
    checker.sentences = 0

    def write(result) -> None:
        checked.append(result)
        with_time = time.perf_counter()
        write_article(result, out_dir)
        add("report", time.perf_counter() - with_time)

    start = time.perf_counter()
    failures = run_batch(
        plan,
        lambda article: checker.check(article.doc, article.mt, article.ref),
        write,
        prefetch=lambda window: checker.prefetch([(a.mt, a.ref, None) for a in window]),
    )
    if failures:
        raise MtcheckError(f"benchmark article {failures[0][0]} failed: {failures[0][1]}")
    return time.perf_counter() - start, checked


def main(
    data: Path | None,
    sentences: int,
    json_out: Path | None,
    precision: str = "auto",
    model_path: str | None = None,
    align_embeddings: bool = False,
) -> dict:
    from mtcheck.models import native_bf16, resolve_precision

    articles = articles_from_jsonl(data) if data else _articles_from_corpora(Path("corpora"))
    # Start-up in three parts: library imports (torch, tokenizers, safetensors: paid by any process using
    # them), model load (weights and tokenizers), first checked sentence.
    start = time.perf_counter()
    _import_model_libraries()
    imports = time.perf_counter() - start
    precision = resolve_precision(precision)  # after the clock: it imports torch to ask about the CPU
    start = time.perf_counter()
    checker = Checker(
        CheckOptions(precision=precision, align_embeddings=align_embeddings, check_pairing=False),
        model_path=model_path,
    )
    checker.metric.load()
    checker.embedder.encode(["Start-up check."])
    startup = time.perf_counter() - start
    start = time.perf_counter()
    checker.check("start-up", "Start-up check.", "Start-up check.")
    first_unit = time.perf_counter() - start

    out_dir = Path(json_out).parent / "bench_reports" if json_out else Path("reports") / "bench"
    # The articles to run, fixed before the clock starts (cycling through the data as needed), so the
    # prefetch windows embed exactly the articles that are then checked.
    plan: list[_Article] = []
    planned = 0
    while planned < sentences:
        doc, mt, ref = articles[len(plan) % len(articles)]
        plan.append(_Article(f"{doc}.{len(plan)}", mt, ref))
        planned += len(segment(mt))

    stages: dict[str, float] = defaultdict(float)
    elapsed, checked = _run_plan(checker, plan, out_dir, stages)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Fast mode (no sentence embedder) on the same articles, in its own checker; its networks' bare time
    # is the quality model's alone.
    fast = Checker(CheckOptions(precision=precision, check_pairing=False, fast=True), model_path=model_path)
    fast.check("start-up", "Start-up check.", "Start-up check.")  # loads the model, outside the clock
    fast_stages: dict[str, float] = defaultdict(float)
    fast_elapsed, _ = _run_plan(fast, plan, out_dir.with_name(out_dir.name + "_fast"), fast_stages)
    # bf16 against float32 on a fixed set: the first 300 sentences of the planned articles, each with the
    # reference sentence of the same line (the data's rows; corpora/ articles pair by sentence order).
    pairs = [
        (m.text, r.text) for a in plan[:40] for m, r in zip(segment(a.mt), segment(a.ref), strict=False)
    ][:300]
    if precision == "fp32" and not native_bf16():
        # bf16 does not run here unless asked for by name, and emulated it costs minutes for these pairs.
        agreement = {"units": 0, "skipped": "this CPU has no native bf16; the run is fp32"}
    else:
        agreement = precision_agreement(model_path, [m for m, _ in pairs], [r for _, r in pairs])
    # The networks alone on the same inputs, same precision: what the rest of the pipeline costs on top.
    units = [u for result in checked for u in result.units]
    bare = bare_forward_seconds(
        precision,
        [u.mt for u in units if u.mt] + [u.ref for u in units if u.ref],
        [(u.mt, u.ref or None) for u in units if u.mt],
    )
    bare["pipeline_over_bare"] = round(elapsed / (bare["embedder"] + bare["quality_model"]), 2)
    bare["fast_over_bare"] = round(fast_elapsed / bare["quality_model"], 2)
    figures = {
        "precision": precision,
        "native_bf16": native_bf16(),
        "cpu": cpu_model(),
        "bf16_vs_fp32": agreement,
        "articles": len(plan),
        "mt_sentences": checker.sentences,
        "seconds": round(elapsed, 2),
        "sentences_per_second": round(checker.sentences / elapsed, 1),
        "import_seconds": round(imports, 2),
        "model_load_seconds": round(startup, 2),
        "first_unit_seconds": round(first_unit, 2),
        "peak_rss_mib": round(peak_mib, 1),
        "stage_share": {k: round(v / elapsed, 3) for k, v in sorted(stages.items())},
        "fast": {
            "seconds": round(fast_elapsed, 2),
            "sentences_per_second": round(fast.sentences / fast_elapsed, 1),
            "stage_share": {k: round(v / fast_elapsed, 3) for k, v in sorted(fast_stages.items())},
        },
        "bare_forward_seconds": bare,
        "matmul_gflops": {dt: round(matmul_gflops(dt), 1) for dt in ("float32", "bfloat16")},
        "signature": checker.signature,
    }
    print(f"mtcheck benchmark ({precision}): {checker.sentences} MT sentences in {len(plan)} articles")
    print(f"  CPU: {figures['cpu']}; native bf16 (AVX-512 BF16 or AMX): {figures['native_bf16']}")
    print(f"  {figures['sentences_per_second']} sentences/s end to end ({elapsed:.1f} s)")
    print(
        f"  start-up: imports {imports:.2f} s, model load {startup:.2f} s, first unit {first_unit:.2f} s; "
        f"peak memory {peak_mib:.0f} MiB"
    )
    for stage, share in figures["stage_share"].items():
        print(f"  {stage:<8} {share:6.1%}")
    print(
        f"  the networks alone on the same inputs: embedder {bare['embedder']} s, quality model "
        f"{bare['quality_model']} s ({bare['pieces']} pieces); pipeline / bare = {bare['pipeline_over_bare']}"
    )
    f = figures["fast"]
    shares = ", ".join(f"{stage} {share:.1%}" for stage, share in f["stage_share"].items())
    print(
        f"  fast mode (no sentence embedder): {f['sentences_per_second']} sentences/s ({fast_elapsed:.1f} s); "
        f"pipeline / quality model alone = {bare['fast_over_bare']}; {shares}"
    )
    print(f"  bare 1024x1024 matmul: {figures['matmul_gflops']} GFLOP/s")
    print(f"  bf16 vs fp32 on {agreement['units']} sentences: {agreement}")
    print(f"  signature: {checker.signature}")
    if json_out:
        Path(json_out).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    sys.stdout.flush()
    return figures
