"""End-to-end: the CLI on the bundled seed corpus, the output contract, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from mtcheck.cli import cli
from mtcheck.types import SEVERITIES, VERDICTS

SCORE_KEYS = {"chrf", "bleu", "ter", "similarity", "fluency", "adequacy", "quality"}
FLAG_KEYS = {"start", "end", "text", "category", "severity", "detector", "reason"}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory, corpora: Path) -> Path:
    """The seed corpus plus a bad article of each kind, checked once for the whole module."""
    src = tmp_path_factory.mktemp("wire")
    for file in corpora.glob("putin_syria.*.txt"):
        shutil.copy(file, src / file.name)
    (src / "empty.mt.txt").write_text("  \n", encoding="utf-8")
    (src / "empty.ref.txt").write_text("Some reference text.\n", encoding="utf-8")
    (src / "binary.mt.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (src / "binary.ref.txt").write_text("A reference.\n", encoding="utf-8")
    (src / "lonely.mt.txt").write_text("A sentence with no partner.\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("reports")
    code, _, err = run("batch", str(src), "--output", str(out))
    return out, code, err


def test_batch_keeps_good_results_and_lists_bad_ones(batch_dir):
    out, code, err = batch_dir
    assert code == 1, err  # partial success
    summary = pd.read_csv(out / "summary.csv")
    assert {"putin_syria", "putin_syria.retrans"} <= set(summary["doc"])
    for doc in ("putin_syria", "putin_syria.retrans"):
        for ext in ("jsonl", "csv", "html"):
            assert (out / f"{doc}.{ext}").stat().st_size > 0
    index = (out / "index.html").read_text(encoding="utf-8")
    for bad in ("empty", "binary", "lonely"):
        assert bad in index
        assert bad in err


def test_jsonl_output_contract(batch_dir):
    out, _, _ = batch_dir
    records = [
        json.loads(line) for line in (out / "putin_syria.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [r["unit"] for r in records] == list(range(len(records)))
    seen_mt, seen_ref = [], []
    for r in records:
        assert r["doc"] == "putin_syria"
        assert r["link"] == f"{len(r['mt_ids'])}-{len(r['ref_ids'])}"
        assert set(r["scores"]) == SCORE_KEYS
        assert r["verdict"] in VERDICTS
        assert (r["mt"] == "") == (not r["mt_ids"])
        assert (r["ref"] == "") == (not r["ref_ids"])
        for flag in r["flags"]:
            assert set(flag) >= FLAG_KEYS
            assert r["mt"][flag["start"] : flag["end"]] == flag["text"]
            assert flag["severity"] in SEVERITIES
        seen_mt += r["mt_ids"]
        seen_ref += r["ref_ids"]
    # Every sentence of both texts appears exactly once, in order.
    assert seen_mt == list(range(len(seen_mt)))
    assert seen_ref == list(range(len(seen_ref)))
    # The corpus was written with boundary differences: the aligner must find some non 1-1 links.
    assert {r["link"] for r in records} - {"1-1"}
    headline = records[0]
    assert headline["mt"].startswith("Putin: Russia aims")
    assert headline["verdict"] != "ok"
    assert any(f["severity"] in ("major", "critical") for f in headline["flags"])


def test_csv_matches_jsonl(batch_dir):
    out, _, _ = batch_dir
    frame = pd.read_csv(out / "putin_syria.csv")
    lines = (out / "putin_syria.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(frame) == len(lines)
    assert set(frame.columns) >= SCORE_KEYS


def test_index_ranks_worst_first(batch_dir):
    out, _, _ = batch_dir
    summary = pd.read_csv(out / "summary.csv")
    scored = summary[summary["status"] == "ok"]
    # The MT scored against its human reference and against a retranslation: both ranked, worst first.
    assert list(scored["rank"]) == [1, 2]
    assert list(scored["rewrite_share"]) == sorted(scored["rewrite_share"], reverse=True)
    assert set(summary.loc[summary["status"] == "failed", "doc"]) == {"empty", "binary", "lonely"}
    assert "signature" in (out / "putin_syria.html").read_text(encoding="utf-8").lower()


def test_reviewed_seed_table_matches_the_pipeline(batch_dir, corpora: Path):
    """corpora/seed_flags.md is reviewed by hand: it must show what the pipeline says now (same MT, verdict
    and flags per unit, same counts), or its review is of output nobody gets any more. When this fails,
    rerun scripts/seed_table.py and read again the units it lists."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("seed_table", corpora.parent / "scripts" / "seed_table.py")
    seed_table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(seed_table)
    out, _, _ = batch_dir
    ref_units = seed_table.read_jsonl(out / "putin_syria.jsonl")
    rt_units = seed_table.read_jsonl(out / "putin_syria.retrans.jsonl")
    markdown = (corpora / "seed_flags.md").read_text(encoding="utf-8")
    rows = seed_table.parse_rows(markdown)
    assert sorted(rows) == [u["unit"] for u in ref_units]
    for unit in ref_units:
        row = rows[unit["unit"]]
        assert row["mt"] == seed_table.mt_cell(unit)
        assert row["verdict"] == unit["verdict"], f"unit {unit['unit']}"
        assert row["flags"] == seed_table.flags_cell(unit), f"unit {unit['unit']}"
        assert row["review"] and not row["review"].startswith("(to review)"), f"unit {unit['unit']}"
    assert seed_table.header_line(ref_units, rt_units) in markdown


