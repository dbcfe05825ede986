"""BERT-family encoders on torch's own transformer layers, read from a transformers folder directly.

Importing transformers and its BERT code costs 3-4 s of the 10 an editor waits for one article on two
cores, while a BERT encoder is exactly torch's post-norm ``nn.TransformerEncoderLayer`` (attention, add,
LayerNorm, GELU feed-forward, add, LayerNorm) under an embedding sum. So a folder whose config says
``model_type: bert`` (absolute positions, GELU) and that holds ``tokenizer.json`` and ``model.safetensors``
is loaded here with `tokenizers` and `safetensors`; any other transformers folder goes through
transformers (`load_encoder`). `tests/test_models.py` checks both give the same hidden states. The native
module is for inference (it applies no dropout to attention weights); the lab trains through transformers.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from types import SimpleNamespace


def native_config(folder: Path) -> dict | None:
    """The folder's config when this module can run it, else None (transformers must): a BERT with
    absolute positions and GELU, a `tokenizer.json` with [CLS] and [SEP], and no lower-casing setting in
    `tokenizer_config.json` that transformers would apply over the one in `tokenizer.json`."""
    try:
        config = json.loads((folder / "config.json").read_text())
        tokenizer = json.loads((folder / "tokenizer.json").read_text())
        extra = folder / "tokenizer_config.json"
        tokenizer_config = json.loads(extra.read_text()) if extra.is_file() else {}
    except (OSError, ValueError):
        return None
    vocab = (tokenizer.get("model") or {}).get("vocab") or {}
    normalizer = tokenizer.get("normalizer") or {}
    lowercase = normalizer.get("lowercase") if normalizer.get("type") == "BertNormalizer" else None
    fits = (
        config.get("model_type") == "bert"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and config.get("hidden_act") == "gelu"
        and "[CLS]" in vocab
        and "[SEP]" in vocab
        and tokenizer_config.get("do_lower_case", lowercase) == lowercase
    )
    return config if fits else None


class WordPieces:
    """The folder's fast tokenizer (`tokenizers`), answering the two calls mtcheck makes of a transformers
    one: a text without special tokens with its offsets, and a padded, cut batch of texts as tensors."""

    def __init__(self, folder: Path):
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tok.no_truncation()
        self._tok.no_padding()
        self.cls_token_id = self._tok.token_to_id("[CLS]")
        self.sep_token_id = self._tok.token_to_id("[SEP]")
        self.pad_token_id = self._tok.token_to_id("[PAD]") or 0

    def __call__(
        self,
        text: str | list[str],
        *,
        add_special_tokens: bool = True,
        return_offsets_mapping: bool = False,
        padding: bool = False,
        truncation: bool = False,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        return_tensors: str | None = None,
    ) -> dict:
        if isinstance(text, str):
            if padding or truncation or return_tensors:
                raise TypeError("WordPieces: one text is encoded whole, as lists")
            enc = self._tok.encode(text, add_special_tokens=add_special_tokens)
            return {"input_ids": enc.ids, "offset_mapping": enc.offsets}
        if not (padding and return_tensors == "pt") or return_offsets_mapping:
            raise TypeError("WordPieces: a batch is encoded padded, as torch tensors, without offsets")
        return self._batch(text, add_special_tokens, max_length if truncation else None, pad_to_multiple_of)

    def _batch(
        self, texts: list[str], add_special_tokens: bool, max_length: int | None, multiple: int | None
    ) -> dict:
        """Padded tensors of a batch, each text cut to `max_length` pieces (the embedder's sentences), the
        batch padded to a multiple of `multiple` pieces if given."""
        import torch

        rows = []
        for enc in self._tok.encode_batch(texts, add_special_tokens=add_special_tokens):
            ids = enc.ids
            if max_length is not None and len(ids) > max_length:
                # Keep the closing [SEP], as transformers' truncation does.
                ids = ids[: max_length - 1] + ids[-1:] if add_special_tokens else ids[:max_length]
            rows.append(ids)
        n = max((len(r) for r in rows), default=0)
        if multiple:
            from mtcheck.models import padded_length

            n = padded_length(n, multiple)
        input_ids = torch.full((len(rows), n), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), n), dtype=torch.long)
        for i, ids in enumerate(rows):
            input_ids[i, : len(ids)] = torch.tensor(ids)
            mask[i, : len(ids)] = 1
        return {"input_ids": input_ids, "attention_mask": mask}


def build_bert(config: dict):
    """An untrained BERT encoder shaped by a transformers config (imports torch only when called)."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class Embeddings(nn.Module):
        # Names as in transformers, so a folder's state dict loads with few renames.
        def __init__(self):
            super().__init__()
            d = config["hidden_size"]
            self.word_embeddings = nn.Embedding(
                config["vocab_size"], d, padding_idx=config.get("pad_token_id")
            )
            self.position_embeddings = nn.Embedding(config["max_position_embeddings"], d)
            self.token_type_embeddings = nn.Embedding(config.get("type_vocab_size", 2), d)
            self.LayerNorm = nn.LayerNorm(d, eps=config.get("layer_norm_eps", 1e-12))
            self.dropout = nn.Dropout(config.get("hidden_dropout_prob", 0.1))

        def forward(self, input_ids, token_type_ids):
            positions = torch.arange(input_ids.shape[1], device=input_ids.device)
            x = self.word_embeddings(input_ids) + self.position_embeddings(positions)[None]
            return self.dropout(self.LayerNorm(x + self.token_type_embeddings(token_type_ids)))

    class PostNormLayer(nn.TransformerEncoderLayer):
        """BERT's layer on torch's module and its parameters. The forward is spelled out with
        scaled_dot_product_attention: torch's fused fast path for this layer, and nn.MultiheadAttention's
        own forward (which transposes to sequence-first and back), measured 20-60% slower in bf16."""

        def forward(self, x, src_key_padding_mask=None):
            attention = self.self_attn
            n, length, d = x.shape
            heads = attention.num_heads
            qkv = F.linear(x, attention.in_proj_weight, attention.in_proj_bias)
            q, k, v = qkv.view(n, length, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
            keep = None if src_key_padding_mask is None else ~src_key_padding_mask[:, None, None, :]
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
            attended = attention.out_proj(context.transpose(1, 2).reshape(n, length, d))
            x = self.norm1(x + self.dropout1(attended))
            return self.norm2(x + self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x))))))

    class BertEncoder(nn.Module):
        native_bert = True  # weights saved by transformers need `from_transformers_names`

        def __init__(self):
            super().__init__()
            self.config = SimpleNamespace(**config)
            self.embeddings = Embeddings()
            layer = PostNormLayer(
                config["hidden_size"],
                config["num_attention_heads"],
                config["intermediate_size"],
                dropout=config.get("hidden_dropout_prob", 0.1),
                activation="gelu",
                layer_norm_eps=config.get("layer_norm_eps", 1e-12),
                batch_first=True,
            )
            # A plain stack: torch's nn.TransformerEncoder checks for fx tracing on every call, which
            # imports sympy (0.7 s of start-up).
            self.encoder = nn.Module()
            self.encoder.layers = nn.ModuleList(
                copy.deepcopy(layer) for _ in range(config["num_hidden_layers"])
            )

        def forward(self, input_ids, attention_mask=None, token_type_ids=None, output_hidden_states=False):
            if token_type_ids is None:
                token_type_ids = torch.zeros_like(input_ids)
            x = self.embeddings(input_ids, token_type_ids)
            padding = None if attention_mask is None else attention_mask == 0
            states = [x] if output_hidden_states else None  # embeddings first, as transformers gives them
            for layer in self.encoder.layers:
                x = layer(x, src_key_padding_mask=padding)
                if states is not None:
                    states.append(x)
            return SimpleNamespace(last_hidden_state=x, hidden_states=tuple(states) if states else None)

    return BertEncoder()


