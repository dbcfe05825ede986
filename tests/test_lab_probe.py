"""The probe's token matching (lab/probe.py) on the packaged MiniLM (its per-layer states: tests/test_models.py)."""

from __future__ import annotations

import numpy as np

from lab.probe import token_matching
from mtcheck.models import default_embedder_path


def test_a_text_matches_itself_fully_and_a_different_one_less():
    mt = ["Russia is ready for such work.", "Russia is ready for such work."]
    ref = ["Russia is ready for such work.", "The weather in Oslo was cold on Tuesday."]
    matched = token_matching(default_embedder_path(), mt, ref, layers=[4, 6])
    assert matched.shape == (2, 7)
    assert np.allclose(matched[0], 1.0, atol=0.02)  # bf16 states on CPUs that compute it natively
    assert (matched[1] < matched[0] - 0.1).all()
