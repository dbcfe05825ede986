"""The pipeline: segment -> align -> score -> flag, for one article at a time.

`Checker` is built once per process and holds the models (loaded lazily, once), so a batch of
articles pays the start-up cost a single time. It returns plain `ArticleResult`s; writing them
is the report stage's job.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtcheck.align import align
from mtcheck.flag import Flagger
from mtcheck.io import read_text
from mtcheck.models import CausalLM, Embedder, SourceEncoder
from mtcheck.score import Scorer
from mtcheck.segment import segment, segment_lines
from mtcheck.types import REF_KINDS, ArticleResult, InputError, MtcheckError, Sentence, Unit, UnitResult

MODES = ("article", "segmented", "aligned")

# Below this mean best-match cosine between MT and reference sentences the two files are taken
# to be different stories (unrelated news pairs score about 0.1-0.3 with MiniLM, garbled MT of the
# same story 0.5 and up).
MISMATCH_SIMILARITY = 0.35


@dataclass(frozen=True)
class CheckOptions:
    ref_kind: str = "reference"  # "reference" (human) or "retranslation" (another MT system)
    mode: str = "article"  # "article" (split + align), "segmented" (one sentence a line), "aligned"
    use_lm: bool = True  # False = fast mode: no causal LM (fluency from LM-free features)
    check_pairing: bool = True  # refuse an MT/reference pair that looks like two different stories
    # chrF alone aligns nearly as well (strict F1 0.982 vs 0.986 on ru-en, README) at a fraction of the
    # cost: the aligner's MiniLM pass over every candidate concatenation dominated the benchmark.
    align_embeddings: bool = False

    def __post_init__(self) -> None:
        if self.ref_kind not in REF_KINDS:
            raise InputError(f"--ref-kind must be one of {', '.join(REF_KINDS)}, not {self.ref_kind!r}")
        if self.mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")


class _TimedModel:
    """Passes everything through to a model, adding the wall time of its scoring calls to a stage timer.

    Lets the benchmark report the causal LM's share apart from the rest of the score stage.
    """

    _TIMED = ("surprisal", "conditional_surprisal")

    def __init__(self, model, add_time):
        self._model = model
        self._add_time = add_time
        self.texts_run = 0  # texts scored (MT alone and MT after its reference count separately)

    def __getattr__(self, name: str):
        attr = getattr(self._model, name)
        if name not in self._TIMED:
            return attr

        def timed(*args, **kwargs):
            self.texts_run += len(args[0]) if args else 0
            start = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self._add_time(time.perf_counter() - start)

        return timed


class Checker:
    """Checks articles; owns the models and the per-stage timings (seconds, summed over articles)."""

    def __init__(
        self,
        options: CheckOptions | None = None,
        embedder_path: str | Path | None = None,
        lm_path: str | Path | None = None,
        source_encoder=None,
    ):
        self.options = options or CheckOptions()
        self.embedder = Embedder(embedder_path)
        lm = CausalLM(lm_path) if self.options.use_lm else None
        if lm is not None:
            lm = _TimedModel(lm, self._add_lm_time)
        # The multilingual source encoder loads on the first article that comes with a source text; such
        # articles get `src_similarity` (MT vs source cosine) and name the encoder in their signature.
        self.source_encoder = source_encoder or SourceEncoder()
        self.scorer = Scorer(
            embedder=self.embedder, lm=lm, use_lm=self.options.use_lm, src_encoder=self.source_encoder
        )
        self.flagger = Flagger()
        self.timings: dict[str, float] = defaultdict(float)
        self.sentences = 0
        # Segmentations done ahead by `prefetch`, taken (once) by `check`, keyed by the article's texts.
        self._segmented: dict[tuple[str, str, str | None], tuple] = {}
        # File contents read ahead by `prefetch_files`, taken (once) by `check_files`, keyed by their paths.
        self._read: dict[tuple[Path, Path, Path | None], tuple[str, str, str | None]] = {}

    @property
    def signature(self) -> str:
        align = "chrf+emb" if self.options.align_embeddings else "chrf"
        return f"{self.scorer.signature}|{self.flagger.signature}|mode:{self.options.mode}|align:{align}"

    def _add_lm_time(self, seconds: float) -> None:
        # LM time is spent inside the score stage; it is moved to its own "lm" stage.
        self.timings["lm"] += seconds
        self.timings["score"] -= seconds

    @contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] += time.perf_counter() - start

    def prefetch(self, articles: list[tuple[str, str, str | None]]) -> None:
        """Segment several upcoming articles (MT, reference, source or None) and embed all their sentences.

        MiniLM then runs length-sorted batches across articles instead of one small batch per article
        (`mtcheck benchmark` shows the gain); `check` finds the segments and vectors ready. An article
        that fails here is left alone: its own `check` raises the error. Windows of a few dozen
        articles keep the vectors within the embedder's memo.
        """
        texts: list[str] = []
        self._segmented.clear()  # what an earlier window left unchecked is dropped, not hoarded
        with self._timed("segment"):
            for key in articles:
                try:
                    ready = self._segment(*key)
                except MtcheckError:
                    continue
                self._segmented[key] = ready
                texts += [s.text for s in ready[0]] + [s.text for s in ready[1]]
        with self._timed("embed"):
            self.embedder.encode(texts)

    def prefetch_files(self, articles: list[tuple[Path, Path, Path | None]]) -> None:
        """`prefetch` for articles given as files (MT, reference, source or None): each is read once here,
        and `check_files` takes the texts read. A file that can't be read is left for its own check."""
        self._read.clear()  # like the segmentations: an earlier window's leftovers are dropped
        with self._timed("read"):
            for paths in articles:
                try:
                    self._read[paths] = self._read_files(*paths)
                except MtcheckError:
                    continue
        self.prefetch(list(self._read.values()))

    @staticmethod
    def _read_files(mt_path: Path, ref_path: Path, src_path: Path | None) -> tuple[str, str, str | None]:
        return read_text(mt_path), read_text(ref_path), read_text(src_path) if src_path else None

    def check_files(
        self,
        doc: str,
        mt_path: Path,
        ref_path: Path,
        src_path: Path | None = None,
        ref_kind: str | None = None,
    ) -> ArticleResult:
        """Check one article from its files (read by `prefetch_files` if it saw them, else now)."""
        with self._timed("read"):
            texts = self._read.pop((mt_path, ref_path, src_path), None)
            mt_text, ref_text, src_text = texts or self._read_files(mt_path, ref_path, src_path)
        result = self.check(doc, mt_text, ref_text, src_text, ref_kind)
        result.mt_path, result.ref_path = str(mt_path), str(ref_path)
        result.src_path = str(src_path) if src_path else ""
        return result

    def check(
        self,
        doc: str,
        mt_text: str,
        ref_text: str,
        src_text: str | None = None,
        ref_kind: str | None = None,
    ) -> ArticleResult:
        """Check one article; `ref_kind` overrides the default of the options for this article."""
        opts = self.options
        ref_kind = ref_kind or opts.ref_kind
        if ref_kind not in REF_KINDS:
            raise InputError(f"ref_kind must be one of {', '.join(REF_KINDS)}, not {ref_kind!r}")
        with self._timed("segment"):
            ready = self._segmented.pop((mt_text, ref_text, src_text), None)
            mt_sents, ref_sents, src_sents = ready or self._segment(mt_text, ref_text, src_text)
        if not mt_sents:
            raise InputError(f"{doc}: the MT text has no sentences; check the file")
        if not ref_sents:
            raise InputError(f"{doc}: the {ref_kind} text has no sentences; check the file")
        self.sentences += len(mt_sents)

        with self._timed("embed"):
            # One MiniLM pass over every sentence of both sides; the pairing check, the aligner (with
            # --align-embeddings) and the scorer then read the embedder's memo instead of re-running it.
            self.embedder.encode([s.text for s in mt_sents] + [s.text for s in ref_sents])
            if opts.check_pairing and opts.mode != "aligned":
                self._check_pairing(doc, mt_sents, ref_sents, ref_kind)

        with self._timed("align"):
            if opts.mode == "aligned":
                units = [Unit((i,), (i,)) for i in range(len(mt_sents))]
            else:
                units = align(
                    [s.text for s in mt_sents],
                    [s.text for s in ref_sents],
                    embed=self.embedder.encode if opts.align_embeddings else None,
                )

        mt_units = [" ".join(mt_sents[i].text for i in u.mt_ids) for u in units]
        ref_units = [" ".join(ref_sents[i].text for i in u.ref_ids) for u in units]
        src_units = None
        if src_sents:
            with self._timed("source"):
                src_units = self._source_units(units, mt_sents, src_sents)
        with self._timed("score"):
            scores = self.scorer.score_units(mt_units, ref_units, src_units)

        results = []
        with self._timed("flag"):
            for n, (unit, mt, ref, unit_scores) in enumerate(
                zip(units, mt_units, ref_units, scores, strict=True)
            ):
                kind = mt_sents[unit.mt_ids[0]].kind if unit.mt_ids else ref_sents[unit.ref_ids[0]].kind
                src = src_units[n] if src_units else ""
                flags = self.flagger.flag(mt, ref, unit_scores, ref_kind, src=src, kind=kind) if mt else []
                results.append(
                    UnitResult(
                        doc=doc,
                        unit=n,
                        mt_ids=list(unit.mt_ids),
                        ref_ids=list(unit.ref_ids),
                        link=unit.link,
                        mt=mt,
                        ref=ref,
                        src=src,
                        scores=unit_scores,
                        flags=flags,
                        verdict=self.flagger.verdict(unit_scores, flags, ref_kind) if mt else "review",
                        mt_spans=[(mt_sents[i].start, mt_sents[i].end) for i in unit.mt_ids],
                        ref_spans=[(ref_sents[i].start, ref_sents[i].end) for i in unit.ref_ids],
                        mt_kind=kind,
                    )
                )
        return ArticleResult(
            doc=doc,
            units=results,
            ref_kind=ref_kind,
            signature=f"{self.signature}|ref:{ref_kind}"
            + (f"|src:{self.source_encoder.name}" if src_units else ""),
        )

    def _source_units(
        self, units: list[Unit], mt_sents: list[Sentence], src_sents: list[Sentence]
    ) -> list[str]:
        """The source text behind each unit's MT sentences.

        Line-parallel files (--aligned / --segmented with equal line counts) pair by line; otherwise the
        MT sentences are aligned to the source sentences with the multilingual encoder.
        """
        if self.options.mode != "article" and len(src_sents) == len(mt_sents):
            behind = {i: [i] for i in range(len(mt_sents))}
        else:
            links = align(
                [s.text for s in mt_sents],
                [s.text for s in src_sents],
                embed=self.source_encoder.encode,
                cross_lingual=True,
            )
            behind = {i: list(link.ref_ids) for link in links for i in link.mt_ids}
        result = []
        for unit in units:
            ids = list(dict.fromkeys(j for i in unit.mt_ids for j in behind.get(i, [])))
            result.append(" ".join(src_sents[j].text for j in ids))
        return result

    def _segment(
        self, mt_text: str, ref_text: str, src_text: str | None
    ) -> tuple[list[Sentence], list[Sentence], list[Sentence] | None]:
        mode = self.options.mode
        if mode == "article":
            return segment(mt_text), segment(ref_text), segment(src_text) if src_text else None
        keep_empty = mode == "aligned"
        mt = segment_lines(mt_text, keep_empty=keep_empty)
        ref = segment_lines(ref_text, keep_empty=keep_empty)
        src = segment_lines(src_text, keep_empty=keep_empty) if src_text else None
        if mode == "aligned":
            for name, other in (("reference", ref), ("source", src)):
                if other is not None and len(other) != len(mt):
                    raise InputError(
                        f"--aligned needs line-parallel files: MT has {len(mt)} lines, {name} has "
                        f"{len(other)}; fix the files or drop --aligned to align them"
                    )
        return mt, ref, src

    def _check_pairing(
        self, doc: str, mt_sents: list[Sentence], ref_sents: list[Sentence], ref_kind: str
    ) -> None:
        """Refuse two different stories: scoring them would fill a report with meaningless flags."""
        mt_vecs = self.embedder.encode([s.text for s in mt_sents])
        ref_vecs = self.embedder.encode([s.text for s in ref_sents])
        best = (mt_vecs @ ref_vecs.T).max(axis=1)
        similarity = float(np.mean(best))
        if similarity < MISMATCH_SIMILARITY:
            raise InputError(
                f"{doc}: MT and {ref_kind} look like different stories (mean best sentence "
                f"similarity {similarity:.2f} < {MISMATCH_SIMILARITY}); check the file pairing "
                "or pass --no-pairing-check"
            )
