"""Report stage: turn scored and flagged articles into files an editor and a script can read.

Per article (`write_article`), written into one output folder under a filesystem-safe name
(`safe_doc_name`):

- ``<doc>.jsonl``: one JSON object per alignment unit, `UnitResult.as_record()` plus the article's
  ``signature`` (models, precision, cuts: what produced the numbers), in article order. Non-finite floats
  (NaN, inf) are written as ``null`` so every line is strict JSON.
- ``<doc>.csv``: the same records flattened by `records_frame`, UTF-8, one row per unit. Columns, in order:

  ``doc, unit, link, kind, verdict`` (as in the JSONL);
  ``mt_ids, ref_ids``: sentence indices joined with ";" (e.g. "0;1"; empty for a 1-0 / 0-1 side);
  ``mt, ref``: the unit texts;
  ``chrf, bleu, ter, similarity, fluency, adequacy, quality``: one column per score, empty when not computed;
  ``n_flags``: number of flags; ``max_severity``: worst flag severity or empty;
  ``flag_categories``: "category:severity" per flag joined with "; " (e.g. "fluency/truncation:major");
  ``flags_json``: the full flag list as JSON; ``mt_spans, ref_spans``: article offsets "start:end" joined
  with ";"; ``features_json``: the raw score features as JSON; ``signature``: as in the JSONL.
- ``<doc>.html``: one self-contained page (inline CSS, no scripts, fonts or network) for an editor.

For a batch, `write_index` writes ``index.html`` and ``summary.csv`` into the same folder, linking each
article's HTML by its safe name. Articles are ranked WORST FIRST: by share of units with verdict
"rewrite" (descending), then article quality (ascending; an article with no quality, i.e. no scored MT
sentence, counts as worst), then doc name. Failed articles come after the ranked ones.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TextIO

import jinja2
import pandas as pd
from markupsafe import Markup, escape

from mtcheck.types import (
    NO_REFERENCE,
    SEVERITIES,
    VERDICTS,
    ArticleResult,
    ArticleSummary,
    Flag,
    UnitResult,
    WorstUnit,
)

SCORE_COLUMNS = ("chrf", "bleu", "ter", "similarity", "fluency", "adequacy", "quality")
CSV_COLUMNS = (
    "doc",
    "unit",
    "link",
    "kind",
    "verdict",
    "mt_ids",
    "ref_ids",
    "mt",
    "ref",
    "src",
    *SCORE_COLUMNS,
    "n_flags",
    "max_severity",
    "flag_categories",
    "flags_json",
    "mt_spans",
    "ref_spans",
    "features_json",
    "signature",
)
SUMMARY_COLUMNS = (
    "rank",
    "doc",
    "status",
    "html",
    "quality",
    "rewrite_share",
    "units",
    "scored_units",
    "ok",
    "review",
    "rewrite",
    "omitted",
    "added",
    "flags",
    "critical",
    "major",
    "minor",
    "ref_kind",
    "mt_path",
    "ref_path",
    "signature",
    "error",
)
FLAG_FAMILIES = ("accuracy", "fluency", "style", "other")
WORST_LIMIT = 5
# Names the batch index writes itself; an article may not take them.
_RESERVED_STEMS = {"index", "summary", "con", "prn", "aux", "nul"} | {
    f"{p}{i}" for p in ("com", "lpt") for i in range(10)
}
_SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
_VERDICT_RANK = {"rewrite": 0, "review": 1, "ok": 2}


# ---------------------------------------------------------------------------- names and JSON


def safe_doc_name(doc: str) -> str:
    """A file stem for `doc` that is safe on any filesystem and unique per doc name.

    Names made only of letters, digits, ".", "_" and "-" are kept (up to 100 characters); any other name is
    cleaned and gets a short hash of the original appended, so "a/b" and "a_b" cannot overwrite each other.
    """
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", doc).strip("._-")[:100]
    if cleaned == doc and cleaned and cleaned.lower() not in _RESERVED_STEMS:
        return cleaned
    digest = hashlib.sha1(doc.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned or 'article'}-{digest}"


def _json_safe(value: Any) -> Any:
    """Replace NaN/inf by None, recursively, so the output is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


