"""A batch stopped halfway resumes: every report is written atomically, finished articles are skipped,
and the rerun ends with exactly one report per article and an index listing all of them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mtcheck.batch import LEDGER_DIR
from mtcheck.models import resolve_precision
from mtcheck.report import write_atomic

from .conftest import REPO, make_articles

ARTICLES = 12


def batch(inputs: Path, out: Path, model: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mtcheck", "batch", str(inputs), "-o", str(out), "--model", str(model)]
    return subprocess.run([*command, *extra], capture_output=True, text=True, cwd=REPO, timeout=300)


def report_files(out: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(out.iterdir()) if path.is_file()}


def assert_same_results(got: dict[str, bytes], want: dict[str, bytes]) -> None:
    """The same report files with the same units, links, flags and verdicts; scores equal but for the
    MiniLM cosine, which in bf16 moves with the other articles in its batch (a resumed run batches the
    remaining articles differently)."""
    assert sorted(got) == sorted(want)
    index = got["index.html"].decode("utf-8")
    for name in want:
        if not name.endswith(".jsonl"):
            continue
        assert f'href="{name[: -len(".jsonl")]}.html"' in index
        mine = [json.loads(line) for line in got[name].decode("utf-8").splitlines()]
        theirs = [json.loads(line) for line in want[name].decode("utf-8").splitlines()]
        assert len(mine) == len(theirs)
        for a, b in zip(mine, theirs, strict=True):
            a_scores, b_scores = a.pop("scores"), b.pop("scores")
            assert a == b
            assert a_scores.pop("similarity") == pytest.approx(b_scores.pop("similarity"), abs=0.01)
            assert a_scores == b_scores


@pytest.fixture(scope="module")
def wire(tmp_path_factory) -> Path:
    return make_articles(tmp_path_factory.mktemp("wire"), ARTICLES)


@pytest.fixture(scope="module")
def uninterrupted(wire: Path, tiny_model: Path, tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("whole")
    done = batch(wire, out, tiny_model)
    assert done.returncode == 0, done.stderr
    return report_files(out)


def test_a_killed_batch_resumes_where_it_stopped(wire, tiny_model, uninterrupted, tmp_path):
    out = tmp_path / "reports"
    command = [
        sys.executable,
        "-m",
        "mtcheck",
        "batch",
        str(wire),
        "-o",
        str(out),
        "--model",
        str(tiny_model),
    ]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ledger = out / LEDGER_DIR
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if ledger.is_dir() and len(list(ledger.glob("*.json"))) >= 2:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the batch ended before it could be killed midway"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    finished = len(list(ledger.glob("*.json")))
    assert 2 <= finished < ARTICLES
    assert not (out / "index.html").exists()

    rerun = batch(wire, out, tiny_model)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{finished} article(s) already reported" in rerun.stderr
    # Exactly one report of each kind per article, no temporary file left, the results of a run that was
    # never stopped, and an index that lists every article.
    assert_same_results(report_files(out), uninterrupted)
    assert not list(out.glob(".*.tmp"))
    assert len(list(out.glob("*.jsonl"))) == ARTICLES


def test_a_rerun_redoes_only_what_changed_and_force_redoes_all(wire, tiny_model, uninterrupted, tmp_path):
    out = tmp_path / "reports"
    assert batch(wire, out, tiny_model).returncode == 0
    story = wire / "story03.mt.txt"
    original = story.read_bytes()
    try:
        story.write_bytes(original.replace(b"Putin", b"Medvedev", 1))
        changed = batch(wire, out, tiny_model)
        assert (
            f"{ARTICLES - 1} article(s) already reported with the same inputs; checking the other 1 "
            in changed.stderr
        )
        assert b"Medvedev" in (out / "story03.jsonl").read_bytes()
    finally:
        story.write_bytes(original)
    forced = batch(wire, out, tiny_model, "--force")
    assert forced.returncode == 0
    assert "already reported" not in forced.stderr
    assert report_files(out) == uninterrupted  # the same windows as the first run: the same bytes


def test_a_rerun_with_other_settings_rescores(wire, tiny_model, tmp_path):
    out = tmp_path / "reports"
    assert batch(wire, out, tiny_model).returncode == 0
    # The precision other than the one `auto` (the default) picks on this CPU.
    precision = "fp32" if resolve_precision("auto") == "bf16" else "bf16"
    other = batch(wire, out, tiny_model, "--precision", precision)
    assert other.returncode == 0
    assert "already reported" not in other.stderr
    assert f"prec:{precision}" in (out / "index.html").read_text(encoding="utf-8")


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "story.html"
    write_atomic(target, "old report")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new report that never lands")
    assert target.read_text() == "old report"
    assert [path.name for path in tmp_path.iterdir()] == ["story.html"]
