"""The probe's token matching (lab/probe.py) on the packaged MiniLM: no shared data needed."""

from __future__ import annotations

import numpy as np

from lab.probe import _hidden_states, token_matching
from mtcheck.models import default_embedder_path


def test_every_layer_of_the_native_encoder_matches_transformers():
    import torch
    from transformers import AutoModel, AutoTokenizer

    from mtcheck.bert import load_encoder

    folder = default_embedder_path()
    tokenizer, native = load_encoder(folder)
    reference = AutoModel.from_pretrained(str(folder)).eval()
    batch = AutoTokenizer.from_pretrained(str(folder))(
        ["Putin met Obama in New York.", "Talks go on."], padding=True, return_tensors="pt"
    )
    batch = {k: batch[k] for k in ("input_ids", "attention_mask")}
    with torch.inference_mode():
        ours = _hidden_states(native.eval(), batch)
        theirs = _hidden_states(reference, batch)
    assert len(ours) == len(theirs) == reference.config.num_hidden_layers + 1
    mask = batch["attention_mask"].bool()
    for a, b in zip(ours, theirs, strict=True):
        assert torch.allclose(a[mask], b[mask], atol=1e-4)


def test_a_text_matches_itself_fully_and_a_different_one_less():
    mt = ["Russia is ready for such work.", "Russia is ready for such work."]
    ref = ["Russia is ready for such work.", "The weather in Oslo was cold on Tuesday."]
    matched = token_matching(default_embedder_path(), mt, ref, layers=[4, 6])
    assert matched.shape == (2, 7)
    assert np.allclose(matched[0], 1.0, atol=0.02)  # bf16 states on CPUs that compute it natively
    assert (matched[1] < matched[0] - 0.1).all()
