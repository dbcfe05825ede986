"""Embedder and SourceEncoder on the real packaged models (installed on CI); the text memo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtcheck import models
from mtcheck.metric import load_metric
from mtcheck.models import Embedder, resolve_precision
from mtcheck.types import ModelMissingError


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_takes_bf16_only_where_the_cpu_has_it(monkeypatch, tiny_model: Path, native) -> None:
    monkeypatch.setattr(models, "native_bf16", lambda: native)
    want = "bf16" if native else "fp32"
    assert resolve_precision("auto") == want
    assert Embedder(precision="auto").name.endswith(f"/{want}")
    assert load_metric(tiny_model).signature.endswith(f"prec:{want}")  # auto is the default
    # Asked for by name, either precision runs as asked.
    assert resolve_precision("bf16") == "bf16" and resolve_precision("fp32") == "fp32"
    with pytest.raises(ValueError, match="auto, bf16, fp32"):
        resolve_precision("int8")


def test_cli_warns_when_bf16_is_asked_for_on_a_cpu_without_it(monkeypatch, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from mtcheck.cli import cli

    monkeypatch.setattr(models, "native_bf16", lambda: False)
    (tmp_path / "a.txt").write_text("", encoding="utf-8")  # fails after the warning: no model runs
    result = CliRunner().invoke(cli, ["score", str(tmp_path / "a.txt"), "--precision", "bf16"])
    assert "no native bf16" in result.stderr and result.exit_code != 0


def test_missing_embedder_folder_raises_model_missing(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="--embedder PATH"):
        Embedder(tmp_path / "no-such-model").encode(["Hello."])


def count_runs(encoder) -> list[list[str]]:
    """Record the texts each model call of `encoder` receives (memo misses only)."""
    calls: list[list[str]] = []
    run = encoder._run

    def counting_run(texts: list[str]):
        calls.append(list(texts))
        return run(texts)

    encoder._run = counting_run
    return calls


def test_embedder_runs_each_text_once_and_keeps_order() -> None:
    embedder = Embedder()
    calls = count_runs(embedder)
    texts = ["The talks resumed on Monday.", "Prices rose sharply.", "The talks resumed on Monday."]
    first = embedder.encode(texts)
    assert sum(len(batch) for batch in calls) == 2  # the repeated sentence is run once
    calls.clear()
    again = embedder.encode(list(reversed(texts)))
    assert calls == []  # all three came from the memo
    np.testing.assert_allclose(again, first[::-1], atol=1e-6)
    assert np.allclose(np.linalg.norm(again, axis=1), 1.0, atol=1e-5)
    # A fresh embedder gives the same vectors batch by batch: the memo changes cost, not values.
    np.testing.assert_allclose(Embedder().encode(texts), first, atol=1e-5)
    assert Embedder().encode([]).shape == (0, 384)


def test_length_batches_keep_similar_lengths_together() -> None:
    lengths = [10, 40, 11, 12, 41, 100, 13, 9]
    batches = models.length_batches(lengths, batch_size=3, spread=1.25)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))  # each input once
    assert all(len(batch) <= 3 for batch in batches)
    assert all(max(lengths[i] for i in b) <= 1.25 * min(lengths[i] for i in b) for b in batches)
    assert [lengths[i] for i in batches[0]] == [9, 10, 11]


def test_embedder_vectors_do_not_depend_on_batching() -> None:
    """Sentences of very different lengths, run batched (float32), give the vectors they give alone."""
    texts = [
        "Yes.",
        "The talks resumed on Monday in Geneva after a week's pause.",
        "Prices rose.",
        "No " * 60,
    ]
    together = Embedder(precision="fp32", batch_size=2).encode(texts)
    alone = np.stack([Embedder(precision="fp32").encode([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_source_encoder_runs_each_text_once() -> None:
    from mtcheck.models import SourceEncoder

    encoder = SourceEncoder()
    encoder._load()
    calls = count_runs(encoder)
    texts = ["Банк объявит о своем решении в пятницу.", "The bank will announce its decision on Friday."]
    first = encoder.encode(texts + texts[:1])
    assert sum(len(c) for c in calls) == 2  # the repeated source sentence went through once
    again = encoder.encode(list(reversed(texts)))
    assert sum(len(c) for c in calls) == 2  # both from the memo
    np.testing.assert_allclose(again, first[1::-1], atol=1e-6)
    np.testing.assert_allclose(SourceEncoder().encode(texts), first[:2], atol=1e-5)
    assert float(first[0] @ first[1]) > 0.5  # the translation pair is close across languages


def test_text_memo_computes_each_text_once_and_drops_the_least_recent() -> None:
    from mtcheck.models import TextMemo

    memo = TextMemo(size=2)
    calls: list[list[str]] = []

    def compute(texts: list[str]) -> list[str]:
        calls.append(list(texts))
        return [t.upper() for t in texts]

    assert memo.get(["a", "b", "a"], compute) == ["A", "B", "A"]
    assert calls == [["a", "b"]]
    assert memo.get(["a", "c"], compute) == ["A", "C"]  # "b" was least recently used: it goes
    assert calls[-1] == ["c"] and len(memo) == 2
    assert memo.get(["b"], compute) == ["B"] and calls[-1] == ["b"]
    assert memo.get(["x", "y", "z"], compute) == ["X", "Y", "Z"]  # a call larger than the memo keeps all
    assert len(memo) == 3


SENTENCES = [
    "MOSCOW, Sept 30 (Reuters) - Russia's upper house approved the use of troops in Syria.",
    "Ünïcödé “quotes” — 1,000.5 naïve café",
    "A short one.",
]


def test_native_bert_gives_transformers_hidden_states() -> None:
    """mtcheck.bert runs the packaged encoder without transformers: same pieces, same states."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from mtcheck.bert import WordPieces, load_encoder
    from mtcheck.models import default_embedder_path

    folder = default_embedder_path()
    tokenizer, encoder = load_encoder(folder)
    assert isinstance(tokenizer, WordPieces) and getattr(encoder, "native_bert", False)
    reference_tok, reference = (
        AutoTokenizer.from_pretrained(str(folder)),
        AutoModel.from_pretrained(str(folder)),
    )
    for text in SENTENCES:
        ours = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        theirs = reference_tok(text, add_special_tokens=False, return_offsets_mapping=True)
        assert list(ours["input_ids"]) == list(theirs["input_ids"])
        assert [tuple(o) for o in ours["offset_mapping"]] == [tuple(o) for o in theirs["offset_mapping"]]
    # Cut short (the closing [SEP] kept), padded, and padded to a multiple of 8 pieces (the product's batches).
    for cut, multiple in ((8, None), (128, None), (128, 8)):
        args = {"padding": True, "truncation": True, "max_length": cut, "return_tensors": "pt"}
        if multiple:
            args["pad_to_multiple_of"] = multiple
        ours, theirs = tokenizer(SENTENCES, **args), reference_tok(SENTENCES, **args)
        assert torch.equal(ours["input_ids"], theirs["input_ids"])
        assert torch.equal(ours["attention_mask"], theirs["attention_mask"])
    assert ours["input_ids"].shape[1] % 8 == 0
    encoder.eval()
    reference.eval()
    with torch.inference_mode():
        a = encoder(input_ids=theirs["input_ids"], attention_mask=theirs["attention_mask"]).last_hidden_state
        b = reference(
            input_ids=theirs["input_ids"], attention_mask=theirs["attention_mask"]
        ).last_hidden_state
        # Every layer's states on request (the lab's probe reads them), embeddings first.
        every = {"input_ids": theirs["input_ids"], "attention_mask": theirs["attention_mask"]}
        ours_layers = encoder(**every, output_hidden_states=True).hidden_states
        their_layers = reference(**every, output_hidden_states=True).hidden_states
    real = theirs["attention_mask"].bool()
    assert float((a - b)[real].abs().max()) < 1e-4
    assert len(ours_layers) == len(their_layers) == reference.config.num_hidden_layers + 1
    for x, y in zip(ours_layers, their_layers, strict=True):
        assert float((x - y)[real].abs().max()) < 1e-4


