"""Regenerate corpora/seed_flags.md from the seed article's reports, keeping the reviewer's words.

    mtcheck score corpora/putin_syria.mt.txt --ref corpora/putin_syria.ref.txt -o reports/seed
    mtcheck score corpora/putin_syria.mt.txt --ref corpora/putin_syria.retrans.txt \
        --ref-kind retranslation -o reports/seed_rt
    python scripts/seed_table.py reports/seed/putin_syria.jsonl reports/seed_rt/putin_syria.jsonl

The MT, verdict and flag columns, the counts and the signature come from the reports; the review column (by
unit number) and everything from "## Summary of the review" on are kept from the current file. Units whose
verdict or flags changed are listed on standard output and their review is marked "(to review)": it must be
written again, since tests/test_cli.py checks that the table matches what the pipeline says now and that no
review is pending.
"""

from __future__ import annotations

import collections
import json
import re
import sys
from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "corpora" / "seed_flags.md"
ROW = re.compile(r"^\| (\d+) \| (\w+) \| (.*?) \| (ok|review|rewrite) \| (.*) \| (.*) \|$")
SUMMARY = "## Summary of the review"


def parse_rows(markdown: str) -> dict[int, dict[str, str]]:
    """Table rows by unit number: kind, mt, verdict, flags (cell text), review."""
    rows = {}
    for line in markdown.splitlines():
        match = ROW.match(line)
        if match:
            unit, kind, mt, verdict, flags, review = match.groups()
            rows[int(unit)] = {"kind": kind, "mt": mt, "verdict": verdict, "flags": flags, "review": review}
    return rows


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def flags_cell(unit: dict) -> str:
    flags = unit.get("flags") or []
    return (
        "<br>".join(
            f"**{f['detector']}**: {f['category']}, {f['severity']}: {cell(f['reason'])}" for f in flags
        )
        or "—"
    )


def mt_cell(unit: dict) -> str:
    return cell(unit["mt"]) or "*(none: 0-1 unit)*"


def counts(units: list[dict]) -> str:
    return ", ".join(f"{v} {sum(u['verdict'] == v for u in units)}" for v in ("ok", "review", "rewrite"))


def header_line(ref_units: list[dict], rt_units: list[dict]) -> str:
    flags = [f for u in ref_units for f in u.get("flags") or []]
    severity = collections.Counter(f["severity"] for f in flags)
    return (
        f"Against the reference: {counts(ref_units)} (of {len(ref_units)} units); {len(flags)} flags "
        f"({severity['major']} major, {severity['minor']} minor, {severity['critical']} critical). "
        f"Against the retranslation (ref kind retranslation): {counts(rt_units)}."
    )


def read_jsonl(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def main(ref_jsonl: str, rt_jsonl: str) -> None:
    ref_units, rt_units = read_jsonl(ref_jsonl), read_jsonl(rt_jsonl)
    old_text = TABLE.read_text(encoding="utf-8")
    old_rows = parse_rows(old_text)
    summary = old_text[old_text.index(SUMMARY) :] if SUMMARY in old_text else f"{SUMMARY}\n\n(to write)\n"
    html = Path(ref_jsonl).with_suffix(".html")
    found = (
        re.search(r"mtcheck:[^<\"]*ref:reference", html.read_text(encoding="utf-8"))
        if html.is_file()
        else None
    )
    lines = [
        "# Seed article: flags and verdicts, reviewed",
        "",
        "Regenerated with the current pipeline and the shipped quality model",
        "(`scripts/seed_table.py`, which keeps the review column of units whose output did not change):",
        "",
        "    mtcheck score corpora/putin_syria.mt.txt --ref corpora/putin_syria.ref.txt -o reports/seed",
        "    mtcheck score corpora/putin_syria.mt.txt --ref corpora/putin_syria.retrans.txt"
        " --ref-kind retranslation -o reports/seed_rt",
        "",
        f"Signature: `{found.group(0) if found else 'unknown'}`",
        "",
        header_line(ref_units, rt_units),
        "",
        "The review column is the project's reviewers', sentence by sentence: is each flag right, and what was",
        "missed. Unit = alignment unit (a 2-1 unit holds two MT sentences).",
        "",
        "| # | kind | MT | verdict | flags (detector: category, severity: reason) | review |",
        "|---|---|---|---|---|---|",
    ]
    changed = []
    for unit in ref_units:
        old = old_rows.get(unit["unit"])
        row = {"mt": mt_cell(unit), "verdict": unit["verdict"], "flags": flags_cell(unit)}
        if old is None or any(old[k] != v for k, v in row.items()):
            changed.append(unit["unit"])
        # A unit whose output changed must be read again: its old review is kept only as a reminder.
        review = (
            old["review"]
            if old and unit["unit"] not in changed
            else f"(to review) was: {old['review'] if old else ''}"
        )
        lines.append(
            f"| {unit['unit']} | {unit['kind']} | {row['mt']} | {row['verdict']} | {row['flags']} | {review} |"
        )
    TABLE.write_text("\n".join(lines) + "\n\n" + summary.rstrip("\n") + "\n", encoding="utf-8")
    print(f"wrote {TABLE}; units to review again: {changed or 'none'}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python scripts/seed_table.py REF_REPORT.jsonl RETRANSLATION_REPORT.jsonl")
    main(sys.argv[1], sys.argv[2])