def _dumps(value: Any) -> str:
    return json.dumps(_json_safe(value), ensure_ascii=False, allow_nan=False)


def write_jsonl(results: Iterable[ArticleResult], stream: TextIO) -> None:
    """Write one JSON object per unit per line (`UnitResult.as_record()` and the article's signature),
    articles and units in order."""
    for result in results:
        for unit in result.units:
            stream.write(_dumps({**unit.as_record(), "signature": result.signature}))
            stream.write("\n")


# ---------------------------------------------------------------------------- CSV


def _max_severity(flags: list[Flag]) -> str:
    known = [f.severity for f in flags if f.severity in _SEVERITY_RANK]
    return max(known, key=_SEVERITY_RANK.__getitem__) if known else ""


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _score_cell(value: float | None) -> float | None:
    """A score as its CSV column holds it: a float, or None (an empty cell) where not finite or absent."""
    value = _finite_or_none(value)
    return None if value is None else float(value)


def _record_rows(result: ArticleResult) -> list[dict[str, Any]]:
    """One dict per unit with the keys `CSV_COLUMNS`: the rows of `records_frame` and of the CSV."""
    rows = []
    for unit in result.units:
        scores = unit.scores.as_dict()
        rows.append(
            {
                "doc": unit.doc,
                "unit": unit.unit,
                "link": unit.link,
                "kind": unit.mt_kind,
                "verdict": unit.verdict,
                "mt_ids": ";".join(str(i) for i in unit.mt_ids),
                "ref_ids": ";".join(str(i) for i in unit.ref_ids),
                "mt": unit.mt,
                "ref": unit.ref,
                "src": unit.src,
                **{name: _score_cell(scores[name]) for name in SCORE_COLUMNS},
                "n_flags": len(unit.flags),
                "max_severity": _max_severity(unit.flags),
                "flag_categories": "; ".join(f"{f.category}:{f.severity}" for f in unit.flags),
                "flags_json": _dumps([f.as_dict() for f in unit.flags]),
                "mt_spans": ";".join(f"{s}:{e}" for s, e in unit.mt_spans),
                "ref_spans": ";".join(f"{s}:{e}" for s, e in unit.ref_spans),
                "features_json": _dumps(dict(unit.scores.features)),
                "signature": result.signature,
            }
        )
    return rows


def records_frame(result: ArticleResult) -> pd.DataFrame:
    """The CSV rows of one article: one row per unit, columns `CSV_COLUMNS` (see module docstring)."""
    frame = pd.DataFrame(_record_rows(result), columns=list(CSV_COLUMNS))
    # Score columns stay numeric even when a whole column is None (empty cells in the CSV).
    return frame.astype({name: "float64" for name in SCORE_COLUMNS})


