"""Scorer on the real packaged models (MiniLM + SmolLM2); models load once per module."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from mtcheck.score import Calibration, Scorer, words_with_values
from mtcheck.types import UnitScores

SEED_HEADLINE = "Putin: Russia aims to work on a settlement in Syria, the leaders don’t have"
REFERENCE = (
    "The finance ministry said on Tuesday that it would cut fuel taxes next month "
    "to ease the pressure of rising prices on households and small businesses."
)
HALF = "The finance ministry said on Tuesday that it would cut fuel taxes next month."


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer()


@pytest.fixture(scope="module")
def fast_scorer(scorer: Scorer) -> Scorer:
    return Scorer(embedder=scorer.embedder, use_lm=False)


def test_all_fields_filled_and_offsets_index_texts(scorer: Scorer) -> None:
    mt = [SEED_HEADLINE, "The ministry of finance said Tuesday it will cut fuel tax next month."]
    ref = ["Putin says Russia will work with Turkey on a Syria settlement.", REFERENCE]
    for m, r, s in zip(mt, ref, scorer.score_units(mt, ref), strict=True):
        for name in ("chrf", "bleu", "ter", "similarity", "fluency", "adequacy", "quality"):
            assert getattr(s, name) is not None, name
        for name in ("fluency", "adequacy", "quality"):
            assert 0 <= getattr(s, name) <= 100
        for name in (
            "lm_mean_bits",
            "lm_max_bits",
            "eos_bits",
            "match_precision",
            "match_recall",
            "match_f1",
        ):
            assert math.isfinite(s.features[name]), name
        assert s.mt_surprisal and all(m[t.start : t.end] == t.text for t in s.mt_surprisal)
        assert all(m[w.start : w.end] == w.text for w in s.mt_unmatched)
        assert all(r[w.start : w.end] == w.text for w in s.ref_unmatched)
        assert all(w.value < scorer.unmatched_threshold for w in s.mt_unmatched + s.ref_unmatched)
        json.dumps(s.features)  # plain floats only: goes to the JSONL


def test_seed_headline_ends_surprisingly(scorer: Scorer) -> None:
    complete = "Putin: Russia aims to work on a settlement in Syria."
    cut, full = scorer.score_units([SEED_HEADLINE, complete], [complete, complete])
    assert cut.features["eos_bits"] > full.features["eos_bits"] + 2.0
    assert cut.fluency < full.fluency


def test_scrambled_sentence_has_higher_surprisal(scorer: Scorer) -> None:
    scrambled = "month fuel said that on cut would next Tuesday it the taxes ministry finance The."
    good, bad = scorer.score_units([HALF, scrambled], [HALF, HALF])
    assert bad.features["lm_mean_bits"] > good.features["lm_mean_bits"] + 2.0
    assert bad.fluency < good.fluency


def test_dropping_half_the_reference_loses_recall_not_precision(scorer: Scorer) -> None:
    full, half = scorer.score_units([REFERENCE, HALF], [REFERENCE, REFERENCE])
    assert full.features["match_recall"] > 0.99
    assert half.features["match_recall"] < full.features["match_recall"] - 0.1
    assert half.features["match_precision"] > 0.9
    # The dropped words are the ones reported as unmatched reference words.
    dropped = {w.text for w in half.ref_unmatched}
    assert {"households", "businesses"} <= dropped
    assert not dropped & {"finance", "ministry", "Tuesday"}


def test_invented_words_are_unmatched_in_mt(scorer: Scorer) -> None:
    mt = "The finance ministry said on Tuesday that it would cut fuel taxes for penguins in Antarctica."
    (s,) = scorer.score_units([mt], [HALF])
    unmatched = {w.text for w in s.mt_unmatched}
    assert "penguins" in unmatched or "Antarctica" in unmatched
    assert "ministry" not in unmatched


def test_empty_sides(scorer: Scorer) -> None:
    omitted, added = scorer.score_units(["", "An extra sentence the reference lacks."], [REFERENCE, ""])
    assert omitted == UnitScores()  # nothing to score when the MT side is empty
    assert added.chrf is None and added.adequacy is None and added.quality is None
    assert added.fluency is not None and added.mt_surprisal
    assert "eos_bits" in added.features and "chrf" not in added.features


def test_no_lm_mode_skips_the_lm(fast_scorer: Scorer) -> None:
    (s,) = fast_scorer.score_units([HALF], [REFERENCE])
    assert fast_scorer.lm is None and "lm:none" in fast_scorer.signature
    assert s.fluency is None and not s.mt_surprisal and "lm_mean_bits" not in s.features
    assert s.quality is not None and s.adequacy is not None and s.chrf is not None


def test_batch_order_does_not_change_scores(fast_scorer: Scorer) -> None:
    mt = [HALF, "Short.", REFERENCE]
    ref = [REFERENCE, "A short line.", REFERENCE]
    forward = fast_scorer.score_units(mt, ref)
    backward = fast_scorer.score_units(mt[::-1], ref[::-1])[::-1]
    for a, b in zip(forward, backward, strict=True):
        assert a.quality == pytest.approx(b.quality, abs=1e-4)
        assert a.features["match_f1"] == pytest.approx(b.features["match_f1"], abs=1e-5)


def test_signature_names_models_and_calibration(scorer: Scorer) -> None:
    sig = scorer.signature
    assert sig.startswith("mtcheck:") and "emb:all-MiniLM-L6-v2" in sig and "lm:SmolLM2" in sig
    assert "calib:" in sig and "chrF2" in sig


def test_mismatched_lengths_rejected(fast_scorer: Scorer) -> None:
    with pytest.raises(ValueError):
        fast_scorer.score_units(["a"], ["a", "b"])


def test_words_with_values_merges_pieces() -> None:
    text = "Unbelievable, don't stop."
    spans = [(0, 2), (2, 6), (6, 12), (12, 13), (14, 17), (17, 18), (18, 19), (20, 24), (24, 25)]
    values = [0.2, 0.4, 0.6, 1.0, 0.5, 0.5, 0.8, 0.9, 1.0]
    words = words_with_values(text, spans, values)
    assert [w.text for w in words] == ["Unbelievable", "don't", "stop"]
    assert words[0].value == pytest.approx(0.4)
    assert words[1].value == pytest.approx(0.6)


def test_calibration_file_is_applied(tmp_path: Path) -> None:
    spec = {
        "features": ["chrf"],
        "mean": [50.0],
        "scale": [10.0],
        "weights": [1.0],
        "bias": 0.0,
        "knots_x": [-1.0, 0.0, 1.0],
        "knots_y": [10.0, 50.0, 90.0],
    }
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"scales": {"quality": spec}, "thresholds": {"ok": 60, "rewrite": 30}}))
    calib = Calibration.load(path)
    assert calib.apply("quality", {"chrf": 55.0}) == pytest.approx(70.0)
    assert calib.apply("quality", {}) == pytest.approx(50.0)  # missing feature -> fitting mean
    assert calib.apply("fluency", {"chrf": 55.0}) is None
    assert len(calib.digest) == 8 and calib.thresholds["ok"] == 60


# -- calibration and evaluation helpers (no models, no shared data) ------------------------------------


def _rows(n_items: int = 30, systems: int = 6, seed: int = 0):
    import random

    from mtcheck.calibrate import Row

    rng = random.Random(seed)
    rows = []
    for item in range(n_items):
        for system in range(systems):
            human = rng.gauss(0, 1)
            rows.append(
                Row(
                    "train",
                    "xx-en",
                    f"doc{item // 5}",
                    item,
                    f"sys{system}",
                    "m",
                    "r",
                    human,
                    da_raw=50 + 20 * human,
                )
            )
    return rows


def test_tau_item_and_auc_on_known_orders() -> None:
    from mtcheck.evaluate import roc_auc, tau_item

    items = ["a"] * 4 + ["b"] * 4
    human = [1, 2, 3, 4, 4, 3, 2, 1]
    assert tau_item([10, 20, 30, 40, 5, 6, 7, 8], human, items) == pytest.approx(0.0)  # +1 and -1
    assert tau_item([10, 20, 30, 40, 8, 7, 6, 5], human, items) == pytest.approx(1.0)
    assert tau_item([1, 1, 1, 1, 1, 1, 1, 1], human, items) == pytest.approx(
        0.0
    )  # constant metric: no credit
    assert roc_auc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == pytest.approx(1.0)
    assert roc_auc([0.5, 0.5], [True, False]) == pytest.approx(0.5)


def test_fit_linear_recovers_informative_features_with_sensible_signs() -> None:
    import numpy as np

    from mtcheck.calibrate import fit_linear
    from mtcheck.evaluate import tau_item

    rows = _rows()
    rng = np.random.default_rng(0)
    good = np.array([r.human for r in rows]) + rng.normal(0, 0.5, len(rows))
    noise = rng.normal(0, 1, len(rows))
    # "lm_mean_bits" here rises with quality: against its meaning, so its weight must stay at 0.
    matrix = np.column_stack([good, noise, -good + rng.normal(0, 0.5, len(rows)), good])
    names = ["chrf", "similarity", "ter", "lm_mean_bits"]
    for within in (0.0, 1.0):
        model = fit_linear(matrix, rows, names, within=within, ridge=1.0)
        assert model.weights[0] > 0 and model.weights[2] < 0
        assert abs(model.weights[1]) < 0.2 * (model.weights[0] - model.weights[2])
        assert model.weights[3] == pytest.approx(0.0, abs=1e-9)
        raw = model.raw(matrix)
        assert tau_item(raw, [r.human for r in rows], [r.item for r in rows]) > 0.5


def test_document_split_and_item_sampling_are_deterministic() -> None:
    from mtcheck.calibrate import document_half, select

    rows = _rows(n_items=40)
    halves = {document_half(r.lp, r.doc) for r in rows}
    assert halves <= {"fit", "holdout"}
    fit = select(rows, "fit", None, 0)
    holdout = select(rows, "holdout", None, 0)
    assert len(fit) + len(holdout) == len(rows)
    assert not {r.doc for r in fit} & {r.doc for r in holdout}
    sample = select(rows, "all", 60, 3)
    assert sample == select(rows, "all", 60, 3) and len(sample) <= 60
    counts = {}
    for r in sample:
        counts[r.item] = counts.get(r.item, 0) + 1
    assert set(counts.values()) == {6}  # whole items only


def test_shipped_calibration_is_complete() -> None:
    calib = Calibration.load()
    assert calib.digest != "provisional"
    for scale in ("fluency", "adequacy", "quality", "adequacy_nolm", "quality_nolm"):
        spec = calib.data["scales"][scale]
        assert len(spec["features"]) == len(spec["weights"]) == len(spec["mean"]) == len(spec["scale"])
        assert (
            spec["knots_x"] == sorted(spec["knots_x"])
            and spec["knots_y"][0] == 0
            and spec["knots_y"][-1] == 100
        )
    assert 0 < calib.thresholds["rewrite"] < calib.thresholds["ok"] < 100


# -- calibrate / evaluate commands end to end on synthetic data (a stub scorer, no models) ---------------


class _StubScorer:
    """Features that are noisy functions of a quality hidden in the MT text ("... q=0.731")."""

    feature_signature = "features:stub"
    signature = "stub"
    lm = object()  # LM-based scales are used

    def __init__(self, calibration: Calibration | None = None):
        self.calibration = calibration or Calibration({"scales": {}}, "none")

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.calibration.thresholds)

    def features(self, mt: list[str], ref: list[str]):
        import random

        from mtcheck.calibrate import SCALE_FEATURES
        from mtcheck.evaluate import LOWER_IS_BETTER
        from mtcheck.score import add_derived

        names = set().union(*SCALE_FEATURES.values()) | {"ter", "bleu", "chrf"}
        out = []
        for m in mt:
            q = float(m.rsplit("q=", 1)[1])
            rng = random.Random(m)
            f = {n: (-q if n in LOWER_IS_BETTER else q) + rng.gauss(0, 0.5) for n in names}
            f["chrf"], f["bleu"], f["ter"] = 50 + 30 * f["chrf"], 30 + 30 * f["bleu"], 60 - 30 * q
            out.append(add_derived(f))
        return out, [{} for _ in mt]

    scales = Scorer.scales


def _write_data(folder: Path, seed: int = 0) -> None:
    import random

    rng = random.Random(seed)
    specs = {
        "mqm_zhen_dev.jsonl": ("zh-en", "mqm", 24, 5),
        "wmt22_ruen_da_dev.jsonl": ("ru-en", "da", 24, 5),
        "wmt22_jaen_uken_da_train.jsonl": ("ja-en", "da", 24, 5),
    }
    for name, (lp, kind, docs, systems) in specs.items():
        with open(folder / name, "w", encoding="utf-8") as handle:
            for doc in range(docs):
                for seg in range(3):
                    for system in range(systems + (1 if kind == "mqm" else 0)):
                        human_translation = kind == "mqm" and system == systems
                        q = 1.0 if human_translation else rng.random()
                        row = {
                            "lp": lp,
                            "doc": f"d{doc}",
                            "seg": seg,
                            "system": "ref-A" if human_translation else f"s{system}",
                            "mt": f"{lp} {doc} {seg} {system} q={q:.3f}",
                            "ref": f"reference {doc} {seg}",
                        }
                        if kind == "mqm":
                            major = q < 0.3
                            row.update(
                                is_human=human_translation,
                                set="general22_qe",
                                mqm_score=0.0 if q > 0.7 else -25 * (1 - q),
                                errors=[{"severity": "Major", "side": "target"}] if major else [],
                            )
                        else:
                            row.update(z=3 * q - 1.5, score=100 * q)
                        handle.write(json.dumps(row) + "\n")


def test_calibrate_and_evaluate_end_to_end_with_cache(tmp_path: Path, capsys) -> None:
    import numpy as np

    from mtcheck import calibrate, evaluate

    _write_data(tmp_path)
    out = tmp_path / "calibration.json"
    cache_dir = tmp_path / "cache"
    fitted = calibrate.main(tmp_path, out, seed=0, max_rows=None, cache_dir=cache_dir, scorer=_StubScorer())
    assert fitted["fit_rows"]["mqm"] > 0 and fitted["seed"] == 0
    # human translations never reach the fit
    assert any(r.is_human for r in calibrate.load_dataset(tmp_path, "mqm"))
    assert all(not r.is_human for r in calibrate.fitting_rows(tmp_path, None, 0))
    fit_rows = calibrate.fitting_rows(tmp_path, None, 0)
    assert fitted["fit_rows"]["mqm"] == sum(r.dataset == "mqm" for r in fit_rows)
    calib = Calibration.load(out)
    for scale in ("fluency", "adequacy", "quality", "adequacy_nolm", "quality_nolm"):
        assert calib.has(scale)
    assert 0 < calib.thresholds["rewrite"] < calib.thresholds["ok"] < 100
    cache_files = list(cache_dir.glob("features-*.jsonl"))
    assert len(cache_files) == 1 and cache_files[0].read_text().count("\n") > 0

    # the same fit again from the cache alone: a scorer that cannot compute features is never asked
    class NoFeatures(_StubScorer):
        def features(self, mt, ref):
            raise AssertionError("features should come from the cache")

    again = calibrate.main(tmp_path, tmp_path / "again.json", 0, None, cache_dir, scorer=NoFeatures())
    assert (tmp_path / "again.json").read_text() == out.read_text()
    assert again["thresholds"] == fitted["thresholds"]

    def run_evaluate(name: str, json_path, split: str, **options) -> dict:
        return evaluate.main(
            tmp_path / name, json_path, split, cache_dir=cache_dir, scorer=_StubScorer(calib), **options
        )

    capsys.readouterr()
    json_out = tmp_path / "eval.json"
    result = run_evaluate("mqm_zhen_dev.jsonl", json_out, "all")
    printed = capsys.readouterr().out
    assert "tau_item" in printed and "verdict bands" in printed
    saved = json.loads(json_out.read_text())
    assert saved["human_translations"]["rows"] == 24 * 3 and not saved["human_translations"]["included"]
    assert saved["rows"] == 24 * 3 * 5
    for name in ("quality", "fluency", "adequacy", "chrF", "BLEU", "cond_lm_mean_bits"):
        assert set(saved["metrics"][name]) == {"tau_item", "kendall", "pearson", "auc_major"}
    assert saved["metrics"]["quality"]["tau_item"] > 0.3  # the stub's features carry the quality
    assert set(saved["metrics_with_human"]) == {"quality", "fluency", "adequacy", "chrF", "BLEU"}
    bands = saved["verdict_bands"]
    assert bands["rows"] == saved["rows"]
    assert sum(bands["band_share"].values()) == pytest.approx(1.0, abs=1e-3)
    assert bands["groups"]["major_error"]["in_rewrite"] > bands["groups"]["error_free"]["in_rewrite"]
    assert bands["groups"]["error_free"]["in_ok"] > bands["groups"]["major_error"]["in_ok"]
    assert result["metrics"]["quality"]["tau_item"] == pytest.approx(saved["metrics"]["quality"]["tau_item"])
    included = run_evaluate("mqm_zhen_dev.jsonl", None, "all", include_human=True)
    assert included["rows"] == 24 * 3 * 6 and "metrics_with_human" not in included
    assert "note" not in included
    train = run_evaluate("wmt22_jaen_uken_da_train.jsonl", None, "holdout")
    assert "not held-out" in train["note"]
    assert np.isfinite(included["metrics"]["quality"]["auc_major"])


def test_verdict_bands_on_known_values() -> None:
    from mtcheck.calibrate import Row
    from mtcheck.evaluate import verdict_bands

    def da(score: float) -> Row:
        return Row("ruen", "ru-en", "d", 0, "s", "m", "r", 0.0, da_raw=score)

    rows = [da(30), da(40), da(90), da(85), da(60), Row("ruen", "ru-en", "d", 0, "s", "m", "r", 0.0)]
    quality = [10.0, 60.0, 80.0, 20.0, 40.0, 5.0]  # the last row has no raw rating: left out
    bands = verdict_bands(quality, rows, {"rewrite": 25.0, "ok": 50.0})
    assert bands["rows"] == 5
    assert bands["groups"]["da_below_50"] == {"n": 2, "in_rewrite": 0.5, "in_review": 0.0, "in_ok": 0.5}
    assert bands["groups"]["da_80_plus"] == {"n": 2, "in_rewrite": 0.5, "in_review": 0.0, "in_ok": 0.5}
    assert bands["band_share"] == {"rewrite": 0.4, "review": 0.2, "ok": 0.4}
    assert bands["bad_rate_in_band"]["rewrite"] == 0.5


def test_feature_cache_is_keyed_by_feature_signature(tmp_path: Path) -> None:
    from mtcheck.calibrate import FeatureCache

    class Other(_StubScorer):
        feature_signature = "features:other"

    first = FeatureCache(tmp_path, _StubScorer())
    first.add([("mt", "ref")], [{"chrf": 1.0}])
    assert FeatureCache(tmp_path, _StubScorer()).get("mt", "ref") == {"chrf": 1.0}
    assert FeatureCache(tmp_path, Other()).get("mt", "ref") is None


def test_calibrate_and_evaluate_commands_take_a_cache_dir() -> None:
    from click.testing import CliRunner

    from mtcheck.cli import cli

    runner = CliRunner()
    for command in ("calibrate", "evaluate"):
        result = runner.invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and "--cache-dir" in result.output and "--seed" in result.output
    # the defaults reproduce the shipped file
    defaults = {p.name: p.default for p in cli.commands["calibrate"].params}
    shipped = Calibration.load()
    assert defaults["seed"] == shipped.data["seed"]
    assert defaults["max_rows"] == shipped.data.get("max_rows", defaults["max_rows"])
