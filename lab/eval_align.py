"""Measure `mtcheck.align.align` on real documents with known alignment gold.

WMT22 documents give MT lines and reference lines that are 1-1 by construction; with
`--second-translation`, free human translations stand in for the MT (WMT21 ru-en `ref-B`, MQM `ref_alt`),
the harder case where wording differs most. Each document (one
system per document, chosen with the seed) is perturbed with a fixed-seed RNG: adjacent sentences are
merged on one side (gold 1-2 / 2-1), sentences are split at a semicolon, comma or conjunction on one
side (gold 2-1 / 1-2), and sentences are dropped on one side (gold 0-1 / 1-0). The aligner sees the
perturbed lists; a predicted unit counts only if its MT and reference indices equal a gold unit's.

Besides the per-document figures, all perturbed documents are also joined into long "articles" of
about 200 sentences each, to measure accuracy and speed where the band of the dynamic programme matters.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.data import read_documents
from mtcheck.align import EmbedFn, align
from mtcheck.types import InputError, Unit

# Probability of each perturbation at each original line (the rest stay 1-1).
PERTURBATIONS = {
    "merge_mt": 0.07,  # MT lines i, i+1 joined -> gold 1-2
    "merge_ref": 0.07,  # reference lines i, i+1 joined -> gold 2-1
    "split_mt": 0.07,  # MT line i cut in two -> gold 2-1
    "split_ref": 0.07,  # reference line i cut in two -> gold 1-2
    "drop_mt": 0.05,  # MT line i removed -> gold 0-1
    "drop_ref": 0.05,  # reference line i removed -> gold 1-0
}
LONG_ARTICLE_SENTENCES = 200
_MIN_SPLIT_WORDS = 4
# Where a sentence is cut: a semicolon, or a comma (optionally before a conjunction), or " and ".
_SPLIT_POINT = re.compile(
    r"; |, (?:and|but|while|which|who|as|because|although|though|so|when|where|after|before|since) "
    r"|, | and | but "
)


@dataclass
class PerturbedDoc:
    """Sentence lists as the aligner sees them, and the gold units."""

    doc: str
    system: str
    mt: list[str] = field(default_factory=list)
    ref: list[str] = field(default_factory=list)
    gold: list[Unit] = field(default_factory=list)

    def add(self, mt_texts: Sequence[str], ref_texts: Sequence[str]) -> None:
        mt_ids = tuple(range(len(self.mt), len(self.mt) + len(mt_texts)))
        ref_ids = tuple(range(len(self.ref), len(self.ref) + len(ref_texts)))
        self.mt.extend(mt_texts)
        self.ref.extend(ref_texts)
        self.gold.append(Unit(mt_ids, ref_ids))


def split_sentence(text: str) -> tuple[str, str] | None:
    """Cut a sentence in two at the split point nearest its middle, each piece >= 4 words; None if none."""
    best: tuple[int, re.Match[str]] | None = None
    for match in _SPLIT_POINT.finditer(text):
        left, right = text[: match.start()], text[match.end() :]
        if len(left.split()) < _MIN_SPLIT_WORDS or len(right.split()) < _MIN_SPLIT_WORDS:
            continue
        distance = abs(match.start() - len(text) // 2)
        if best is None or distance < best[0]:
            best = (distance, match)
    if best is None:
        return None
    match = best[1]
    left = text[: match.start()].rstrip(" ,;")
    if left[-1:] not in ".!?":
        left += "."
    # Keep the conjunction, as a sentence splitter or a translator would ("..., but X" -> "But X").
    joint = match.group(0).strip(" ,;")
    right = (joint + " " if joint else "") + text[match.end() :].lstrip()
    return left, right[:1].upper() + right[1:]


def perturb(doc: str, system: str, lines: Sequence[tuple[str, str]], rng: random.Random) -> PerturbedDoc:
    """Apply at most one perturbation per original line, left to right."""
    out = PerturbedDoc(doc, system)
    names, weights = list(PERTURBATIONS), list(PERTURBATIONS.values())
    i = 0
    while i < len(lines):
        mt, ref = lines[i]
        roll = rng.random()
        kind = "keep"
        for name, weight in zip(names, weights, strict=True):
            if roll < weight:
                kind = name
                break
            roll -= weight
        has_next = i + 1 < len(lines)
        if kind == "merge_mt" and has_next:
            out.add([f"{mt} {lines[i + 1][0]}"], [ref, lines[i + 1][1]])
            i += 2
            continue
        if kind == "merge_ref" and has_next:
            out.add([mt, lines[i + 1][0]], [f"{ref} {lines[i + 1][1]}"])
            i += 2
            continue
        pieces = split_sentence(mt if kind == "split_mt" else ref) if kind.startswith("split") else None
        if kind == "split_mt" and pieces:
            out.add(list(pieces), [ref])
        elif kind == "split_ref" and pieces:
            out.add([mt], list(pieces))
        elif kind == "drop_mt":
            out.add([], [ref])
        elif kind == "drop_ref":
            out.add([mt], [])
        else:
            out.add([mt], [ref])
        i += 1
    return out


def second_translation_documents(data_path: str | Path) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """doc -> {"second human translation": [(line of a second human translation, reference line)]}: free
    translations, not MT. From the WMT21 file, the ru-en `ref-B` rows; from the MQM file, `ref_alt`."""
    segments: dict[str, dict[int, tuple[str, str]]] = defaultdict(dict)
    with Path(data_path).open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            doc = f"{row.get('lp', row.get('set', ''))}/{row['doc']}"
            if row.get("ref_alt"):
                segments[doc][int(row["seg"])] = (row["ref_alt"], row["ref"])
            elif row.get("system") == "ref-B" and row.get("lp") == "ru-en":
                segments[doc][int(row["seg"])] = (row["mt"], row["ref"])
    return {
        doc: {"second human translation": [pair for _, pair in sorted(segs.items())]}
        for doc, segs in segments.items()
        if len(segs) >= 2
    }


def build_perturbed(
    data_path: str | Path, seed: int = 13, max_docs: int | None = None, second_translation: bool = False
) -> list[PerturbedDoc]:
    """One perturbed document per WMT document (system chosen by seed), in sorted document order.
    With `second_translation`, a second human translation stands in for the MT."""
    documents = second_translation_documents(data_path) if second_translation else read_documents(data_path)
    picked = sorted(documents)
    if max_docs is not None:
        picked = random.Random(seed).sample(picked, min(max_docs, len(picked)))
        picked.sort()
    out = []
    for doc in picked:
        rng = random.Random(f"{seed}:{doc}")
        system = rng.choice(sorted(documents[doc]))
        out.append(perturb(doc, system, documents[doc][system], rng))
    return out


def join_documents(docs: Sequence[PerturbedDoc], target: int = LONG_ARTICLE_SENTENCES) -> list[PerturbedDoc]:
    """Concatenate consecutive perturbed documents into articles of about `target` MT sentences."""
    articles: list[PerturbedDoc] = []
    current: PerturbedDoc | None = None
    for doc in docs:
        if current is None or len(current.mt) >= target:
            current = PerturbedDoc(f"long_{len(articles)}", "mixed")
            articles.append(current)
        for unit in doc.gold:
            current.add([doc.mt[k] for k in unit.mt_ids], [doc.ref[k] for k in unit.ref_ids])
    return [a for a in articles if len(a.mt) >= target // 2]


def link_scores(gold: Sequence[Unit], predicted: Sequence[Unit]) -> dict[str, dict[str, float]]:
    """Strict precision/recall/F1 of links, overall, for 1-1, for all other links, and per link type."""
    true_counts: Counter[str] = Counter()
    gold_counts: Counter[str] = Counter()
    pred_counts: Counter[str] = Counter()
    gold_set = set(gold)
    for unit in gold:
        gold_counts[unit.link] += 1
    for unit in predicted:
        pred_counts[unit.link] += 1
        if unit in gold_set:
            true_counts[unit.link] += 1
    return {"tp": dict(true_counts), "gold": dict(gold_counts), "pred": dict(pred_counts)}


def _prf(tp: int, n_gold: int, n_pred: int) -> dict[str, float]:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "gold": n_gold, "predicted": n_pred}


def summarise(counts: Sequence[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Pool per-document counts into P/R/F1 rows: all, 1-1, other, and each link type."""
    total: dict[str, Counter[str]] = {"tp": Counter(), "gold": Counter(), "pred": Counter()}
    for doc_counts in counts:
        for key in total:
            total[key].update(doc_counts[key])
    types = sorted(set(total["gold"]) | set(total["pred"]), key=lambda t: (t != "1-1", t))

    def pooled(selected: Callable[[str], bool]) -> dict[str, float]:
        return _prf(*(sum(v for t, v in total[key].items() if selected(t)) for key in ("tp", "gold", "pred")))

    rows = {"all": pooled(lambda t: True), "1-1": pooled(lambda t: t == "1-1")}
    rows["other"] = pooled(lambda t: t != "1-1")
    for link in types:
        if link != "1-1":
            rows[link] = pooled(lambda t, link=link: t == link)
    return rows


def _run_mode(docs: Sequence[PerturbedDoc], embed: EmbedFn | None) -> dict[str, object]:
    counts = []
    start = time.perf_counter()
    for doc in docs:
        counts.append(link_scores(doc.gold, align(doc.mt, doc.ref, embed=embed)))
    return {"seconds": time.perf_counter() - start, "scores": summarise(counts)}


def evaluate_alignment(
    data_path: str | Path,
    seed: int = 13,
    max_docs: int | None = None,
    use_embeddings: bool = True,
    second_translation: bool = False,
) -> dict:
    """Strict link P/R/F1 of chrF-only alignment and, if asked, chrF + MiniLM embeddings."""
    docs = build_perturbed(data_path, seed, max_docs, second_translation)
    if not docs:
        raise InputError(f"no documents in {data_path}")
    long_articles = join_documents(docs)
    modes: dict[str, EmbedFn | None] = {"chrf": None}
    model_load_seconds = None
    if use_embeddings:
        from mtcheck.models import Embedder

        embedder = Embedder()
        start = time.perf_counter()
        embedder.encode(["warm up"])  # load once, outside the timed runs
        model_load_seconds = time.perf_counter() - start
        modes["chrf+embed"] = embedder.encode
    results: dict[str, object] = {}
    for name, embed in modes.items():
        per_doc = _run_mode(docs, embed)
        long = _run_mode(long_articles, embed)
        per_doc["long_articles"] = {
            "articles": len(long_articles),
            "mt_sentences": [len(a.mt) for a in long_articles],
            "seconds_per_article": long["seconds"] / max(len(long_articles), 1),
            "scores": long["scores"],
        }
        results[name] = per_doc
    gold_links = Counter(u.link for d in docs for u in d.gold)
    return {
        "data": str(data_path),
        "pairs": "second human translation vs reference" if second_translation else "MT vs reference",
        "seed": seed,
        "docs": len(docs),
        "links": sum(gold_links.values()),
        "gold_links": dict(sorted(gold_links.items())),
        "mt_sentences": sum(len(d.mt) for d in docs),
        "ref_sentences": sum(len(d.ref) for d in docs),
        "model_load_seconds": model_load_seconds,
        "modes": results,
    }