def test_other_transformers_folders_load_through_transformers(tiny_model: Path, tmp_path: Path) -> None:
    """Without a tokenizer.json (or for another architecture) a folder goes through transformers, and
    the quality model's outputs are the same either way."""
    import json
    import shutil

    from mtcheck import load_metric
    from mtcheck.bert import native_config

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    (model / "encoder" / "tokenizer.json").unlink()
    assert native_config(tiny_model / "encoder") is not None and native_config(model / "encoder") is None
    roberta = tmp_path / "roberta"
    roberta.mkdir()
    (roberta / "config.json").write_text(json.dumps({"model_type": "roberta", "hidden_act": "gelu"}))
    assert native_config(roberta) is None
    mt, ref = [SENTENCES[0], SENTENCES[1]], [SENTENCES[0].replace("upper", "lower"), None]
    native, via_transformers = load_metric(tiny_model, precision="fp32"), load_metric(model, precision="fp32")
    native.load()
    via_transformers.load()
    assert native._net.encoder.native_bert
    assert not getattr(via_transformers._net.encoder, "native_bert", False)
    for a, b in zip(native.raw_outputs(mt, ref), via_transformers.raw_outputs(mt, ref), strict=True):
        np.testing.assert_allclose(a["raw"], b["raw"], atol=1e-5)
        np.testing.assert_allclose(a["tags"], b["tags"], atol=1e-5)
        assert a["offsets"] == b["offsets"]


