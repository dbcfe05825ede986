"""Embedder and SourceEncoder on the real packaged models (installed on CI); the text memo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtcheck.models import Embedder
from mtcheck.types import ModelMissingError


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
