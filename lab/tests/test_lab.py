"""The lab's own pieces: the split, the statistics, the error generator and the benchmark driver."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from lab import synth
from lab.data import document_half, in_split
from lab.stats import auc, span_f1, tau_item

REPO = Path(__file__).resolve().parents[2]
CLEAN = "He said on Monday that the 12 countries will not sign their deal with Russia."


def test_split_is_fixed_by_document() -> None:
    halves = {document_half("ru-en", f"doc{i}") for i in range(50)}
    assert halves == {"fit", "holdout"}
    assert document_half("ru-en", "doc1") == document_half("ru-en", "doc1")
    assert in_split("ru-en", "doc1", "all")
    with pytest.raises(ValueError):
        in_split("ru-en", "doc1", "train")


def test_tau_item_span_f1_and_auc() -> None:
    items = ["a", "a", "a", "b", "b"]
    assert tau_item([1, 2, 3, 5, 4], [10, 20, 30, 1, 2], items) == pytest.approx((1.0 - 1.0) / 2)
    assert tau_item([1, 1, 1, 1, 1], [1, 2, 3, 1, 2], items) == 0.0  # no credit for ties
    figures = span_f1([[(0, 4)]], [[(2, 6)]], [10])
    assert (figures["precision"], figures["recall"], figures["f1"]) == (0.5, 0.5, 0.5)
    assert auc([0.9, 0.8, 0.1], [True, True, False]) == 1.0


@pytest.mark.parametrize("kind", synth.ERROR_TYPES)
def test_every_injection_marks_its_damage(kind: str) -> None:
    rng = random.Random(3)
    src = "Министр заявил, что 12 стран не подпишут сделку."
    hits = [synth.inject(CLEAN, rng, src=src, kind=kind) for _ in range(20)]
    hits = [h for h in hits if h is not None]
    assert hits, kind
    for hit in hits:
        assert hit.kind == kind and hit.text != CLEAN
        for start, end, severity, category in hit.spans:
            assert 0 <= start < end <= len(hit.text)
            assert severity in ("minor", "major", "critical") and category in ("accuracy", "fluency")
    if kind == "truncation":
        assert all(CLEAN.startswith(h.text) for h in hits)
    if kind == "untranslated":
        assert all(synth.SCRIPT.search(h.text[a:b]) for h in hits for a, b, _, _ in h.spans)


def test_generator_is_seeded() -> None:
    one = [synth.inject(CLEAN, random.Random(5)).text for _ in range(3)]
    assert len(set(one)) == 1


def test_benchmark_drives_the_batch_runner(tmp_path: Path, monkeypatch) -> None:
    from lab import bench

    monkeypatch.chdir(REPO)  # the bundled corpora/
    figures = bench.main(None, 40, tmp_path / "bench.json")
    assert figures["mt_sentences"] >= 40
    assert figures["articles"] == len(list((tmp_path / "bench_reports").glob("*.jsonl")))
    assert {"metric", "align", "flag", "report"} <= set(figures["stage_share"])
    assert 0 < sum(figures["stage_share"].values()) <= 1.0


def test_within_item_term_needs_items_drawn_whole(tmp_path: Path) -> None:
    from lab.train import Settings, train

    with pytest.raises(ValueError, match="da_draw 'items'"):
        train(tmp_path / "no-data", tmp_path / "out", Settings(rank_loss=2.0))


def test_references_are_shown_as_clean_copies() -> None:
    import random

    import numpy as np

    from lab.data import Row
    from lab.train import Corpus

    def row(doc: str, ref: str, dataset: str = "da") -> Row:
        return Row(dataset, "ru-en", doc, 0, "sys", "src", f"MT of {doc}", ref, -1.0)

    corpus = Corpus.__new__(Corpus)  # only the rows and the MQM scale matter here
    corpus.da = [row("a", "The talks resumed."), row("b", "The talks resumed."), row("c", "Prices rose.")]
    corpus.mqm = [row("d", "Rain fell.", "mqm")]
    corpus.mqm_scores, corpus.mqm_normal = np.array([-10.0, -1.0, 0.0]), np.array([-1.0, 0.0, 0.6])
    examples = corpus.identity_examples(random.Random(1), 10)
    assert sorted(e.mt for e in examples) == ["Prices rose.", "Rain fell.", "The talks resumed."]
    assert all(e.mt == e.ref and e.spans == [] and e.targets == (0.6, 0.6, 0.6) for e in examples)
    assert len(corpus.identity_examples(random.Random(1), 2)) == 2


def test_cli_benchmark_article_is_whole_paragraphs_of_both_sides() -> None:
    from lab.bench_cli import first_paragraphs
    from mtcheck.segment import segment

    mt, ref, found = first_paragraphs(30)
    assert found == len(segment(mt)) >= 30
    assert len(mt.split("\n\n")) == len(ref.split("\n\n"))
    assert len(segment(first_paragraphs(29)[0])) <= found  # the fewest paragraphs that reach the count


def test_the_trainer_keeps_the_epoch_best_on_the_dev_rule() -> None:
    from lab.train import best_epoch

    def figures(epoch: int, ruen: float, mqm: float, f1: float) -> dict:
        return {"epoch": epoch, "ruen_tau_item": ruen, "mqm_tau_item": mqm, "mqm_major_f1@0.5": f1}

    # The four-epoch run of docs/2026-12-02-four-epochs.md: the third epoch, not the last.
    history = [
        figures(1, 0.0665, 0.0865, 0.1140),
        figures(2, 0.0807, 0.0868, 0.1063),
        figures(3, 0.1337, 0.1042, 0.1474),
        figures(4, 0.0971, 0.0948, 0.1419),
    ]
    assert best_epoch(history) == 3
    # The sum decides, not any one figure: better rankings do not outweigh a much worse span F1.
    assert best_epoch([figures(1, 0.10, 0.10, 0.20), figures(2, 0.12, 0.12, 0.10)]) == 1
    assert best_epoch([figures(1, 0.1, 0.1, 0.1), figures(2, 0.1, 0.1, 0.1)]) == 1


def test_verdict_cuts_are_fitted_on_the_scale_the_product_shows(tmp_path: Path) -> None:
    """A folder fresh from training has no knots: the cuts must still be taken on the knots' scale, so that
    the product, reading the folder afterwards, puts OK_CUT_SHARE of the clean rows under the ok cut."""
    import json

    import numpy as np

    from lab.calibrate import OK_CUT_SHARE, REWRITE_CUT_SHARE, verdict_cuts
    from mtcheck.metric import load_metric
    from mtcheck.neural import Knots
    from tests.conftest import make_tiny_model

    folder = make_tiny_model(tmp_path / "model")
    rng = np.random.default_rng(0)
    dev_raw = rng.normal(0.0, 0.3, 500)  # all dev rows: what the knots are fitted on
    clean_raw = rng.normal(0.2, 0.1, 200)  # error-free human translations among them
    knots = {"ref": {head: Knots.fit(dev_raw).__dict__ for head in ("quality", "adequacy", "fluency")}}
    cuts = verdict_cuts(load_metric(folder), knots, clean_raw)

    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "knots": knots, "verdict": cuts}))
    shown = np.array([load_metric(folder).to_scale(float(r), "ref", "quality") for r in clean_raw])
    assert abs(np.mean(shown < cuts["ok"]) - OK_CUT_SHARE) <= 0.01
    assert abs(np.mean(shown < cuts["rewrite"]) - REWRITE_CUT_SHARE) <= 0.01
