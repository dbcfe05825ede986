"""The metric interface and the trained tagger's loading, windowing and decoding, on a tiny random model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mtcheck.metric import load_metric
from mtcheck.models import resolve_precision
from mtcheck.neural import Knots, decode_spans, windows
from mtcheck.types import ModelMissingError

MT = ["Putin: Russia aims to work on a settlement in Syria, the leaders don’t have", "", "Also no reply."]
REF = ["Putin: Russia not seeking leadership in Syria", "A sentence the MT omitted.", None]


def test_predict_gives_one_prediction_per_unit(tiny_model: Path) -> None:
    metric = load_metric(tiny_model)
    prediction = metric.predict(MT, REF)
    assert len(prediction.units) == 3
    first, omitted, alone = prediction.units
    for value in (first.quality, first.adequacy, first.fluency, alone.quality, alone.fluency):
        assert 0.0 <= value <= 100.0
    assert omitted.quality is None and omitted.spans == []
    assert alone.adequacy is None  # no reference: nothing to be adequate to
    assert set(first.raw) == {"quality_raw", "adequacy_raw", "fluency_raw"}
    assert prediction.signature.startswith("model:")
    assert f"prec:{resolve_precision('auto')}" in prediction.signature  # the precision that ran


def test_spans_cover_whole_words_of_the_mt(tiny_model: Path) -> None:
    metric = load_metric(tiny_model)
    metric.config = {**metric.config, "decoding": {"minor": 0.0, "major": 1.01, "critical": 1.01}}
    units = metric.predict(MT, REF).units
    spans = units[0].spans
    # With the minor cut at 0 every word is flagged, and adjacent words form one span.
    assert len(spans) == 1 and (spans[0].start, spans[0].end) == (0, len(MT[0]))
    assert spans[0].severity == "minor" and spans[0].category in ("accuracy", "fluency")


def test_a_long_unit_runs_in_windows_and_nothing_is_cut_off(tiny_model: Path) -> None:
    metric = load_metric(tiny_model)
    long_mt = " ".join(f"word{i}" for i in range(700))  # far over the 512-piece window
    (out,) = metric.raw_outputs([long_mt], ["a short reference"])
    pieces = metric._tokenizer(long_mt, add_special_tokens=False)["input_ids"]
    assert len(out["tags"]) == len(out["offsets"]) == len(pieces) > 512
    assert np.allclose(out["tags"].sum(axis=1), 1.0, atol=1e-3)  # every piece got a probability
    assert out["offsets"][-1][1] == len(long_mt)


@pytest.mark.parametrize("n_mt, n_ref", [(10, 12), (600, 20), (300, 900), (2000, 0)])
def test_windows_cover_the_mt_within_the_budget(n_mt: int, n_ref: int) -> None:
    budget = 509
    spans = windows(n_mt, n_ref, budget)
    covered = set()
    for a, b, c, d in spans:
        assert (b - a) + (d - c) <= budget and 0 <= c <= d <= n_ref
        covered.update(range(a, b))
    assert covered == set(range(n_mt))


def test_decode_spans_joins_adjacent_words_and_takes_the_worst_tag() -> None:
    mt = "the leaders don't have it"
    offsets = [(0, 3), (4, 11), (12, 15), (15, 16), (16, 17), (18, 22), (23, 25)]
    ok, minor, major = [0.9, 0.1, 0, 0], [0.3, 0.6, 0.1, 0], [0.1, 0.2, 0.7, 0]
    tags = np.array([ok, ok, minor, minor, minor, major, ok])
    cats = np.array([[0.5, 0.5]] * 5 + [[0.2, 0.8]] * 2)
    spans = decode_spans(mt, offsets, tags, cats, {"minor": 0.5, "major": 0.5, "critical": 0.5})
    assert [(mt[s.start : s.end], s.severity, s.category) for s in spans] == [
        ("don't have", "major", "fluency")
    ]
    assert spans[0].confidence == pytest.approx(0.7)


def test_knots_map_raw_scores_to_percentiles() -> None:
    knots = Knots.fit(np.arange(1000, dtype=float))
    assert knots.apply(-5) == 0 and knots.apply(5000) == 100
    assert knots.apply(499.5) == pytest.approx(50, abs=0.5)
    assert all(a < b for a, b in zip(knots.raw, knots.raw[1:], strict=False))


def test_missing_or_unknown_model_is_a_clear_error(tmp_path: Path, tiny_model: Path) -> None:
    with pytest.raises(ModelMissingError, match="--model PATH"):
        load_metric(tmp_path / "nowhere")
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "config.json").write_text(json.dumps({"class": "comet-xxl"}))
    with pytest.raises(ModelMissingError, match="unknown model class"):
        load_metric(odd)
    no_weights = tmp_path / "no-weights"
    shutil.copytree(tiny_model, no_weights)
    (no_weights / "weights.safetensors").unlink()
    with pytest.raises(ModelMissingError, match="weights missing"):
        load_metric(no_weights).predict(["x"], ["y"])


def test_weights_round_trip_and_signature_tracks_them(tiny_model: Path, tmp_path: Path) -> None:
    from tests.conftest import make_tiny_model

    a = load_metric(tiny_model).predict(MT, REF).units[0].raw
    again = load_metric(tiny_model).predict(MT, REF).units[0].raw
    assert a == again
    other = make_tiny_model(tmp_path / "other", seed=1)
    assert load_metric(other).signature != load_metric(tiny_model).signature


def test_a_model_trained_with_lexical_inputs_reads_the_units_chrf(tmp_path: Path, monkeypatch) -> None:
    """A folder whose config names lexical inputs builds heads that read them: the same pair scores
    differently with other lexical inputs, and one unit's score does not depend on its batch-mates.
    An input the code does not know is a clear error."""
    from mtcheck import neural
    from mtcheck.neural import lexical_features
    from tests.conftest import make_tiny_model

    folder = make_tiny_model(tmp_path / "lexical", lexical=True)
    metric = load_metric(folder, precision="fp32")
    mt = "Russia is ready for such work."
    close, far = "Russia is ready for this work.", "Talks resumed in Geneva on Monday."
    assert lexical_features(mt, close)[0] > lexical_features(mt, far)[0] > 0
    assert lexical_features(mt, None) == [0.0, 0.0]
    alone = [metric.predict([mt], [r]).units[0].raw["quality_raw"] for r in (close, far)]
    together = [u.raw["quality_raw"] for u in metric.predict([mt, mt], [close, far]).units]
    assert np.allclose(alone, together, atol=1e-5)
    seen = []
    for chrf in (0.9, 0.1):
        monkeypatch.setattr(neural, "lexical_features", lambda m, r, chrf=chrf: [chrf, 1.0])
        seen.append(metric.predict([mt], [close]).units[0].raw["quality_raw"])
    assert not np.isclose(seen[0], seen[1])
    monkeypatch.undo()
    config = json.loads((folder / "config.json").read_text())
    for inputs in (["bleu"], ["chrf"]):  # unknown, or only some of them
        (folder / "config.json").write_text(json.dumps({**config, "lexical": inputs}))
        with pytest.raises(ModelMissingError, match="unknown lexical inputs"):
            load_metric(folder).predict([mt], [close])


def test_the_references_own_wording_scores_full_marks_only_against_a_human_reference(
    tiny_model: Path,
) -> None:
    from mtcheck.pipeline import Checker, CheckOptions

    mt = "MOSCOW, October 13. Putin said the talks would go on. He did not say when."
    ref = "MOSCOW,  October 13.\nPutin said the talks will continue. He did not say when."
    checker = Checker(CheckOptions(check_pairing=False), model_path=tiny_model)
    units = checker.check("story", mt, ref).units
    same = [u for u in units if u.mt.split() == u.ref.split()]
    assert len(same) == 2 and len(units) == 3
    for u in same:
        assert (u.scores.quality, u.scores.adequacy, u.flags, u.verdict) == (100.0, 100.0, [], "ok")
    other = next(u for u in units if u not in same)
    assert other.scores.quality != 100.0  # the random network's own score
    against_mt = checker.check("story", mt, ref, ref_kind="retranslation").units
    assert all(u.scores.quality != 100.0 for u in against_mt)


def test_batches_hold_inputs_of_similar_length(tiny_model: Path) -> None:
    from types import SimpleNamespace

    metric = load_metric(tiny_model, batch_size=3, length_spread=1.25)
    lengths = [10, 40, 11, 12, 12, 51, 13, 100, 41]
    jobs = [(i, 0, SimpleNamespace(input_ids=[0] * n)) for i, n in enumerate(lengths)]
    batches = metric._batches(jobs)
    assert sorted(j[0] for b in batches for j in b) == list(range(len(lengths)))  # every input once
    for batch in batches:
        sizes = [len(j[2].input_ids) for j in batch]
        assert len(batch) <= 3 and max(sizes) <= 1.25 * min(sizes)
    assert [[len(j[2].input_ids) for j in b] for b in batches] == [
        [10, 11, 12],
        [12, 13],
        [40, 41],
        [51],
        [100],
    ]
