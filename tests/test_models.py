"""CausalLM and Embedder on the real packaged models (installed on CI); loaded once per module."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from mtcheck.models import CausalLM, Embedder, sentence_core_end, start_token_id
from mtcheck.types import ModelMissingError

SEED_HEADLINE = "Putin: Russia aims to work on a settlement in Syria, the leaders don’t have"


@pytest.fixture(scope="module")
def lm() -> CausalLM:
    return CausalLM()


def test_missing_lm_folder_raises_model_missing(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError):
        CausalLM(tmp_path / "no-such-model").surprisal(["Hello."])


def test_missing_embedder_folder_raises_model_missing(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError):
        Embedder(tmp_path / "no-such-model").encode(["Hello."])


@pytest.mark.parametrize(
    ("text", "core"),
    [
        ("He left.", "He left"),
        ('He said: "Stop!"', 'He said: "Stop'),
        ("No ending here", "No ending here"),
        ("Trailing space.  ", "Trailing space"),
        ("(a remark)", "(a remark)"),
    ],
)
def test_sentence_core_end(text: str, core: str) -> None:
    assert text[: sentence_core_end(text)] == core


def test_offsets_index_the_text_and_values_are_bits(lm: CausalLM) -> None:
    texts = [SEED_HEADLINE, "  Leading spaces and “quotes” — dashes, 1,200 numbers.", "Ünïcödé café naïve."]
    for text, (spans, eos) in zip(texts, lm.surprisal(texts), strict=True):
        assert spans, text
        assert all(text[s.start : s.end] == s.text for s in spans)
        assert all(not s.text[0].isspace() or len(s.text) == 1 for s in spans)
        assert all(s.value >= 0 and math.isfinite(s.value) for s in spans)
        assert math.isfinite(eos) and eos >= 0
        # Tokens are in order and do not overlap.
        assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))


def test_truncated_headline_has_surprising_end(lm: CausalLM) -> None:
    complete = "Putin: Russia aims to work on a settlement in Syria."
    (_, cut_eos), (_, full_eos) = lm.surprisal([SEED_HEADLINE, complete])
    assert cut_eos > full_eos + 2.0


def test_scrambled_sentence_is_more_surprising(lm: CausalLM) -> None:
    original = "The government said on Monday that it would raise taxes on fuel next year."
    scrambled = "year on the next that said raise government would fuel Monday it taxes on The."
    (a, _), (b, _) = lm.surprisal([original, scrambled])
    mean = lambda spans: sum(s.value for s in spans) / len(spans)  # noqa: E731
    assert mean(b) > mean(a) + 2.0


def test_batching_and_sliding_window_match_single_pass(lm: CausalLM) -> None:
    long_text = " ".join(["The committee met on Tuesday and agreed to publish its report in March."] * 6)
    texts = ["Short one.", long_text, ""]
    full = lm.surprisal(texts)
    windowed = CausalLM(window=32, context=16)
    windowed._model, windowed._tokenizer, windowed._end_ids = lm._model, lm._tokenizer, lm._end_ids
    cut = windowed.surprisal(texts)
    assert full[2] == ([], full[2][1]) and math.isnan(full[2][1])
    long_full, long_cut = full[1][0], cut[1][0]
    assert len(long_full) == len(long_cut) > 32  # every token scored, none dropped
    assert [s.start for s in long_full] == [s.start for s in long_cut]
    # Tokens inside the first window see identical context.
    assert all(abs(a.value - b.value) < 1e-3 for a, b in zip(long_full[:30], long_cut[:30], strict=True))
    assert abs(full[0][1] - lm.surprisal(["Short one."])[0][1]) < 1e-3


def test_dequantised_cache_is_reused_and_a_corrupt_one_rebuilt(lm: CausalLM, tmp_path: Path) -> None:
    lm._load()
    cache = lm._cache_folder(lm._source())
    assert (cache / "complete").is_file() and (cache / "model.safetensors").is_file()
    # A cache folder whose weights are corrupt must be rebuilt, not trusted. The rebuild itself
    # (dequantising, ~20 s) is replaced by handing over the already loaded model.
    other = CausalLM(cache_dir=tmp_path)
    target = other._cache_folder(other._source())
    target.mkdir(parents=True)
    for name in os.listdir(cache):
        (target / name).write_bytes(b"junk" if name == "model.safetensors" else (cache / name).read_bytes())
    rebuilt: list[Path] = []

    def fake_dequantise(gguf: Path, cached: Path):
        rebuilt.append(cached)
        return lm._tokenizer, lm._model

    other._dequantise = fake_dequantise  # type: ignore[method-assign]
    (spans, _), *_ = other.surprisal(["The cat sat on the mat."])
    assert rebuilt == [target]
    assert spans and spans[-1].text == "."


def test_each_model_starts_sequences_with_its_own_start_token(lm: CausalLM) -> None:
    """SmolLM2 follows `<|endoftext|>` (id 0, not its GGUF's `<|im_start|>`); a local model without that token,
    such as a Gemma folder, starts with its own BOS, else its EOS."""

    class Tokenizer:
        def __init__(self, vocab: dict[str, int], bos: int | None, eos: int | None):
            self.vocab, self.bos_token_id, self.eos_token_id = vocab, bos, eos

        def get_vocab(self) -> dict[str, int]:
            return self.vocab

    lm._load()
    assert lm.bos_id == 0 == lm._tokenizer.convert_tokens_to_ids("<|endoftext|>")
    assert lm._tokenizer.bos_token_id != 0  # what the GGUF names would be the wrong start
    assert start_token_id(Tokenizer({"<pad>": 0, "<eos>": 1, "<bos>": 2}, bos=2, eos=1)) == 2
    assert start_token_id(Tokenizer({"</s>": 7}, bos=None, eos=7)) == 7


def test_name_and_version(lm: CausalLM) -> None:
    assert "SmolLM2" in lm.name
    assert lm.version


def test_reference_prompt_makes_a_faithful_mt_cheaper(lm: CausalLM) -> None:
    ref = "The central bank raised interest rates by half a percentage point on Thursday."
    faithful = "On Thursday the central bank raised interest rates by half a percentage point."
    wrong = "On Thursday the football club sold its stadium to a property developer."
    alone = lm.surprisal([faithful, wrong])
    after = lm.conditional_surprisal([faithful, wrong], [ref, ref])
    mean = lambda spans: sum(s.value for s in spans) / len(spans)  # noqa: E731
    for text, (spans, eos, ref_bits) in zip([faithful, wrong], after, strict=True):
        assert all(text[s.start : s.end] == s.text for s in spans)
        assert [s.start for s in spans] == [s.start for s in lm.surprisal([text])[0][0]]
        assert math.isfinite(eos) and math.isfinite(ref_bits)
    # The reference explains most of the faithful MT and little of the wrong one.
    gain_faithful = mean(alone[0][0]) - mean(after[0][0])
    gain_wrong = mean(alone[1][0]) - mean(after[1][0])
    assert gain_faithful > gain_wrong + 1.0
    assert mean(after[0][0]) < mean(after[1][0])


def test_embedder_runs_each_text_once_and_keeps_order() -> None:
    embedder = Embedder()
    calls: list[list[str]] = []
    forward = embedder._forward

    def counting_forward(texts: list[str]):
        calls.append(list(texts))
        return forward(texts)

    embedder._forward = counting_forward
    texts = ["The talks resumed on Monday.", "Prices rose sharply.", "The talks resumed on Monday."]
    first = embedder.encode(texts)
    assert sum(len(batch) for batch in calls) == 2  # the repeated sentence is run once
    calls.clear()
    sentences, tokens = embedder.encode_with_tokens(list(reversed(texts)))
    assert calls == []  # all three came from the memo
    np.testing.assert_allclose(sentences, first[::-1], atol=1e-6)
    assert np.allclose(np.linalg.norm(sentences, axis=1), 1.0, atol=1e-5)
    spans, vectors = tokens[1]
    assert len(spans) == len(vectors) and "".join(texts[1][a:b] for a, b in spans).startswith("Prices")
    # A fresh embedder gives the same vectors batch by batch: the memo changes cost, not values.
    np.testing.assert_allclose(Embedder().encode(texts), first, atol=1e-5)


def test_model_arithmetic_is_counted_for_the_benchmark_ceiling(lm: CausalLM) -> None:
    from mtcheck.bench import compute_ceiling

    embedder = Embedder()
    embedder.encode(["Prices rose sharply.", "The talks resumed on Monday after a week."])
    pieces = sum(
        len(embedder._tokenizer(t)["input_ids"])
        for t in ["Prices rose sharply.", "The talks resumed on Monday after a week."]
    )
    assert embedder.tokens_run == pieces  # [CLS] and [SEP] counted, padding not
    # all-MiniLM-L6-v2: 22.7M weights, 11.7M of them the word-piece table that costs no arithmetic.
    assert 2 * 10e6 < embedder.flops_per_token() < 2 * 12e6
    before = lm.tokens_run
    lm.surprisal(["Prices rose sharply."])
    assert (
        lm.tokens_run - before
        == len(lm._tokenizer("Prices rose sharply.", add_special_tokens=False)["input_ids"]) + 1
    )
    # SmolLM2-135M: every position runs 30 layers and the 49k x 576 vocabulary head (tied to the table).
    assert 2 * 130e6 < lm.flops_per_token() < 2 * 140e6
    assert compute_ceiling(2e9, 10, 100.0) == pytest.approx(500.0)  # 0.2 GFLOP a sentence at 100 GFLOP/s
    assert compute_ceiling(0.0, 10, 100.0) is None


def test_source_encoder_runs_each_text_once() -> None:
    from mtcheck.models import SourceEncoder

    encoder = SourceEncoder()
    texts = ["Банк объявит о своем решении в пятницу.", "The bank will announce its decision on Friday."]
    first = encoder.encode(texts + texts[:1])
    assert encoder.texts_run == 2  # the repeated source sentence went through once
    again = encoder.encode(list(reversed(texts)))
    assert encoder.texts_run == 2  # both from the memo
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
