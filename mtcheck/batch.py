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
import hashlib
import json
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


# Articles read, embedded, aligned and scored together ahead of checking (see Checker.prefetch): larger
# windows give both networks fuller batches and fewer new shapes to build kernels for. 64 against 16 ran the
# ru-en benchmark about 20% faster on a Xeon with AMX (docs/2026-12-04-shapes.md); the embedder's memo
# grows to hold a window's sentences.
PREFETCH_WINDOW = 64


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


# ---------------------------------------------------------------------------- resuming a batch

LEDGER_DIR = ".mtcheck"  # inside the output folder: one small record per finished article


def input_digest(job: Job) -> str:
    """sha256 over what decides an article's result besides the run's settings: its name, the kind of
    its second text, and the bytes of its MT, reference and source files."""
    digest = hashlib.sha256()
    for part in (job.doc, job.ref_kind):
        digest.update(part.encode("utf-8") + b"\0")
    for path in (job.mt, job.ref, job.src):
        data = path.read_bytes() if path is not None else b""
        digest.update(f"{path is not None}:{len(data)}:".encode() + data)
    return digest.hexdigest()


class Ledger:
    """What a batch has finished, so a batch stopped halfway (killed, crashed, out of time) and started
    again with the same command redoes only the rest.

    An article counts as finished when its three reports exist and its record, written atomically after
    them, names the same input digest (`input_digest`) and run signature (`Checker.signature`)."""

    def __init__(self, out_dir: Path, signature: str):
        self.out_dir = Path(out_dir)
        self.folder = self.out_dir / LEDGER_DIR
        self.signature = signature

    def _record_path(self, doc: str) -> Path:
        from mtcheck.report import safe_doc_name

        return self.folder / f"{safe_doc_name(doc)}.json"

    def finished(self, job: Job, digest: str) -> ArticleResult | None:
        """The article's result as reported, if this run already finished it with these inputs."""
        from mtcheck.report import article_paths, read_article

        try:
            record = json.loads(self._record_path(job.doc).read_text(encoding="utf-8"))
            if (record["doc"], record["digest"], record["signature"]) != (job.doc, digest, self.signature):
                return None
            paths = article_paths(job.doc, self.out_dir)
            if not all(path.exists() for path in paths.values()):
                return None
            units = read_article(paths["jsonl"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no record, or one from an older layout: the article is checked again
        return ArticleResult(
            doc=job.doc,
            units=units,
            ref_kind=record["ref_kind"],
            signature=record["article_signature"],
            mt_path=record["mt_path"],
            ref_path=record["ref_path"],
            src_path=record["src_path"],
        )

    def record(self, result: ArticleResult, digest: str) -> None:
        """Mark `result` finished (call after its reports are written)."""
        from mtcheck.report import write_atomic

        self.folder.mkdir(parents=True, exist_ok=True)
        record = {
            "doc": result.doc,
            "digest": digest,
            "signature": self.signature,
            "article_signature": result.signature,
            "ref_kind": result.ref_kind,
            "mt_path": result.mt_path,
            "ref_path": result.ref_path,
            "src_path": result.src_path,
        }
        write_atomic(self._record_path(result.doc), json.dumps(record, ensure_ascii=False, indent=1))

    def split(self, jobs: list[Job], force: bool = False) -> tuple[list[Job], list[ArticleResult], dict]:
        """(jobs still to check, results already finished, {doc: input digest}). A job whose files can't be
        read is left to check, which reports the problem."""
        pending: list[Job] = []
        done: list[ArticleResult] = []
        digests: dict[str, str] = {}
        for job in jobs:
            try:
                digests[job.doc] = input_digest(job)
            except OSError:
                pending.append(job)
                continue
            result = None if force else self.finished(job, digests[job.doc])
            if result is None:
                pending.append(job)
            else:
                done.append(result)
        return pending, done, digests
