"""Tests of the report stage, on hand-built results (no models)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from mtcheck.report import (
    CSV_COLUMNS,
    SCORE_COLUMNS,
    article_summary,
    highlight_mt,
    records_frame,
    safe_doc_name,
    write_article,
    write_index,
    write_jsonl,
)
from mtcheck.types import ArticleResult, Flag, UnitResult, UnitScores

HOSTILE = "He wrote <script>alert(1)</script> & said \"yes\" and 'no'."
SIGNATURE = "mtcheck:0.1|seg:pysbd|align:minilm|lm:smollm2-135m-q4|chrF2|nrefs:1"


def flag_on(mt: str, text: str, category: str, severity: str, reason: str = "test reason") -> Flag:
    start = mt.index(text)
    return Flag(start, start + len(text), text, category, severity, "test-detector", reason)


def make_unit(
    doc: str,
    number: int,
    mt: str,
    ref: str,
    *,
    quality: float | None,
    verdict: str,
    flags: tuple[tuple[str, str, str], ...] = (),
    kind: str = "body",
    mt_ids: list[int] | None = None,
    ref_ids: list[int] | None = None,
) -> UnitResult:
    mt_ids = [number] if mt_ids is None and mt else (mt_ids or [])
    ref_ids = [number] if ref_ids is None and ref else (ref_ids or [])
    scores = UnitScores(
        chrf=None if not (mt and ref) else 55.5,
        bleu=None if not (mt and ref) else 30.0,
        ter=None if not (mt and ref) else 60.0,
        similarity=None if not (mt and ref) else 0.8,
        fluency=None if not mt else quality,
        adequacy=None if not (mt and ref) else quality,
        quality=quality,
        features={"quality_raw": 0.5, "fluency_raw": float("nan")},
    )
    return UnitResult(
        doc=doc,
        unit=number,
        mt_ids=mt_ids,
        ref_ids=ref_ids,
        mt=mt,
        ref=ref,
        scores=scores,
        flags=[flag_on(mt, text, category, severity) for text, category, severity in flags],
        verdict=verdict,
        mt_spans=[(10 * i, 10 * i + 9) for i in mt_ids],
        ref_spans=[(10 * i, 10 * i + 9) for i in ref_ids],
        mt_kind=kind,
    )


def bad_article(doc: str = "ru/putin syria") -> ArticleResult:
    headline = "Putin: Russia aims to work on a settlement in Syria, the leaders don’t have"
    units = [
        make_unit(
            doc,
            0,
            headline,
            "Putin: Russia wants to work on a Syrian settlement, but US partners are not ready",
            quality=22.0,
            verdict="rewrite",
            kind="headline",
            flags=(
                ("the leaders don’t have", "fluency/truncation", "critical"),
                ("aims", "style/awkward", "minor"),
            ),
        ),
        make_unit(
            doc,
            1,
            "MOSCOW, October 13. Work on the settlement in Syria should be translated into a more substantive level.",
            "MOSCOW, October 13. Work on a Syrian settlement should move to a more substantive level.",
            quality=61.0,
            verdict="review",
            kind="dateline",
            flags=(("translated into", "accuracy/mistranslation", "major"),),
        ),
        make_unit(
            doc,
            2,
            "",
            "The president did not name the officials he had in mind.",
            quality=None,
            verdict="rewrite",
        ),
        make_unit(
            doc,
            3,
            "Moscow raises the level of dialogue",
            "Moscow raises the stakes",
            quality=70.0,
            verdict="ok",
            kind="subhead",
        ),
        make_unit(
            doc,
            4,
            HOSTILE,
            "He wrote a script and said yes and no.",
            quality=35.0,
            verdict="rewrite",
            # Overlapping flags over hostile markup.
            flags=(
                ("<script>alert(1)</script>", "other/markup", "critical"),
                ("alert(1)</script> & said", "fluency/grammar", "minor"),
                ('"yes" and', "accuracy/addition", "major"),
            ),
        ),
        make_unit(
            doc,
            5,
            "This was stated by the President Vladimir Putin at the forum.",
            "",
            quality=55.0,
            verdict="review",
            flags=(("the President", "style/register", "minor"),),
        ),
        make_unit(
            doc,
            6,
            "Putin said he was ready to send a delegation. It would be led by Medvedev.",
            "Putin said he was ready to send a large delegation led by Dmitry Medvedev.",
            quality=80.0,
            verdict="ok",
            mt_ids=[6, 7],
            ref_ids=[6],
        ),
    ]
    return ArticleResult(
        doc=doc,
        units=units,
        ref_kind="retranslation",
        signature=SIGNATURE,
        mt_path="/data/mt/putin syria.txt",
        ref_path="/data/rt/putin syria.txt",
    )


def good_article(doc: str = "good-article") -> ArticleResult:
    units = [
        make_unit(
            doc,
            i,
            f"Clean sentence number {i}.",
            f"Clean sentence number {i}.",
            quality=90.0 + i,
            verdict="ok",
        )
        for i in range(4)
    ]
    units[1] = make_unit(
        doc,
        1,
        "A slightly odd sentence.",
        "A slightly unusual sentence.",
        quality=70.0,
        verdict="review",
        flags=(("odd", "style/word-choice", "minor"),),
    )
    return ArticleResult(
        doc=doc,
        units=units,
        ref_kind="reference",
        signature=SIGNATURE,
        mt_path="good.txt",
        ref_path="good.ref.txt",
    )


class TagBalance(HTMLParser):
    """Checks that every non-void tag is closed in order, and records text and attributes seen."""

    VOID = {"meta", "br", "col", "input", "img", "hr", "link", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_tags = 0
        self.text: list[str] = []
        self.text_outside_sup: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self.script_tags += 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if "sup" not in self.stack:
            self.text_outside_sup.append(data)


def parse(html: str) -> TagBalance:
    parser = TagBalance()
    parser.feed(html)
    parser.close()
    return parser


# ---------------------------------------------------------------------------- JSONL / CSV


def test_jsonl_one_strict_record_per_unit_in_order() -> None:
    results = [bad_article(), good_article()]
    stream = io.StringIO()
    write_jsonl(results, stream)
    lines = stream.getvalue().splitlines()
    assert len(lines) == sum(len(r.units) for r in results)
    records = [
        json.loads(line, parse_constant=lambda name: pytest.fail(f"non-strict JSON constant {name}"))
        for line in lines
    ]
    assert [(r["doc"], r["unit"]) for r in records] == [(u.doc, u.unit) for r in results for u in r.units]
    expected_keys = set(results[0].units[0].as_record()) | {"signature"}
    for record in records:
        assert set(record) == expected_keys
        for flag in record["flags"]:
            assert record["mt"][flag["start"] : flag["end"]] == flag["text"]
    assert "’" in lines[0], "ensure_ascii=False keeps typographic characters"
    assert records[0]["features"]["fluency_raw"] is None, "NaN becomes null"
    omitted = records[2]
    assert omitted["mt"] == "" and omitted["link"] == "0-1" and omitted["scores"]["quality"] is None
    assert [r["signature"] for r in records] == [r.signature for r in results for _ in r.units]


def test_records_frame_and_csv_round_trip(tmp_path: Path) -> None:
    result = bad_article()
    frame = records_frame(result)
    assert list(frame.columns) == list(CSV_COLUMNS)
    assert len(frame) == len(result.units)
    paths = write_article(result, tmp_path)
    loaded = pd.read_csv(paths["csv"], dtype={"mt_ids": str, "ref_ids": str})
    assert len(loaded) == len(result.units)
    for name in SCORE_COLUMNS:
        assert name in loaded.columns
        assert pd.api.types.is_float_dtype(loaded[name])
    assert loaded.loc[0, "quality"] == 22.0
    assert pd.isna(loaded.loc[2, "quality"])
    multi = loaded[loaded["unit"] == 6].iloc[0]
    assert multi["mt_ids"] == "6;7" and multi["ref_ids"] == "6"
    head = loaded.iloc[0]
    assert head["n_flags"] == 2
    assert head["flag_categories"] == "fluency/truncation:critical; style/awkward:minor"
    assert head["max_severity"] == "critical"
    assert json.loads(head["flags_json"])[0]["reason"] == "test reason"
    hostile = loaded[loaded["unit"] == 4].iloc[0]
    assert hostile["mt"] == HOSTILE
    # The standard csv module reads the same rows (no BOM, proper quoting).
    with paths["csv"].open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(result.units) and rows[0]["doc"] == result.doc


def test_csv_is_what_pandas_writes_from_the_frame(tmp_path: Path) -> None:
    # Scores absent, NaN and whole, quotes, commas, newlines and non-ASCII text in the cells.
    result = bad_article()
    text = write_article(result, tmp_path)["csv"].read_text(encoding="utf-8")
    assert text == records_frame(result).to_csv(index=False, lineterminator="\n")


def test_write_article_names_and_outputs(tmp_path: Path) -> None:
    result = bad_article("../evil/doc name")
    paths = write_article(result, tmp_path / "out")
    assert set(paths) == {"jsonl", "csv", "html"}
    for path in paths.values():
        assert path.parent == tmp_path / "out" and path.exists() and path.stat().st_size > 0
    assert ".." not in paths["html"].name and "/" not in paths["html"].stem
    assert len(paths["jsonl"].read_text(encoding="utf-8").splitlines()) == len(result.units)


def test_safe_doc_name_keeps_clean_names_and_separates_collisions() -> None:
    assert safe_doc_name("article-01.ru_en") == "article-01.ru_en"
    assert safe_doc_name("a/b") != safe_doc_name("a_b")
    assert safe_doc_name("index") != "index"
    assert safe_doc_name("") and safe_doc_name("///")
    assert all(ch.isalnum() or ch in "._-" for ch in safe_doc_name("Ünïcødé: «title»?"))


# ---------------------------------------------------------------------------- summary / index


def test_article_summary_counts() -> None:
    summary = article_summary(bad_article())
    assert summary.units == 7 and summary.scored_units == 6
    assert summary.quality == pytest.approx((22 + 61 + 70 + 35 + 55 + 80) / 6)
    assert summary.verdicts == {"ok": 2, "review": 2, "rewrite": 3}
    assert summary.omitted == 1 and summary.added == 1
    assert summary.flags == 7
    assert summary.flags_by_severity == {"minor": 3, "major": 2, "critical": 2}
    assert summary.flags_by_category["fluency/truncation"] == 1
    worst_units = [item.unit for item in summary.worst]
    # Rewrite first (by quality), then review: unit 1 (a major flag) before unit 5 (lower quality, only a
    # minor flag); no ok and no omitted units.
    assert worst_units == [0, 4, 1, 5]
    json.dumps(dataclasses.asdict(summary))  # a plain typed record, serialisable as it is
    empty = article_summary(ArticleResult("empty", [], "reference", SIGNATURE))
    assert empty.quality is None and empty.rewrite_share == 0.0 and empty.worst == []


def test_index_ranks_bad_article_first_and_lists_failures(tmp_path: Path) -> None:
    good, bad = good_article(), bad_article()
    failures = [("broken.txt", "InputError: broken.txt is binary <b>not text</b>")]
    paths = write_index([good, bad], failures, tmp_path)
    summary = pd.read_csv(paths["csv"])
    ranked = summary[summary["status"] == "ok"]
    assert list(ranked["doc"]) == [bad.doc, good.doc]
    assert list(ranked["rank"]) == [1, 2]
    failed = summary[summary["status"] == "failed"]
    assert list(failed["doc"]) == ["broken.txt"] and "binary" in failed.iloc[0]["error"]
    html = paths["html"].read_text(encoding="utf-8")
    assert html.index(safe_doc_name(bad.doc) + ".html") < html.index(safe_doc_name(good.doc) + ".html")
    assert "&lt;b&gt;not text&lt;/b&gt;" in html and "<b>not text</b>" not in html
    assert "<b>1</b> sentence omitted from MT" in html  # one omitted sentence, singular
    assert not parse(html).errors


def test_index_orders_equal_rewrite_share_by_quality(tmp_path: Path) -> None:
    better, worse = good_article("better"), good_article("worse")
    for unit in worse.units:
        unit.scores.quality = 40.0
    summary = pd.read_csv(write_index([better, worse], [], tmp_path)["csv"])
    assert list(summary["doc"]) == ["worse", "better"]


# ---------------------------------------------------------------------------- HTML


def test_highlight_escapes_and_flattens_overlaps() -> None:
    mt = HOSTILE
    flags = [
        flag_on(
            mt,
            "<script>alert(1)</script>",
            "other/markup",
            "critical",
            reason='reason with "quotes" & <tags>',
        ),
        flag_on(mt, "alert(1)</script> & said", "fluency/grammar", "minor"),
    ]
    markup, notes = highlight_mt(mt, flags)
    assert [n.number for n in notes] == [1, 2]
    assert "<script" not in markup and "&lt;script&gt;" in markup
    parsed = parse(f"<div>{markup}</div>")
    assert not parsed.errors and not parsed.stack
    assert "".join(parsed.text_outside_sup) == mt, "the visible text is the MT, unchanged"
    marks = [attrs for tag, attrs in parsed.tags if tag == "mark"]
    assert len(marks) == 3, "before overlap, overlap, after overlap"
    assert "overlap" in (marks[1]["class"] or "")
    assert 'reason with "quotes" & <tags>' in (marks[0]["title"] or "")
    assert [attrs.get("class") for tag, attrs in parsed.tags if tag == "mark"][0].startswith(
        "fam-other sev-critical"
    )


@pytest.mark.parametrize("flagged", [None, "said", "'no'"])
def test_highlight_escapes_unflagged_text(flagged: str | None) -> None:
    flags = [] if flagged is None else [flag_on(HOSTILE, flagged, "fluency/grammar", "major")]
    markup, _ = highlight_mt(HOSTILE, flags)
    assert "<script" not in markup and "&lt;script&gt;" in markup and "&amp;" in markup
    parsed = parse(f"<div>{markup}</div>")
    assert parsed.script_tags == 0 and not parsed.errors and not parsed.stack
    assert "".join(parsed.text_outside_sup) == HOSTILE


def test_highlight_handles_out_of_range_and_empty_flags() -> None:
    mt = "Short text."
    flags = [
        Flag(6, 99, "text.", "accuracy/omission", "major", "t", "runs past the end"),
        Flag(5, 5, "", "accuracy/omission", "minor", "t", "something missing here"),
    ]
    markup, notes = highlight_mt(mt, flags)
    parsed = parse(f"<div>{markup}</div>")
    assert not parsed.errors and not parsed.stack
    assert len(notes) == 2 and markup.count("<mark") == 2


def test_article_html_escapes_and_shows_everything(tmp_path: Path) -> None:
    result = bad_article()
    html = write_article(result, tmp_path)["html"].read_text(encoding="utf-8")
    parsed = parse(html)
    assert not parsed.errors, parsed.errors[:5]
    assert parsed.stack == [], "unclosed tags"
    assert parsed.script_tags == 0, "hostile text must not create a script element"
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&amp; said" in html
    assert SIGNATURE.replace("|", "|") in "".join(parsed.text)
    assert "Omitted from MT" in html and "The president did not name the officials" in html
    assert "Not in retranslation" in html
    assert "evidence of a problem, not proof" in html
    rows = [
        attrs for tag, attrs in parsed.tags if tag == "tr" and "unit" in (attrs.get("class") or "").split()
    ]
    assert len(rows) == len(result.units)
    assert "k-headline" in (rows[0]["class"] or "") and "omitted" in (rows[2]["class"] or "")
    # Every flag has a footnote line with its reason, and a title on its mark.
    assert html.count("test reason") >= sum(len(u.flags) for u in result.units) * 2
    # Worst-sentence links point at existing rows.
    ids = {attrs.get("id") for _, attrs in parsed.tags}
    links = [
        attrs["href"]
        for tag, attrs in parsed.tags
        if tag == "a" and (attrs.get("href") or "").startswith("#")
    ]
    assert links and all(link[1:] in ids for link in links)
    # Self-contained: no external resources.
    assert not [attrs for tag, attrs in parsed.tags if tag in {"link", "img", "iframe"}]
    assert "http://" not in html and "https://" not in html and "@import" not in html
    assert "@media print" in html


def test_reference_kind_wording(tmp_path: Path) -> None:
    html = write_article(good_article(), tmp_path)["html"].read_text(encoding="utf-8")
    assert "human translation" in html and "not proof" not in html
    assert "No MT sentence was marked" not in html  # it has one review unit


@pytest.mark.parametrize(
    ("ref_kind", "ref", "wording"),
    [
        ("reference", "Officials gave no figure for the losses.", "compare it with the reference"),
        ("none", "", "read alone the sentence scores quality 18"),
    ],
)
def test_unit_sent_on_by_its_score_alone_says_why(
    tmp_path: Path, ref_kind: str, ref: str, wording: str
) -> None:
    mt = "The losses officials figure no gave."
    units = [
        make_unit("d", 0, mt, ref, quality=18.0, verdict="rewrite"),
        make_unit("d", 1, "All quiet.", ref and "All was quiet.", quality=90.0, verdict="ok"),
        make_unit(
            "d",
            2,
            "Rain fell.",
            ref and "It rained.",
            quality=70.0,
            verdict="review",
            flags=(("Rain", "fluency/grammar", "minor"),),
        ),
    ]
    result = ArticleResult(doc="d", units=units, ref_kind=ref_kind, signature=SIGNATURE)
    html = write_article(result, tmp_path)["html"].read_text(encoding="utf-8")
    assert html.count("No single span stands out") == 1  # not on the ok unit, nor on the flagged one
    assert wording in html and "low enough for rewrite" in html


# ---------------------------------------------------------------------------- browser rendering


def _screenshot(browser: str, page: Path, png: Path, profile: Path) -> None:
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        "--window-size=1280,1600",
        page.resolve().as_uri(),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def test_headless_chromium_renders_article_and_index(tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium binary on PATH (CI installs Debian's chromium: apt-get install chromium)")
    out = tmp_path / "report"
    article_html = write_article(bad_article(), out)["html"]
    write_article(good_article(), out)
    index_html = write_index([good_article(), bad_article()], [("broken.txt", "not UTF-8")], out)["html"]
    for page in (article_html, index_html):
        png = tmp_path / f"{page.stem}.png"
        _screenshot(browser, page, png, tmp_path / f"profile-{page.stem}")
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        # A blank 1280x1600 page compresses to a few KB; a rendered report is far larger.
        assert len(data) > 30_000, f"{png.name} is only {len(data)} bytes"