def test_score_to_stdout_is_jsonl_only(corpora: Path):
    code, out, _ = run(
        "score",
        str(corpora / "putin_syria.mt.txt"),
        "--ref",
        str(corpora / "putin_syria.ref.txt"),
        "--output",
        "-",
    )
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert records and all(r["doc"] == "putin_syria" for r in records)


def test_aligned_mode_refuses_different_line_counts(tmp_path: Path):
    (tmp_path / "a.txt").write_text("One.\nTwo.\nThree.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("One.\nTwo.\n", encoding="utf-8")
    code, _, err = run(
        "score", str(tmp_path / "a.txt"), "--ref", str(tmp_path / "b.txt"), "--aligned", "-o", "-"
    )
    assert code == 2
    assert "line" in err and len(err.strip().splitlines()) == 1


def test_aligned_mode_one_record_per_line(tmp_path: Path):
    mt = "The minister met the delegation on Monday.\nPrices rose by 3.5 percent in October.\n"
    ref = "The minister met the delegation on Monday.\nPrices went up 3.5 percent in October.\n"
    (tmp_path / "a.txt").write_text(mt, encoding="utf-8")
    (tmp_path / "b.txt").write_text(ref, encoding="utf-8")
    code, out, _ = run(
        "score", str(tmp_path / "a.txt"), "--ref", str(tmp_path / "b.txt"), "--aligned", "-o", "-"
    )
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["mt_ids"], r["ref_ids"]) for r in records] == [([0], [0]), ([1], [1])]


def test_unexpected_error_is_one_line_and_exit_2(monkeypatch, corpora: Path):
    """A bug (not bad input) still ends in one line that says what to do, not a traceback."""
    from mtcheck.pipeline import Checker

    def broken(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(Checker, "check_files", broken)
    code, _, err = run(
        "score", str(corpora / "putin_syria.mt.txt"), "--ref", str(corpora / "putin_syria.ref.txt"), "-o", "-"
    )
    assert code == 2
    assert err.strip() == (
        "mtcheck: error: internal error (RuntimeError: boom); please report it with this article, "
        "and rerun with -v for the traceback"
    )


def test_mismatched_pair_is_refused(tmp_path: Path, corpora: Path):
    other = tmp_path / "weather.txt"
    other.write_text(
        "Heavy snow closed schools across the north of England on Tuesday.\n\n"
        "Forecasters expect temperatures to fall to minus ten degrees overnight.\n\n"
        "Rail operators cancelled dozens of trains and warned of further delays.\n",
        encoding="utf-8",
    )
    code, _, err = run("score", str(corpora / "putin_syria.mt.txt"), "--ref", str(other), "-o", "-")
    assert code == 2
    assert "different stories" in err and len(err.strip().splitlines()) == 1


def test_fast_flag_skips_the_embedder(tmp_path: Path, corpora: Path):
    mt, ref = corpora / "putin_syria.mt.txt", corpora / "putin_syria.ref.txt"
    code, _, _ = run("score", str(mt), "--ref", str(ref), "--fast", "-o", str(tmp_path))
    lines = (tmp_path / "putin_syria.jsonl").read_text(encoding="utf-8").splitlines()
    assert code == 0 and lines
    assert all(json.loads(line)["scores"]["similarity"] is None for line in lines)
    assert "|emb:none|" in (tmp_path / "putin_syria.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02binary\x00"])
def test_bad_single_input_is_one_line_error(tmp_path: Path, corpora: Path, content: bytes):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    code, _, err = run("score", str(bad), "--ref", str(corpora / "putin_syria.ref.txt"), "-o", "-")
    assert code == 2
    assert err.startswith("mtcheck: error:") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("option", ["--embedder", "--model"])
def test_missing_model_folder_is_one_line_error(tmp_path: Path, corpora: Path, option: str):
    code, _, err = run(
        "score",
        str(corpora / "putin_syria.mt.txt"),
        "--ref",
        str(corpora / "putin_syria.ref.txt"),
        option,
        str(tmp_path / "no-such-model"),
        "-o",
        "-",
    )
    assert code == 2
    assert "no-such-model" in err and len(err.strip().splitlines()) == 1