def records_csv(result: ArticleResult) -> str:
    """The article's CSV text: `records_frame(result).to_csv(index=False)` to the byte (a test holds it),
    written by the csv module, which pandas' writer also uses: building a DataFrame cost more than all the
    article's other reports together (4 ms an article)."""
    stream = io.StringIO(newline="")
    writer = csv.DictWriter(stream, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(_record_rows(result))
    return stream.getvalue()


# ---------------------------------------------------------------------------- summaries


def _unit_quality(unit: UnitResult) -> float | None:
    return _finite_or_none(unit.scores.quality)


def _worst_key(unit: UnitResult) -> tuple[int, int, float, int]:
    """Rewrite before review before ok; then the most severe flag first (a flagged fault beats a low score
    alone, which is often a fair paraphrase); then lowest quality (unknown first); then article order."""
    quality = _unit_quality(unit)
    severity = _SEVERITY_RANK.get(_max_severity(unit.flags), -1)
    return (
        _VERDICT_RANK.get(unit.verdict, 1),
        -severity,
        -math.inf if quality is None else quality,
        unit.unit,
    )


def article_summary(result: ArticleResult) -> ArticleSummary:
    """Roll-up of one article (fields in `ArticleSummary`); the worst units ordered by `_worst_key`."""
    scored = result.scored_units
    qualities = [q for q in (_unit_quality(u) for u in scored) if q is not None]
    verdicts = Counter({name: 0 for name in VERDICTS})
    verdicts.update(u.verdict for u in result.units)
    flags = [f for u in result.units for f in u.flags]
    by_severity = Counter({name: 0 for name in SEVERITIES})
    by_severity.update(f.severity for f in flags)
    by_category = Counter(f.category for f in flags)
    needing_attention = sorted((u for u in scored if u.verdict != "ok"), key=_worst_key)[:WORST_LIMIT]
    n_units = len(result.units)
    return ArticleSummary(
        doc=result.doc,
        ref_kind=result.ref_kind,
        units=n_units,
        scored_units=len(scored),
        quality=sum(qualities) / len(qualities) if qualities else None,
        verdicts=dict(verdicts),
        rewrite_share=verdicts["rewrite"] / n_units if n_units else 0.0,
        flags=len(flags),
        flags_by_severity=dict(by_severity),
        flags_by_category=dict(sorted(by_category.items(), key=lambda item: (-item[1], item[0]))),
        omitted=sum(1 for u in result.units if not u.mt and u.ref),
        added=sum(1 for u in result.units if u.mt and not u.ref),
        worst=[
            WorstUnit(u.unit, u.link, u.verdict, _unit_quality(u), len(u.flags), u.mt)
            for u in needing_attention
        ],
    )


def _rank_key(summary: ArticleSummary) -> tuple[float, float, str]:
    quality = summary.quality
    return (-summary.rewrite_share, -math.inf if quality is None else quality, summary.doc)


def rank_articles(results: Iterable[ArticleResult]) -> list[tuple[ArticleSummary, ArticleResult]]:
    """(summary, result) pairs, worst article first (rule in the module docstring)."""
    pairs = [(article_summary(result), result) for result in results]
    return sorted(pairs, key=lambda pair: _rank_key(pair[0]))


# ---------------------------------------------------------------------------- highlighting


def flag_family(category: str) -> str:
    """The colour family of an MQM-style category: accuracy, fluency, style or other."""
    family = category.split("/", 1)[0].strip().lower()
    return family if family in FLAG_FAMILIES else "other"


@dataclass(frozen=True)
class _Footnote:
    number: int
    flag: Flag
    family: str


def _flag_title(note: _Footnote) -> str:
    flag = note.flag
    return show_controls(f"[{note.number}] {flag.category} ({flag.severity}): {flag.reason}")


def highlight_mt(mt: str, flags: list[Flag]) -> tuple[Markup, list[_Footnote]]:
    """Escape `mt` and wrap flagged spans in <mark>, returning the markup and the numbered footnotes.

    Overlapping flags are flattened: the text is cut at every flag boundary and each piece is wrapped
    once, styled by the most severe flag covering it, with every covering flag in its title. Each flag's
    footnote number follows its span's end. Offsets are clamped to the text; an empty span gets a caret.
    """
    ordered = sorted(flags, key=lambda f: (f.start, f.end))
    notes = [_Footnote(i, f, flag_family(f.category)) for i, f in enumerate(ordered, start=1)]
    length = len(mt)
    clamped = []
    for note in notes:
        start = max(0, min(note.flag.start, length))
        clamped.append((start, max(start, min(note.flag.end, length)), note))
    bounds = sorted({0, length} | {s for s, _, _ in clamped} | {e for _, e, _ in clamped})

    pieces: list[Markup] = []
    for index, position in enumerate(bounds):
        ending = [n for s, e, n in clamped if e == position and s < e]
        pieces.extend(Markup('<sup class="fn-ref">{}</sup>').format(n.number) for n in ending)
        for s, e, note in clamped:
            if s == e == position:
                pieces.append(
                    Markup('<mark class="{}" title="{}">&#8248;</mark><sup class="fn-ref">{}</sup>').format(
                        _mark_class([note]), _flag_title(note), note.number
                    )
                )
        if index + 1 == len(bounds):
            break
        following = bounds[index + 1]
        text = mt[position:following]
        covering = [n for s, e, n in clamped if s <= position and e >= following and s < e]
        if not covering:
            pieces.append(escape(show_controls(text)))
            continue
        title = "\n".join(_flag_title(n) for n in covering)
        pieces.append(
            Markup('<mark class="{}" title="{}">{}</mark>').format(
                _mark_class(covering), title, show_controls(text)
            )
        )
    return Markup("").join(pieces), notes


# Bidirectional overrides and isolates reorder what follows them on screen (text reads other than it is,
# "Trojan Source"); shown as visible codes in the HTML, they cannot. The JSONL/CSV keep the text as is.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def show_controls(text: str) -> str:
    """`text` with every bidirectional control replaced by a visible code such as "[U+202E]"."""
    return _BIDI_CONTROLS.sub(lambda match: f"[U+{ord(match.group()):04X}]", text)


def _finalize(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, Markup):
        return show_controls(value)
    return value


def _mark_class(covering: list[_Footnote]) -> str:
    strongest = max(covering, key=lambda n: (_SEVERITY_RANK.get(n.flag.severity, 0), -n.number))
    severity = strongest.flag.severity if strongest.flag.severity in _SEVERITY_RANK else "minor"
    overlap = " overlap" if len(covering) > 1 else ""
    return f"fam-{strongest.family} sev-{severity}{overlap}"


# ---------------------------------------------------------------------------- HTML


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mtcheck", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters["num"] = _format_number
    env.filters["pct"] = lambda value: "–" if value is None else f"{100 * value:.0f}%"
    env.filters["family"] = flag_family
    return env


def _format_number(value: float | None, digits: int = 0) -> str:
    value = _finite_or_none(value)
    return "–" if value is None else f"{value:.{digits}f}"


def _unit_view(unit: UnitResult, ref_kind: str) -> dict[str, Any]:
    mt_markup, notes = highlight_mt(unit.mt, unit.flags)
    return {
        "unit": unit,
        "anchor": f"u-{unit.unit}",
        "mt_markup": mt_markup,
        "notes": notes,
        "omitted": not unit.mt,
        "added": not unit.ref,
        "verdict_class": unit.verdict if unit.verdict in VERDICTS else "other",
        "score_note": _score_note(unit, bool(notes), ref_kind),
    }


def _score_note(unit: UnitResult, flagged: bool, ref_kind: str) -> str:
    """Why a unit left *ok* when no flag says so: its quality score alone sent it to review or rewrite."""
    quality = _finite_or_none(unit.scores.quality)
    if flagged or unit.verdict == "ok" or not unit.mt or quality is None:
        return ""
    if ref_kind == NO_REFERENCE:
        return (
            f"No single span stands out, but read alone the sentence scores quality {quality:.0f} of 100, "
            f"low enough for {unit.verdict}."
        )
    if not unit.ref:
        return ""  # "Not in the reference" says why
    return (
        f"No single span stands out, but the quality model scores the sentence as a whole at "
        f"{quality:.0f} of 100, low enough for {unit.verdict}: compare it with the {ref_kind} line by line."
    )


def render_article_html(result: ArticleResult) -> str:
    """The editor's page for one article, as a string."""
    template = _environment().get_template("article.html.j2")
    return template.render(
        result=result,
        summary=article_summary(result),
        units=[_unit_view(u, result.ref_kind) for u in result.units],
        families=FLAG_FAMILIES,
        severities=SEVERITIES,
    )


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder and a rename, so a crash or a
    kill leaves the old file or the new one, never a truncated one."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def article_paths(doc: str, out_dir: Path) -> dict[str, Path]:
    """Where `write_article` puts the reports of `doc`: {"jsonl", "csv", "html"}."""
    stem = safe_doc_name(doc)
    return {kind: Path(out_dir) / f"{stem}.{kind}" for kind in ("jsonl", "csv", "html")}


def write_article(result: ArticleResult, out_dir: Path) -> dict[str, Path]:
    """Write `<doc>.jsonl`, `<doc>.csv` and `<doc>.html` into `out_dir` (each atomically); return
    {"jsonl", "csv", "html"}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = article_paths(result.doc, out_dir)
    jsonl = io.StringIO(newline="\n")
    write_jsonl([result], jsonl)
    write_atomic(paths["jsonl"], jsonl.getvalue())
    write_atomic(paths["csv"], records_csv(result))
    write_atomic(paths["html"], render_article_html(result))
    return paths


def read_article(jsonl_path: Path) -> list[UnitResult]:
    """The units of an article report written by `write_article`, in order."""
    with Path(jsonl_path).open(encoding="utf-8") as stream:
        return [UnitResult.from_record(json.loads(line)) for line in stream if line.strip()]


def summary_frame(results: Iterable[ArticleResult], failures: list[tuple[str, str]]) -> pd.DataFrame:
    """The batch table (`SUMMARY_COLUMNS`): ranked articles worst first, then failed articles."""
    return _summary_frame(rank_articles(results), failures)


def _summary_frame(
    ranked: list[tuple[dict[str, Any], ArticleResult]], failures: list[tuple[str, str]]
) -> pd.DataFrame:
    rows = []
    for rank, (summary, result) in enumerate(ranked, start=1):
        rows.append(
            {
                "rank": rank,
                "doc": summary.doc,
                "status": "ok",
                "html": f"{safe_doc_name(summary.doc)}.html",
                "quality": summary.quality,
                "rewrite_share": summary.rewrite_share,
                "units": summary.units,
                "scored_units": summary.scored_units,
                **{name: summary.verdicts[name] for name in VERDICTS},
                "omitted": summary.omitted,
                "added": summary.added,
                "flags": summary.flags,
                **{name: summary.flags_by_severity[name] for name in SEVERITIES},
                "ref_kind": summary.ref_kind,
                "mt_path": result.mt_path,
                "ref_path": result.ref_path,
                "signature": result.signature,
                "error": "",
            }
        )
    for doc, error in failures:
        rows.append({"doc": doc, "status": "failed", "error": error})
    frame = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    integer_columns = ["rank", "units", "scored_units", *VERDICTS, "omitted", "added", "flags", *SEVERITIES]
    return frame.astype({name: "Int64" for name in integer_columns})


def write_index(
    results: list[ArticleResult], failures: list[tuple[str, str]], out_dir: Path
) -> dict[str, Path]:
    """Write the batch roll-up `index.html` and `summary.csv` into `out_dir`; return {"html", "csv"}.

    `failures` holds (doc or input path, error message) of articles that could not be checked. Links
    point at `<safe doc name>.html` in the same folder, as written by `write_article`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ranked = rank_articles(results)
    paths = {"html": out_dir / "index.html", "csv": out_dir / "summary.csv"}
    write_atomic(paths["csv"], _summary_frame(ranked, failures).to_csv(index=False, lineterminator="\n"))
    summaries = [summary for summary, _ in ranked]
    articles = [
        {"summary": summary, "result": result, "href": f"{safe_doc_name(result.doc)}.html"}
        for summary, result in ranked
    ]
    totals = {
        "units": sum(s.units for s in summaries),
        "verdicts": {name: sum(s.verdicts[name] for s in summaries) for name in VERDICTS},
        "severities": {name: sum(s.flags_by_severity[name] for s in summaries) for name in SEVERITIES},
        "omitted": sum(s.omitted for s in summaries),
    }
    signatures = sorted({r.signature for r in results})
    html = (
        _environment()
        .get_template("index.html.j2")
        .render(
            articles=articles, failures=failures, totals=totals, signatures=signatures, severities=SEVERITIES
        )
    )
    write_atomic(paths["html"], html)
    return paths