def from_transformers_names(state: dict) -> dict:
    """A transformers BertModel state dict renamed (and q/k/v joined) for `build_bert`'s module."""
    import torch

    out = {}
    joined: dict[tuple[str, str], dict[str, object]] = {}
    renames = {
        "attention.output.dense.": "self_attn.out_proj.",
        "attention.output.LayerNorm.": "norm1.",
        "intermediate.dense.": "linear1.",
        "output.dense.": "linear2.",
        "output.LayerNorm.": "norm2.",
    }
    for key, value in state.items():
        key = key.removeprefix("bert.")
        if not key.startswith(("embeddings.", "encoder.")) or key.endswith("position_ids"):
            continue  # pooler and pre-training heads are unused; position ids are computed
        # Checkpoints of the first BERT releases name LayerNorm parameters gamma and beta.
        key = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", key)
        key = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", key)
        if not key.startswith("encoder.layer."):
            out[key] = value
            continue
        _, _, n, rest = key.split(".", 3)
        prefix = f"encoder.layers.{n}."
        if rest.startswith("attention.self."):
            proj, _, kind = rest.removeprefix("attention.self.").partition(".")
            if proj not in ("query", "key", "value") or kind not in ("weight", "bias"):
                raise ValueError(f"unknown BERT weight {key}")
            joined.setdefault((prefix, kind), {})[proj] = value
            continue
        for old, new in renames.items():
            if rest.startswith(old):
                out[prefix + new + rest.removeprefix(old)] = value
                break
        else:
            raise ValueError(f"unknown BERT weight {key}")
    for (prefix, kind), parts in joined.items():
        out[f"{prefix}self_attn.in_proj_{kind}"] = torch.cat([parts["query"], parts["key"], parts["value"]])
    return out


def load_encoder(folder: Path, random_init: bool = False):
    """(tokenizer, encoder) of a local transformers folder: natively for BERT, else via transformers.

    The encoder is called as ``encoder(input_ids=, attention_mask=, token_type_ids=)`` and answers with
    ``.last_hidden_state`` (and, given ``output_hidden_states=True``, every layer's ``.hidden_states``), as a
    transformers model does.
    """
    config = native_config(folder)
    weights = folder / "model.safetensors"
    if config is not None and (random_init or weights.is_file()):
        from safetensors.torch import load_file

        encoder = build_bert(config)
        if random_init:
            # Every weight comes from the caller's model folder (the test model stores all of them,
            # the word-piece table included: torch's default initialisation is not transformers').
            return WordPieces(folder), encoder
        try:
            missing, unexpected = encoder.load_state_dict(
                from_transformers_names(load_file(str(weights))), strict=False
            )
            if not missing and not unexpected:
                return WordPieces(folder), encoder
        except (ValueError, RuntimeError):  # an unknown weight name, a tensor of another shape
            pass
        # Weights this module does not know how to place: transformers decides what to make of them.
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    tokenizer.model_max_length = 1 << 30  # long inputs are windowed by the caller, never cut here
    if random_init:
        return tokenizer, AutoModel.from_config(AutoConfig.from_pretrained(str(folder)))
    return tokenizer, AutoModel.from_pretrained(str(folder))
