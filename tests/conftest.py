import json
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO / "corpora"
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


@pytest.fixture(scope="session")
def corpora() -> Path:
    return CORPORA


def make_tiny_model(folder: Path, seed: int = 0, lexical: bool = False, **config_extra) -> Path:
    """A mtcheck model folder with a tiny random-weight encoder (2 layers x 32) and MiniLM's tokenizer:
    tests of loading, windowing and decoding run on it in milliseconds, without the trained weights.
    `lexical`: its score heads read `neural.LEXICAL_FEATURES` too."""
    import torch
    from transformers import BertConfig, BertModel

    from mtcheck.models import default_embedder_path
    from mtcheck.neural import LEXICAL_FEATURES, build_net, save_weights

    folder.mkdir(parents=True, exist_ok=True)
    encoder = folder / "encoder"
    encoder.mkdir(exist_ok=True)
    for name in TOKENIZER_FILES:
        shutil.copy(default_embedder_path() / name, encoder / name)
    cfg = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    cfg.save_pretrained(encoder)
    torch.manual_seed(seed)
    net = build_net(BertModel(cfg), hidden=16, lexical=len(LEXICAL_FEATURES) if lexical else 0)
    save_weights(net, folder, include_frozen=True)
    config = {
        "class": "neural-tagger",
        "encoder": {"path": "encoder", "name": "tiny-random"},
        "random_init": True,
        "head_hidden": 16,
        "max_length": 512,
        "decoding": {"minor": 0.5, "major": 0.5, "critical": 0.5},
        "verdict": {"ok": 40.0, "rewrite": 10.0},
        **({"lexical": list(LEXICAL_FEATURES)} if lexical else {}),
        **config_extra,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny-model"))


def make_articles(folder: Path, count: int, paragraphs: int = 3) -> Path:
    """`count` short article pairs cut from the seed (consecutive paragraphs of its MT and reference,
    which are paragraph-parallel), for batch tests that need many articles."""
    mt = (CORPORA / "putin_syria.mt.txt").read_text(encoding="utf-8").split("\n\n")
    ref = (CORPORA / "putin_syria.ref.txt").read_text(encoding="utf-8").split("\n\n")
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        start = n % (len(mt) - paragraphs + 1)
        for role, paras in (("mt", mt), ("ref", ref)):
            text = "\n\n".join(paras[start : start + paragraphs])
            (folder / f"story{n:02d}.{role}.txt").write_text(text, encoding="utf-8")
    return folder