def test_upstream_bert_checkpoints_load_natively_or_through_transformers(tmp_path: Path, monkeypatch) -> None:
    """A checkpoint as BERT's releases ship it ("bert." prefix, LayerNorm gamma/beta, pre-training heads)
    runs natively with the same hidden states; weights mtcheck.bert can't place go to transformers."""
    import shutil

    import torch
    from safetensors.torch import save_file
    from transformers import AutoModel, BertConfig, BertModel

    from mtcheck.bert import load_encoder
    from mtcheck.models import default_embedder_path

    config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    torch.manual_seed(0)
    reference = BertModel(config).eval()
    state = {}
    for key, value in reference.state_dict().items():
        key = key.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        state[f"bert.{key}"] = value.contiguous()
    state["cls.predictions.bias"] = torch.zeros(config.vocab_size)
    folder = tmp_path / "bert"
    folder.mkdir()
    config.save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(default_embedder_path() / name, folder / name)
    save_file(state, str(folder / "model.safetensors"))
    _, encoder = load_encoder(folder)
    assert encoder.native_bert
    ids = torch.tensor([[101, 7592, 2088, 102, 0], [101, 2023, 2003, 1037, 102]])
    mask = (ids != 0).long()
    with torch.inference_mode():
        ours = encoder.eval()(input_ids=ids, attention_mask=mask).last_hidden_state
        theirs = reference(input_ids=ids, attention_mask=mask).last_hidden_state
    assert float((ours - theirs)[mask.bool()].abs().max()) < 1e-5

    state["bert.encoder.layer.0.attention.self.rotary.weight"] = torch.zeros(2)  # nothing native reads
    save_file(state, str(folder / "model.safetensors"))
    assert not getattr(load_encoder(folder)[1], "native_bert", False)

    # A tensor of another shape is transformers' to judge too (it explains the mismatch), not a crash here.
    del state["bert.encoder.layer.0.attention.self.rotary.weight"]
    state["bert.encoder.layer.0.output.dense.bias"] = torch.zeros(config.hidden_size + 1)
    save_file(state, str(folder / "model.safetensors"))
    asked = []
    monkeypatch.setattr(
        AutoModel, "from_pretrained", lambda path, **kw: asked.append(path) or "from transformers"
    )
    assert load_encoder(folder)[1] == "from transformers" and asked == [str(folder)]


def test_building_a_checker_imports_no_torch() -> None:
    """Bad input is refused before any model loads: the precision `auto` asks torch about is resolved on
    first use, not when the checker is built."""
    import subprocess
    import sys

    code = "import sys; from mtcheck import Checker; Checker(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr
