"""`mtcheck batch --engine ray` on a local Ray cluster gives what the single-process run gives."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from .conftest import make_articles

ray = pytest.importorskip("ray")

from click.testing import CliRunner  # noqa: E402

from mtcheck.batch import discover  # noqa: E402
from mtcheck.cli import cli  # noqa: E402
from mtcheck.distributed import CheckerSpec, run_batch_ray  # noqa: E402
from mtcheck.pipeline import Checker, CheckOptions  # noqa: E402


def run(*args: str):
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stderr


def units(out: Path) -> dict[str, list[dict]]:
    return {
        path.stem: [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        for path in sorted(out.glob("*.jsonl"))
    }


@pytest.fixture(scope="module")
def wire(tmp_path_factory, corpora: Path) -> Path:
    """The seed article and its retranslation, generated articles, and a bad one."""
    folder = make_articles(tmp_path_factory.mktemp("wire"), 20)
    for file in corpora.glob("putin_syria.*.txt"):
        shutil.copy(file, folder / file.name)
    (folder / "broken.mt.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (folder / "broken.ref.txt").write_text("A reference.", encoding="utf-8")
    return folder


def test_ray_run_matches_the_single_process_run(wire: Path, tmp_path: Path):
    """float32, so the comparison is exact to rounding: under bf16 a worker's one thread sums in another
    order than the two threads of one process, and scores move by bf16's noise (a few tenths)."""
    local, distributed = tmp_path / "local", tmp_path / "ray"
    assert run("batch", str(wire), "-o", str(local), "--precision", "fp32")[0] == 1  # broken is listed
    code, err = run(
        "batch", str(wire), "-o", str(distributed), "--precision", "fp32", "--engine", "ray", "--workers", "2"
    )
    assert code == 1, err
    assert "skipped broken:" in err and "looks like a PNG image" in err
    expected, got = units(local), units(distributed)
    assert sorted(got) == sorted(expected) and len(got) == 22
    for doc, records in expected.items():
        assert len(got[doc]) == len(records)
        for want, have in zip(records, got[doc], strict=True):
            assert (have["mt_ids"], have["ref_ids"], have["verdict"]) == (
                want["mt_ids"],
                want["ref_ids"],
                want["verdict"],
            )
            assert [(f["start"], f["end"], f["severity"], f["category"]) for f in have["flags"]] == [
                (f["start"], f["end"], f["severity"], f["category"]) for f in want["flags"]
            ]
            for name, value in want["scores"].items():
                assert (have["scores"][name] is None) == (value is None)
                if value is not None:
                    # Reports round to 0.01: a summation-order difference of 1e-6 can still land one
                    # rounding step apart (seen on an AVX2-only host: 51.88 against 51.87).
                    assert have["scores"][name] == pytest.approx(value, abs=0.015), (doc, name)
    index = (distributed / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{doc}.html"' in index for doc in expected)


def _dies_on_doomed_story():
    """A checker that kills its worker process on one article (a stand-in for a crash or an OOM kill)."""

    class Doomed(Checker):
        def check(self, doc, *args, **kwargs):
            if doc == "story01":
                os._exit(1)
            return super().check(doc, *args, **kwargs)

    return Doomed(CheckOptions())


def test_a_dead_worker_costs_only_its_article(wire: Path):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    jobs, _ = discover(wire)
    jobs = [job for job in jobs if job.doc.startswith("story")][:6]
    results = []
    failures = run_batch_ray(
        jobs, CheckerSpec(None, factory=_dies_on_doomed_story), results.append, workers=2
    )
    assert sorted(r.doc for r in results) == sorted(j.doc for j in jobs if j.doc != "story01")
    assert failures == [("story01", failures[0][1])]
    assert "worker checking it died twice" in failures[0][1]


def test_ray_missing_is_a_one_line_error(monkeypatch, wire: Path, tmp_path: Path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    code, err = run("batch", str(wire), "-o", str(tmp_path), "--engine", "ray")
    assert code == 2
    assert (
        err.strip()
        == "mtcheck: error: --engine ray needs Ray: pip install 'mtcheck[ray]' (or pip install 'ray>=2.40')"
    )
