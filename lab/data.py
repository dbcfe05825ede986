"""The shared human-judgment files: names, readers and the one document split.

Every lab command takes the data folder (or a file in it) as an argument; nothing here is copied into
the repository. The split is a fixed hash of (language pair, document): whole documents stay on one
side, and the "holdout" half is never fitted or trained on.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

MQM_FILE = "mqm_zhen_dev.jsonl"
RUEN_FILE = "wmt22_ruen_da_dev.jsonl"
DA_TRAIN_FILES = ("wmt22_jaen_uken_da_train.jsonl", "wmt21_toen_da_train.jsonl")
SPLITS = ("fit", "holdout", "all")

# MQM error weights of Freitag et al. (2021), as the file's mqm_score uses them.
SEVERITY_WEIGHT = {"Minor": 1.0, "Major": 5.0, "Critical": 25.0}


def document_half(lp: str, doc: str) -> str:
    """ "fit" or "holdout", fixed by a hash of the document id."""
    digest = hashlib.sha1(f"{lp}|{doc}".encode()).hexdigest()
    return "fit" if int(digest, 16) % 2 == 0 else "holdout"


def in_split(lp: str, doc: str, split: str) -> bool:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    return split == "all" or document_half(lp, doc) == split


@dataclass
class Row:
    """One judged translation: an MT (or human) text of one source segment, with its human score."""

    dataset: str  # "mqm" or "da"
    lp: str
    doc: str
    seg: int
    system: str
    src: str
    mt: str
    ref: str
    human: float  # MQM score (0 best, negative worse) or DA z
    is_human: bool = False
    ref_alt: str = ""
    # MQM only: target-side error spans (start, end, severity, category top) with offsets into `mt`.
    spans: list[tuple[int, int, str, str]] = field(default_factory=list)
    has_categories: bool = False

    @property
    def item(self) -> tuple[str, str, int]:
        """The source segment: tau_item compares the translations of one item."""
        return (self.lp, self.doc, self.seg)

    @property
    def has_major(self) -> bool:
        return any(sev in ("Major", "Critical") for _, _, sev, _ in self.spans)

    def penalty(self, top: str) -> float:
        """Weighted error sum of one category top (`Accuracy`, `Fluency`, ...) on the MT side."""
        return sum(SEVERITY_WEIGHT.get(sev, 0.0) for _, _, sev, cat in self.spans if cat == top)


def _mqm_row(r: dict) -> Row | None:
    if r.get("mqm_score") is None or not r.get("mt") or not r.get("ref"):
        return None
    spans = []
    for e in r.get("errors") or []:
        if e.get("side", "target") != "target" or e.get("severity") not in SEVERITY_WEIGHT:
            continue
        top = str(e.get("cat_top") or str(e.get("category") or "").split("/")[0] or "None")
        spans.append((int(e["start"]), int(e["end"]), e["severity"], top))
    return Row(
        dataset="mqm",
        lp=r.get("lp", "zh-en"),
        doc=str(r["doc"]),
        seg=int(r["seg"]),
        system=str(r["system"]),
        src=r.get("src") or "",
        mt=r["mt"],
        ref=r["ref"],
        human=float(r["mqm_score"]),
        is_human=bool(r.get("is_human")),
        ref_alt=r.get("ref_alt") or "",
        spans=spans,
        has_categories=r.get("set") == "ted21",
    )


def _da_row(r: dict) -> Row | None:
    if r.get("z") is None or not r.get("mt") or not r.get("ref"):
        return None
    return Row(
        dataset="da",
        lp=r.get("lp", ""),
        doc=str(r["doc"]),
        seg=int(r["seg"]),
        system=str(r["system"]),
        src=r.get("src") or "",
        mt=r["mt"],
        ref=r["ref"],
        human=float(r["z"]),
        is_human=bool(r.get("is_human")),
    )


def read_rows(path: str | Path, split: str = "all") -> list[Row]:
    """Rows of one shared file (MQM or DA, told apart by their fields), restricted to a document half."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: pass the file from the shared data folder")
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            r = json.loads(line)
            row = _mqm_row(r) if "mqm_score" in r else _da_row(r)
            if row is not None and in_split(row.lp, row.doc, split):
                rows.append(row)
    return rows


def data_file(data_dir: str | Path, name: str) -> Path:
    path = Path(data_dir) / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: pass the folder holding {name}")
    return path


def file_digest(paths: list[Path]) -> str:
    """sha1 over the files' bytes: names the exact data a model was trained on."""
    h = hashlib.sha1()
    for p in sorted(paths):
        h.update(p.name.encode())
        with open(p, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def read_documents(data_path: str | Path) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """doc -> system -> [(mt line, ref line)] in segment order, from a WMT DA jsonl file."""
    path = Path(data_path)
    if not path.is_file():
        raise ValueError(f"alignment data not found: {path}")
    rows: dict[str, dict[str, list[tuple[int, str, str]]]] = defaultdict(lambda: defaultdict(list))
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                doc = f"{row['lp']}/{row['doc']}" if "lp" in row else str(row["doc"])
                rows[doc][row["system"]].append((int(row["seg"]), row["mt"], row["ref"]))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise ValueError(
                    f"{path}:{line_no}: not a WMT DA row with doc/system/seg/mt/ref ({exc})"
                ) from exc
    return {
        doc: {system: [(mt, ref) for _, mt, ref in sorted(segs)] for system, segs in systems.items()}
        for doc, systems in rows.items()
    }
