"""How well an untrained encoder's own states rank translations: the floor a trained model must beat.

    python -m lab probe ../shared/data [--encoder FOLDER] [--layers 3,4,5,6] [--json F]

On the MT rows of the fit half (WMT22 ru-en DA and MQM zh-en), each translation is matched against its
reference with the encoder's word-piece states as they come from the pretrained weights, no training:
greedy cosine matching at each listed layer (precision: each MT piece's best match in the reference,
averaged; recall the other way; F their harmonic mean; BERTScore's recipe without idf weights), and the
cosine of the mean-pooled last layer. Each is compared with sacrebleu chrF by tau_item (Kendall tau
within each source segment, averaged) and flat Kendall. On the dev rows the trainer keeps out (seed and
share from the model folder's config), the same figures are given beside the model's `quality`
(through `mtcheck.load_metric(...).predict`), the one subset where both were measured on unseen rows.
With `--source`, the MT's cosine with its source (USE-multilingual, `mtcheck.models.SourceEncoder`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from lab.data import MQM_FILE, RUEN_FILE, Row, data_file, read_rows
from lab.stats import flat_kendall, tau_item
from lab.train import Corpus, Settings

BATCH = 64


def token_matching(folder: Path, mt: list[str], ref: list[str], layers: list[int]) -> np.ndarray:
    """Per pair: precision, recall and F of greedy piece matching at each layer, then the pooled cosine.
    Shape (pairs, 3 * len(layers) + 1). [CLS] and [SEP] take no part in the matching."""
    import torch
    from torch.nn.functional import normalize

    from mtcheck.bert import load_encoder
    from mtcheck.models import native_bf16

    tokenizer, encoder = load_encoder(folder)
    encoder.eval()
    if native_bf16():
        encoder.to(torch.bfloat16)

    def encode(texts: list[str]):
        batch = tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
        batch = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask")}
        with torch.inference_mode():
            states = [s.float() for s in encoder(**batch, output_hidden_states=True).hidden_states]
        mask = batch["attention_mask"].bool()
        pieces = mask.clone()
        pieces[:, 0] = False  # [CLS]
        pieces[torch.arange(len(texts)), mask.sum(1) - 1] = False  # [SEP]
        weights = mask.unsqueeze(-1).float()
        pooled = normalize((states[-1] * weights).sum(1) / weights.sum(1), dim=-1)
        return states, pieces, pooled

    out = np.zeros((len(mt), 3 * len(layers) + 1), dtype=np.float64)
    order = sorted(range(len(mt)), key=lambda i: len(mt[i]) + len(ref[i]))
    start = time.perf_counter()
    for done in range(0, len(order), BATCH):
        idx = order[done : done + BATCH]
        m_states, m_pieces, m_pooled = encode([mt[i] or " " for i in idx])
        r_states, r_pieces, r_pooled = encode([ref[i] or " " for i in idx])
        for row, i in enumerate(idx):
            for k, layer in enumerate(layers):
                a = normalize(m_states[layer][row][m_pieces[row]], dim=-1)
                b = normalize(r_states[layer][row][r_pieces[row]], dim=-1)
                if len(a) and len(b):
                    sim = a @ b.T
                    p, r = sim.max(1).values.mean().item(), sim.max(0).values.mean().item()
                    out[i, 3 * k : 3 * k + 3] = (p, r, 2 * p * r / (p + r) if p + r > 0 else 0.0)
            out[i, -1] = float(m_pooled[row] @ r_pooled[row])
        print(
            f"\r  {min(done + BATCH, len(order))}/{len(order)} pairs, {time.perf_counter() - start:.0f} s",
            end="",
            flush=True,
        )
    print(flush=True)
    return out


def _figures(columns: dict[str, list[float]], rows: list[Row]) -> dict:
    human, items = [r.human for r in rows], [r.item for r in rows]
    return {
        name: {"tau_item": round(tau_item(v, human, items), 4), "kendall": round(flat_kendall(v, human), 4)}
        for name, v in columns.items()
    }


def probe(
    data_dir: Path,
    encoder: Path | None,
    layers: list[int],
    model: Path | None = None,
    source: bool = False,
) -> dict:
    from mtcheck import load_metric
    from mtcheck.lexical import sentence_chrf
    from mtcheck.metric import DEFAULT_MODEL
    from mtcheck.models import SourceEncoder, default_embedder_path

    folder = Path(encoder) if encoder else default_embedder_path()
    model_folder = Path(model) if model else DEFAULT_MODEL
    settings = json.loads((model_folder / "config.json").read_text()).get("training", {}).get("settings", {})
    # The trainer's own split, so the dev rows are exactly those the model never saw.
    corpus = Corpus(
        data_dir, Settings(seed=int(settings.get("seed", 13)), dev_share=settings.get("dev_share", 0.2))
    )
    metric = load_metric(model_folder)
    out: dict = {"encoder": str(folder.name), "layers": layers, "model": metric.name, "sets": {}}
    for name, file, dev_rows_of_file in (
        ("ruen", RUEN_FILE, corpus.dev_ruen),
        ("mqm", MQM_FILE, corpus.dev_mqm),
    ):
        rows = [r for r in read_rows(data_file(data_dir, file), "fit") if not r.is_human]
        print(f"{name}: {len(rows)} MT rows of the fit half", flush=True)
        matched = token_matching(folder, [r.mt for r in rows], [r.ref for r in rows], layers)
        columns = {"chrF": [sentence_chrf(r.mt, r.ref) for r in rows]}
        for k, layer in enumerate(layers):
            for j, kind in enumerate("PRF"):
                columns[f"{kind}{layer}"] = list(matched[:, 3 * k + j])
        columns["cosine"] = list(matched[:, -1])
        if source:
            enc = SourceEncoder()
            src, hyp = enc.encode([r.src for r in rows]), enc.encode([r.mt for r in rows])
            columns["source_cosine"] = list((src * hyp).sum(1))
        dev_keys = {(r.item, r.system) for r in dev_rows_of_file}
        dev = [k for k, r in enumerate(rows) if (r.item, r.system) in dev_keys]
        dev_rows = [rows[k] for k in dev]
        dev_columns = {n: [v[k] for k in dev] for n, v in columns.items()}
        prediction = metric.predict([r.mt for r in dev_rows], [r.ref for r in dev_rows])
        dev_columns["model_quality"] = [u.quality for u in prediction.units]
        out["sets"][name] = {
            "fit_rows": len(rows),
            "fit": _figures(columns, rows),
            "dev_rows": len(dev_rows),
            "dev": _figures(dev_columns, dev_rows),
        }
    return out


def _table(figures: dict) -> str:
    lines = []
    for name, part in figures["sets"].items():
        for subset in ("fit", "dev"):
            cells = "  ".join(f"{k} {v['tau_item']:.3f}" for k, v in part[subset].items())
            lines.append(f"{name} {subset} ({part[f'{subset}_rows']} rows) tau_item: {cells}")
    return "\n".join(lines)


def main(
    data_dir: Path,
    encoder: Path | None,
    layers: list[int],
    model: Path | None,
    source: bool,
    json_out: Path | None,
) -> None:
    figures = probe(data_dir, encoder, layers, model, source)
    print(_table(figures), flush=True)
    if json_out:
        json_out.write_text(json.dumps(figures, indent=1) + "\n")
