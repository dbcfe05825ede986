"""Batch driving: windows of articles prefetched together, failures isolated, nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtcheck.batch import Job, run_batch
from mtcheck.types import ArticleResult, InputError


def _jobs(names: list[str]) -> list[Job]:
    return [Job(doc=name, mt=Path(f"{name}.mt.txt"), ref=Path(f"{name}.ref.txt")) for name in names]


def test_run_batch_prefetches_each_window_and_keeps_going_past_failures():
    jobs = _jobs([f"a{i}" for i in range(7)])
    windows: list[list[str]] = []
    checked: list[str] = []
    kept: list[str] = []
    ticks = []

    def prefetch(chunk: list[Job]) -> None:
        windows.append([job.doc for job in chunk])
        if len(windows) == 2:
            raise InputError("a bad file in this window")  # must not stop the batch

    def check(job: Job) -> ArticleResult:
        checked.append(job.doc)
        if job.doc == "a3":
            raise InputError("a3: the MT text has no sentences; check the file")
        return ArticleResult(doc=job.doc, units=[], ref_kind="reference", signature="s")

    failures = run_batch(
        jobs, check, lambda r: kept.append(r.doc), prefetch=prefetch, window=3, done=lambda: ticks.append(1)
    )
    assert windows == [["a0", "a1", "a2"], ["a3", "a4", "a5"], ["a6"]]
    assert checked == [job.doc for job in jobs]  # each window is prefetched before its jobs are checked
    assert kept == ["a0", "a1", "a2", "a4", "a5", "a6"]
    assert failures == [("a3", "a3: the MT text has no sentences; check the file")]
    assert len(ticks) == len(jobs)


def test_a_bug_on_one_article_costs_only_that_article():
    """An unexpected error (a bug, not bad input) in one check or in a prefetch is listed as that article's
    one-line failure; the batch goes on and keeps every other result."""
    kept: list[str] = []

    def prefetch(chunk: list[Job]) -> None:
        raise KeyError((1, 39))

    def check(job: Job) -> ArticleResult:
        if job.doc == "a1":
            raise KeyError((1, 39))
        return ArticleResult(doc=job.doc, units=[], ref_kind="reference", signature="s")

    failures = run_batch(_jobs(["a0", "a1", "a2"]), check, lambda r: kept.append(r.doc), prefetch=prefetch)
    assert kept == ["a0", "a2"]
    assert [doc for doc, _ in failures] == ["a1"]
    reason = failures[0][1]
    assert reason.startswith("internal error (KeyError: (1, 39))") and "-v" in reason
    assert "\n" not in reason


def test_prefetch_embeds_ahead_and_changes_no_result(corpora: Path):
    from mtcheck.io import read_text
    from mtcheck.pipeline import Checker, CheckOptions

    mt = read_text(corpora / "putin_syria.mt.txt")
    ref = read_text(corpora / "putin_syria.ref.txt")
    retrans = read_text(corpora / "putin_syria.retrans.txt")

    # float32: in bf16 a batch's other members move scores by a few tenths of a point, which is
    # rounding, not a change of result (the benchmark measures bf16 against float32).
    options = CheckOptions(precision="fp32")
    plain = Checker(options)
    expected = [plain.check("a", mt, ref), plain.check("b", mt, retrans, ref_kind="retranslation")]

    ahead = Checker(options)
    # A memo smaller than the window: the prefetch must make room, or the checks would embed again.
    ahead.embedder.memo_size = ahead.embedder._memo.size = 8
    run_texts: list[str] = []
    real_run = ahead.embedder._run
    ahead.embedder._run = lambda texts: run_texts.extend(texts) or real_run(texts)
    predicted_units: list[int] = []
    real_predict = ahead.metric.predict
    ahead.metric.predict = lambda mt, ref: predicted_units.append(len(mt)) or real_predict(mt, ref)
    ahead.prefetch([(mt, ref, None), (mt, retrans, None), ("", ref, None)])  # the empty one is skipped
    prefetched_texts = len(run_texts)
    assert len(predicted_units) == 1  # both articles' units in one call to the metric
    got = [ahead.check("a", mt, ref), ahead.check("b", mt, retrans, ref_kind="retranslation")]
    # Checking predicted again only units the two articles share (taken by the first) and omissions.
    shared_or_empty = [
        u for u in got[1].units if not u.mt or (u.mt, u.ref) in {(v.mt, v.ref) for v in got[0].units}
    ]
    assert sum(predicted_units[1:]) <= len(shared_or_empty) + sum(not u.mt for u in got[0].units)
    with pytest.raises(InputError, match="no sentences"):
        ahead.check("empty", "", ref)

    # Every sentence went through MiniLM in the prefetch; checking ran only multi-sentence units.
    units = [u for result in got for u in result.units if len(u.mt_ids) > 1 or len(u.ref_ids) > 1]
    assert len(run_texts) - prefetched_texts <= 2 * len(units)
    assert not ahead._segmented and not ahead._aligned  # each prefetched article was taken once
    assert not ahead._predicted
    for a, b in zip(expected, got, strict=True):
        assert [(u.mt_ids, u.ref_ids, u.verdict) for u in a.units] == [
            (u.mt_ids, u.ref_ids, u.verdict) for u in b.units
        ]
        for ua, ub in zip(a.units, b.units, strict=True):
            assert ua.scores.quality == ub.scores.quality or abs(ua.scores.quality - ub.scores.quality) < 1e-4
            assert [(f.start, f.end, f.category) for f in ua.flags] == [
                (f.start, f.end, f.category) for f in ub.flags
            ]


def test_prefetch_files_reads_each_file_once(corpora: Path, tmp_path: Path, monkeypatch):
    """`mtcheck batch` prefetches by path: each file is read once, in the prefetch, and a file that can't be
    read is left for its own check, which reports it."""
    from mtcheck import pipeline

    reads: list[str] = []
    real_read = pipeline.read_text
    monkeypatch.setattr(pipeline, "read_text", lambda path: reads.append(Path(path).name) or real_read(path))
    mt, ref = corpora / "putin_syria.mt.txt", corpora / "putin_syria.ref.txt"
    empty = tmp_path / "empty.mt.txt"
    empty.write_text("  \n", encoding="utf-8")
    checker = pipeline.Checker(pipeline.CheckOptions())
    checker.prefetch_files([(mt, ref, None), (empty, ref, None)])
    assert sorted(reads) == ["empty.mt.txt", "putin_syria.mt.txt", "putin_syria.ref.txt"]
    result = checker.check_files("seed", mt, ref)
    assert len(reads) == 3  # taken from the read-ahead, not read again
    assert result.units and result.mt_path == str(mt)
    with pytest.raises(InputError, match="whitespace"):
        checker.check_files("empty", empty, ref)
    assert not checker._read and not checker._segmented


def test_fast_mode_runs_no_embedder_and_changes_nothing_else(corpora: Path):
    """`--fast`: the same units, scores, flags and verdicts as the full mode, with no similarity column,
    no embedder call (in the prefetch or the check) and `emb:none` in the signature."""
    from mtcheck.io import read_text
    from mtcheck.pipeline import Checker, CheckOptions

    mt = read_text(corpora / "putin_syria.mt.txt")
    ref = read_text(corpora / "putin_syria.ref.txt")
    full = Checker(CheckOptions(precision="fp32")).check("a", mt, ref)
    fast = Checker(CheckOptions(precision="fp32", fast=True))
    fast.embedder._run = lambda texts: pytest.fail(f"fast mode embedded {texts[:1]}")
    fast.prefetch([(mt, ref, None)])
    got = fast.check("a", mt, ref)
    assert [(u.mt_ids, u.ref_ids, u.verdict, u.flags) for u in got.units] == [
        (u.mt_ids, u.ref_ids, u.verdict, u.flags) for u in full.units
    ]
    for a, b in zip(full.units, got.units, strict=True):
        assert b.scores.similarity is None and (a.scores.similarity is not None or not (a.mt and a.ref))
        assert abs((a.scores.quality or 0) - (b.scores.quality or 0)) < 1e-4
        assert (a.scores.chrf, a.scores.ter) == (b.scores.chrf, b.scores.ter)
    assert "|emb:none|" in got.signature and "|emb:none|" not in full.signature
    with pytest.raises(InputError, match="--fast"):
        CheckOptions(fast=True, align_embeddings=True)