def format_table(result: dict) -> str:
    """Plain-text table of an `evaluate_alignment` result."""
    lines = [
        f"data {result['data']} ({result['pairs']})  seed {result['seed']}  docs {result['docs']}  gold links {result['links']} "
        f"({', '.join(f'{k}: {v}' for k, v in result['gold_links'].items())})",
        f"{'mode':<11} {'scope link':<11} {'gold':>5} {'pred':>5} {'P':>6} {'R':>6} {'F1':>6}",
    ]
    for mode, res in result["modes"].items():
        for scope, scores in (("docs", res["scores"]), ("long", res["long_articles"]["scores"])):
            for link, row in scores.items():
                if scope == "long" and link not in ("all", "1-1", "other"):
                    continue
                lines.append(
                    f"{mode:<11} {scope + ' ' + link:<11} {row['gold']:>5} {row['predicted']:>5} "
                    f"{row['precision']:>6.3f} {row['recall']:>6.3f} {row['f1']:>6.3f}"
                )
        long = res["long_articles"]
        lines.append(
            f"{mode:<11} time: {res['seconds']:.1f} s for {result['docs']} docs; "
            f"{long['seconds_per_article']:.2f} s per long article of {long['mt_sentences']} MT sentences"
        )
    if result["model_load_seconds"] is not None:
        lines.append(f"embedding model load: {result['model_load_seconds']:.1f} s (not in the times above)")
    return "\n".join(lines)


def main(
    data_path: str | Path,
    seed: int = 13,
    max_docs: int | None = None,
    use_embeddings: bool = True,
    json_out: str | None = None,
    second_translation: bool = False,
) -> dict:
    """Run the evaluation, print the table, optionally write the full result as JSON."""
    result = evaluate_alignment(data_path, seed, max_docs, use_embeddings, second_translation)
    print(format_table(result))
    if json_out:
        Path(json_out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result