def test_manifest_batch(tmp_path: Path, corpora: Path):
    manifest = tmp_path / "jobs.csv"
    manifest.write_text(
        "doc,mt,ref\n"
        f"seed,{corpora / 'putin_syria.mt.txt'},{corpora / 'putin_syria.ref.txt'}\n"
        f"gone,{tmp_path / 'missing.mt.txt'},{corpora / 'putin_syria.ref.txt'}\n"
        # Rows that can't form a job are listed and skipped; they must not stop the batch.
        f"noref,{corpora / 'putin_syria.mt.txt'},\n"
        f"oddkind,{corpora / 'putin_syria.mt.txt'},{corpora / 'putin_syria.ref.txt'},retranslated\n"
        f"seed,{corpora / 'putin_syria.mt.txt'},{corpora / 'putin_syria.retrans.txt'}\n",
        encoding="utf-8",
    )
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace("doc,mt,ref\n", "doc,mt,ref,ref_kind\n"),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code, _, err = run("batch", str(manifest), "-o", str(out))
    assert code == 1
    assert (out / "seed.html").exists()
    index = (out / "index.html").read_text(encoding="utf-8")
    for name in ("gone", "noref", "oddkind"):
        assert name in index and f"skipped {name}:" in err
    assert (
        "line 4 has no ref path" in err
        and "line 5: ref_kind must be one of reference, retranslation, not 'retranslated'" in err
    )
    assert "line 6 repeats the doc name 'seed'" in err  # the first seed's report is not overwritten
    first = json.loads((out / "seed.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["ref"] == "Putin: Russia not seeking leadership in Syria, aims to work on settlement"


def test_source_text_is_aligned_across_languages_and_compared(tmp_path: Path):
    # Article mode: the Russian source is split and aligned to the MT sentences with the multilingual
    # encoder; each unit gets the source behind it and a cross-lingual similarity.
    mt = (
        "The minister met the delegation on Monday. Prices rose by 3.5 percent in October. "
        "The bank will announce its decision on Friday."
    )
    ref = (
        "The minister met the delegation on Monday. Prices went up 3.5 percent in October. "
        "The bank is to announce its decision on Friday."
    )
    src = (
        "Министр встретился с делегацией в понедельник. Цены выросли на 3,5 процента в октябре. "
        "Банк объявит о своем решении в пятницу."
    )
    for name, text in (("a.txt", mt), ("b.txt", ref), ("c.txt", src)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    code, out, _ = run(
        "score",
        str(tmp_path / "a.txt"),
        "--ref",
        str(tmp_path / "b.txt"),
        "--src",
        str(tmp_path / "c.txt"),
        "-o",
        "-",
    )
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["src"] for r in records] == [
        "Министр встретился с делегацией в понедельник.",
        "Цены выросли на 3,5 процента в октябре.",
        "Банк объявит о своем решении в пятницу.",
    ]
    assert all(r["features"]["src_similarity"] > 0.5 for r in records)
    # The same MT against a source of another story draws a much lower similarity.
    from mtcheck.models import SourceEncoder

    encoder = SourceEncoder()
    other = encoder.encode(["Футбольный клуб купил нового вратаря."])[0]
    assert (
        float(encoder.encode([records[0]["mt"]])[0] @ other) < records[0]["features"]["src_similarity"] - 0.3
    )


def test_signature_names_the_source_encoder_only_where_a_source_was_scored():
    from mtcheck.pipeline import Checker, CheckOptions

    checker = Checker(CheckOptions(check_pairing=False))
    mt = "The bank will announce its decision on Friday."
    ref = "The bank is to announce its decision on Friday."
    with_source = checker.check("a", mt, ref, "Банк объявит о своем решении в пятницу.")
    without_source = checker.check("b", mt, ref)  # after a sourced article: must not inherit its "src:"
    assert "|src:USE-multilingual-v3@" in with_source.signature
    assert "src:" not in without_source.signature
    assert "src_similarity" in with_source.units[0].scores.features
    assert "src_similarity" not in without_source.units[0].scores.features


def test_score_without_a_reference_reads_the_mt_alone(corpora: Path):
    code, out, err = run("score", str(corpora / "putin_syria.mt.txt"), "-o", "-")
    assert code == 0 and "reading the MT alone" in err
    records = [json.loads(line) for line in out.splitlines()]
    assert records and all(r["ref"] == "" and r["ref_ids"] == [] for r in records)
    assert all(r["scores"]["adequacy"] is None and r["scores"]["chrf"] is None for r in records)
    assert all(r["scores"]["quality"] is not None and r["scores"]["fluency"] is not None for r in records)
    # Only reference-free evidence: no rule that compares with a reference fires.
    assert not {f["detector"] for r in records for f in r["flags"]} & {"numbers", "names"}
    # The cut-off headline still shows without a reference: the truncation rule reads the English alone.
    assert any(f["detector"] == "truncation" for f in records[0]["flags"])


def test_batch_scores_a_lonely_mt_only_when_asked(tmp_path: Path):
    src = tmp_path / "wire"
    src.mkdir()
    (src / "lonely.mt.txt").write_text("The minister met the delegation on Monday.\n", encoding="utf-8")
    code, _, err = run("batch", str(src), "-o", str(tmp_path / "a"))
    assert code == 2 and "--mt-alone" in err
    code, _, err = run("batch", str(src), "-o", str(tmp_path / "b"), "--mt-alone")
    assert code == 0, err
    index = (tmp_path / "b" / "index.html").read_text(encoding="utf-8")
    assert "lonely" in index
    html = (tmp_path / "b" / "lonely.html").read_text(encoding="utf-8")
    assert "Read without a reference" in html and "ref:none" in html
