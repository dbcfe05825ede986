"""Batch runs: find MT/reference pairs in a folder or a manifest, check each, keep going past bad ones.

Folder convention (matched by file name, any extension such as .txt or .html):
  NAME.mt.EXT       the machine translation
  NAME.ref.EXT      a human reference translation         -> article "NAME"
  NAME.retrans.EXT  a retranslation (another MT system)   -> article "NAME.retrans"
  NAME.src.EXT      optional source text
Manifest: a CSV with columns doc,mt,ref and optional src,ref_kind; relative paths are read
relative to the manifest's folder.
An MT with no partner is listed as failed, or with `mt_alone` scored from the MT alone.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from mtcheck.types import (
    NO_REFERENCE,
    ArticleResult,
    InputError,
    MtcheckError,
    check_ref_kind,
    internal_error_message,
)

log = logging.getLogger("mtcheck")
_ROLE = re.compile(r"^(?P<name>.+)\.(?P<role>mt|ref|retrans|src)\.[A-Za-z0-9]+$")


@dataclass(frozen=True)
class Job:
    doc: str
    mt: Path
    ref: Path | None  # None: the MT is read alone
    src: Path | None = None
    ref_kind: str = "reference"


def discover(path: Path, mt_alone: bool = False) -> tuple[list[Job], list[tuple[str, str]]]:
    """Jobs found at `path` (folder or manifest CSV), and (name, problem) for files that can't form one.

    With `mt_alone` an MT that has no reference or retranslation becomes a reference-free job."""
    if path.is_file():
        return _from_manifest(path, mt_alone)
    if not path.is_dir():
        raise InputError(f"batch input not found: {path}; give a folder of NAME.mt.txt/NAME.ref.txt or a CSV")
    roles: dict[str, dict[str, Path]] = {}
    for file in sorted(path.iterdir()):
        match = _ROLE.match(file.name)
        if file.is_file() and match:
            roles.setdefault(match["name"], {})[match["role"]] = file
    jobs, problems = [], []
    for name, files in sorted(roles.items()):
        if "mt" not in files:
            problems.append(
                (name, f"no MT file: expected {name}.mt.txt beside {sorted(files.values())[0].name}")
            )
            continue
        partners = [("ref", "reference", name), ("retrans", "retranslation", f"{name}.retrans")]
        found = [(files[role], kind, doc) for role, kind, doc in partners if role in files]
        if not found and mt_alone:
            jobs.append(Job(doc=name, mt=files["mt"], ref=None, src=files.get("src"), ref_kind=NO_REFERENCE))
        elif not found:
            problems.append(
                (name, f"missing partner: expected {name}.ref.txt or {name}.retrans.txt (or pass --mt-alone)")
            )
        for ref, kind, doc in found:
            jobs.append(Job(doc=doc, mt=files["mt"], ref=ref, src=files.get("src"), ref_kind=kind))
    if not jobs and not problems:
        raise InputError(f"no NAME.mt.txt files found in {path}")
    return jobs, problems


def _from_manifest(path: Path, mt_alone: bool = False) -> tuple[list[Job], list[tuple[str, str]]]:
    """Jobs from a manifest CSV; a row that can't form one (no MT or reference path, an unknown ref_kind,
    a doc name already used) is listed as a problem and the other rows go on."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(
            f"manifest {path} is not a readable CSV ({exc}); expected columns doc,mt,ref[,src]"
        ) from exc
    if not rows or not {"doc", "mt", "ref"} <= set(rows[0]):
        raise InputError(f"manifest {path} needs a header with columns doc,mt,ref (optional src,ref_kind)")
    base = path.parent

    def resolve(value: str | None) -> Path | None:
        return (base / value.strip()) if value and value.strip() else None

    jobs: list[Job] = []
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        doc = (row.get("doc") or "").strip() or f"row {line}"
        kind = (row.get("ref_kind") or "reference").strip()
        mt, ref = resolve(row.get("mt")), resolve(row.get("ref"))
        if mt is None or (ref is None and not mt_alone):
            missing = "mt" if mt is None else "ref"
            problems.append(
                (doc, f"manifest line {line} has no {missing} path; fill in its {missing} column")
            )
            continue
        try:
            kind = check_ref_kind(kind) if ref is not None else NO_REFERENCE
        except InputError as exc:
            problems.append((doc, f"manifest line {line}: {exc}"))
            continue
        if doc in seen:
            problems.append(
                (doc, f"manifest line {line} repeats the doc name {doc!r}; give each row its own")
            )
        else:
            seen.add(doc)
            jobs.append(Job(doc, mt, ref, resolve(row.get("src")), kind))
    return jobs, problems


PREFETCH_WINDOW = 16  # articles read and embedded together ahead of checking (see Checker.prefetch)


class Named(Protocol):
    """Anything run_batch can drive: a Job, or the benchmark's in-memory articles."""

    @property
    def doc(self) -> str: ...


AnyJob = TypeVar("AnyJob", bound=Named)


def run_batch(
    jobs: Iterable[AnyJob],
    check: Callable[[AnyJob], ArticleResult],
    on_result: Callable[[ArticleResult], None],
    prefetch: Callable[[list[AnyJob]], None] | None = None,
    window: int = PREFETCH_WINDOW,
    done: Callable[[], None] | None = None,
) -> list[tuple[str, str]]:
    """Check every job; a failing article is recorded as (doc, one-line reason) and the rest go on.

    `prefetch`, if given, sees each window of `window` jobs before they are checked (to batch model
    work across articles); whatever it raises is ignored, since each job's own check reports its error.
    `done` is called after each job (a progress bar).
    """
    failures = []
    jobs = list(jobs)
    for start in range(0, len(jobs), window):
        chunk = jobs[start : start + window]
        if prefetch is not None:
            try:
                prefetch(chunk)
            except Exception:  # noqa: BLE001  (each job's own check reports its error)
                log.debug("prefetch failed; the articles are checked one by one", exc_info=True)
        for job in chunk:
            try:
                result = check(job)
            except MtcheckError as exc:
                failures.append((job.doc, str(exc)))
            except Exception as exc:  # noqa: BLE001  (a bug on one article must not cost the others)
                log.debug("internal error on %s", job.doc, exc_info=True)
                failures.append((job.doc, internal_error_message(exc)))
            else:
                on_result(result)
            if done is not None:
                done()
    return failures
