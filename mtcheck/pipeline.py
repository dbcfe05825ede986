"""The pipeline: read -> segment -> align -> metric -> flag, article by article.

`Checker` is built once per process and holds the models (loaded lazily, once), so a batch of
articles pays the start-up cost a single time. It returns plain `ArticleResult`s; writing them
is the report stage's job. `stage_hooks` are called with (stage, seconds) after every stage of every
article: the benchmark times the pipeline through them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from mtcheck import __version__
from mtcheck.align import align
from mtcheck.flag import Flagger, same_wording
from mtcheck.io import read_text
from mtcheck.lexical import LexicalScores
from mtcheck.metric import Metric, UnitPrediction, load_metric
from mtcheck.models import Embedder, SourceEncoder
from mtcheck.segment import segment, segment_lines
from mtcheck.types import (
    NO_REFERENCE,
    ArticleResult,
    InputError,
    MtcheckError,
    Sentence,
    Unit,
    UnitResult,
    UnitScores,
    check_ref_kind,
)

MODES = ("article", "segmented", "aligned")

# Below this mean best-match cosine between MT and reference sentences the two files are taken
# to be different stories (unrelated news pairs score about 0.1-0.3 with MiniLM, garbled MT of the
# same story 0.5 and up).
MISMATCH_SIMILARITY = 0.35


@dataclass(frozen=True)
class CheckOptions:
    ref_kind: str = "reference"  # "reference" (human) or "retranslation" (another MT system)
    mode: str = "article"  # "article" (split + align), "segmented" (one sentence a line), "aligned"
    # The networks' matmuls: "bf16" (fast on CPUs with AVX-512 BF16 or AMX, emulated and far slower
    # elsewhere), "fp32", or "auto": bf16 where the CPU has it natively.
    precision: str = "auto"
    check_pairing: bool = True  # refuse an MT/reference pair that looks like two different stories
    # chrF alone aligns nearly as well (strict F1 0.982 vs 0.986 on ru-en) at a fraction of the cost.
    align_embeddings: bool = False
    # Fast mode: the sentence embedder does not run. Units get no `similarity`, and nothing checks that
    # the two texts tell the same story (as with check_pairing off); scores, flags and verdicts are
    # those of the full mode, which embeds every sentence for those two alone.
    fast: bool = False

    def __post_init__(self) -> None:
        check_ref_kind(self.ref_kind)
        if self.mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.fast and self.align_embeddings:
            raise InputError("fast mode runs no sentence embedder: drop --fast or --align-embeddings")

    @property
    def embeds(self) -> bool:
        """Whether the sentence embedder runs (everything but fast mode)."""
        return not self.fast

    @property
    def pairing_checked(self) -> bool:
        """Whether MT and second text are checked to tell the same story (on embeddings; not line-aligned)."""
        return self.check_pairing and self.embeds and self.mode != "aligned"


StageHook = Callable[[str, float], None]


class Checker:
    """Checks articles; owns the models (each loaded lazily, once)."""

    def __init__(
        self,
        options: CheckOptions | None = None,
        embedder_path: str | Path | None = None,
        model_path: str | Path | None = None,
        source_encoder=None,
        metric: Metric | None = None,
        stage_hooks: list[StageHook] | None = None,
    ):
        self.options = options or CheckOptions()
        self.embedder = Embedder(embedder_path, precision=self.options.precision)
        self.metric = metric or load_metric(model_path, precision=self.options.precision)
        # The multilingual source encoder loads on the first article that comes with a source text; such
        # articles get `src_similarity` (MT vs source cosine) and name the encoder in their signature.
        self.source_encoder = source_encoder or SourceEncoder()
        self.lexical = LexicalScores()
        self.flagger = Flagger(self.metric.config.get("verdict"))
        self.stage_hooks = list(stage_hooks or [])
        self.sentences = 0
        # Segmentations done ahead by `prefetch`, taken (once) by `check`, keyed by the article's texts.
        self._segmented: dict[tuple[str, str | None, str | None], tuple] = {}
        # File contents read ahead by `prefetch_files`, taken (once) by `check_files`, keyed by their paths.
        self._read: dict[tuple[Path, Path | None, Path | None], tuple[str, str | None, str | None]] = {}
        # Alignments and the metric's unit predictions done ahead by `prefetch`: units keyed by the
        # article's texts, predictions by (MT unit, reference unit or None); `check` takes each once.
        self._aligned: dict[tuple[str, str | None, str | None], list[Unit]] = {}
        self._predicted: dict[tuple[str, str | None], UnitPrediction] = {}

    @property
    def signature(self) -> str:
        align = "chrf+emb" if self.options.align_embeddings else "chrf"
        embedder = self.embedder.name if self.options.embeds else "none"
        return (
            f"mtcheck:{__version__}|emb:{embedder}|{self.metric.signature}|{self.lexical.signature}"
            f"|{self.flagger.signature}|mode:{self.options.mode}|align:{align}"
        )

    @contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            for hook in self.stage_hooks:
                hook(stage, time.perf_counter() - start)

    def prefetch(self, articles: list[tuple[str, str | None, str | None]]) -> None:
        """Segment several upcoming articles (MT, reference or None, source or None), embed their
        sentences, align them and run the metric over all their units, each in one go.

        Both networks then run length-sorted batches across articles instead of a few small ones per
        article; `check` finds the segments, vectors, alignments and unit predictions ready. An article
        that fails here is left alone: its own `check` raises the error. The embedder's memo is made to
        hold the whole window's vectors until the next window.
        """
        texts: list[str] = []
        # What an earlier window left unchecked is dropped, not hoarded.
        self._segmented.clear()
        self._aligned.clear()
        self._predicted.clear()
        with self._timed("segment"):
            for key in articles:
                try:
                    ready = self._segment(*key)
                except MtcheckError:
                    continue
                self._segmented[key] = ready
                texts += [s.text for s in ready[0]] + [s.text for s in ready[1] or []]
        if self.options.embeds:
            with self._timed("embed"):
                self.embedder.reserve(len(set(texts)))
                self.embedder.encode(texts)
        # Align every article of the window, then run the metric once over all their units: one
        # article's units alone make small, padded batches (8 units an article on ru-en news).
        pairs: dict[tuple[str, str | None], None] = {}
        for key, (mt_sents, ref_sents, _src) in self._segmented.items():
            if not mt_sents or (ref_sents is not None and not ref_sents):
                continue  # `check` raises the error
            if ref_sents and self.options.pairing_checked:
                try:
                    self._check_pairing("", mt_sents, ref_sents, self.options.ref_kind)
                except MtcheckError:
                    continue
            with self._timed("align"):
                units = self._align(mt_sents, ref_sents or [])
            self._aligned[key] = units
            for mt, ref in zip(*self._unit_texts(units, mt_sents, ref_sents or []), strict=True):
                if mt:
                    pairs[(mt, ref or None)] = None
        if pairs:
            with self._timed("metric"):
                prediction = self.metric.predict([m for m, _ in pairs], [r for _, r in pairs])
            self._predicted = dict(zip(pairs, prediction.units, strict=True))

    def prefetch_files(self, articles: list[tuple[Path, Path | None, Path | None]]) -> None:
        """`prefetch` for articles given as files (MT, reference or None, source or None): each is read
        once here, and `check_files` takes the texts read. A file that can't be read is left for its own
        check."""
        self._read.clear()  # like the segmentations: an earlier window's leftovers are dropped
        with self._timed("read"):
            for paths in articles:
                try:
                    self._read[paths] = self._read_files(*paths)
                except MtcheckError:
                    continue
        self.prefetch(list(self._read.values()))

    @staticmethod
    def _read_files(
        mt_path: Path, ref_path: Path | None, src_path: Path | None
    ) -> tuple[str, str | None, str | None]:
        return (
            read_text(mt_path),
            read_text(ref_path) if ref_path else None,
            read_text(src_path) if src_path else None,
        )

    def check_files(
        self,
        doc: str,
        mt_path: Path,
        ref_path: Path | None,
        src_path: Path | None = None,
        ref_kind: str | None = None,
    ) -> ArticleResult:
        """Check one article from its files (read by `prefetch_files` if it saw them, else now)."""
        with self._timed("read"):
            texts = self._read.pop((mt_path, ref_path, src_path), None)
            mt_text, ref_text, src_text = texts or self._read_files(mt_path, ref_path, src_path)
        result = self.check(doc, mt_text, ref_text, src_text, ref_kind)
        result.mt_path, result.ref_path = str(mt_path), str(ref_path or "")
        result.src_path = str(src_path) if src_path else ""
        return result

    def check(
        self,
        doc: str,
        mt_text: str,
        ref_text: str | None,
        src_text: str | None = None,
        ref_kind: str | None = None,
    ) -> ArticleResult:
        """Check one article. `ref_text` None reads the MT alone (reference-free scores and flags);
        `ref_kind` overrides the options' kind of reference for this article."""
        opts = self.options
        ref_kind = NO_REFERENCE if ref_text is None else check_ref_kind(ref_kind or opts.ref_kind)
        with self._timed("segment"):
            ready = self._segmented.pop((mt_text, ref_text, src_text), None)
            mt_sents, ref_sents, src_sents = ready or self._segment(mt_text, ref_text, src_text)
        if not mt_sents:
            raise InputError(f"{doc}: the MT text has no sentences; check the file")
        if ref_sents is not None and not ref_sents:
            raise InputError(f"{doc}: the {ref_kind} text has no sentences; check the file")
        self.sentences += len(mt_sents)
        ref_sents = ref_sents or []

        if opts.embeds:
            with self._timed("embed"):
                # One MiniLM pass over every sentence of both sides; the pairing check, the aligner (with
                # --align-embeddings) and the similarity column then read the embedder's memo.
                self.embedder.encode([s.text for s in mt_sents] + [s.text for s in ref_sents])
                if ref_sents and opts.pairing_checked:
                    self._check_pairing(doc, mt_sents, ref_sents, ref_kind)

        with self._timed("align"):
            units = self._aligned.pop((mt_text, ref_text, src_text), None) or self._align(mt_sents, ref_sents)

        mt_units, ref_units = self._unit_texts(units, mt_sents, ref_sents)
        src_units = None
        if src_sents:
            with self._timed("source"):
                src_units = self._source_units(units, mt_sents, src_sents)
        with self._timed("metric"):
            unit_predictions = self._predict(mt_units, ref_units)
            if ref_kind == "reference":
                # The reference's own wording is what the reference says: full marks, whatever the
                # network makes of it (`flag.same_wording`; its flags are dropped in the flag stage).
                unit_predictions = [
                    replace(p, quality=100.0, adequacy=100.0, spans=[]) if same_wording(m, r) else p
                    for p, m, r in zip(unit_predictions, mt_units, ref_units, strict=True)
                ]
        with self._timed("score"):
            scores = self._unit_scores(mt_units, ref_units, src_units, unit_predictions)

        results = []
        has_ref = bool(ref_sents)
        with self._timed("flag"):
            for n, (unit, mt, ref, unit_scores, predicted) in enumerate(
                zip(units, mt_units, ref_units, scores, unit_predictions, strict=True)
            ):
                kind = mt_sents[unit.mt_ids[0]].kind if unit.mt_ids else ref_sents[unit.ref_ids[0]].kind
                src = src_units[n] if src_units else ""
                flags = (
                    self.flagger.flag(mt, ref, predicted.spans, ref_kind, src=src, kind=kind) if mt else []
                )
                verdict = (
                    self.flagger.verdict(unit_scores.quality, flags, ref_kind, has_ref) if mt else "review"
                )
                results.append(
                    UnitResult(
                        doc=doc,
                        unit=n,
                        mt_ids=list(unit.mt_ids),
                        ref_ids=list(unit.ref_ids),
                        mt=mt,
                        ref=ref,
                        src=src,
                        scores=unit_scores,
                        flags=flags,
                        verdict=verdict,
                        mt_spans=[(mt_sents[i].start, mt_sents[i].end) for i in unit.mt_ids],
                        ref_spans=[(ref_sents[i].start, ref_sents[i].end) for i in unit.ref_ids],
                        mt_kind=kind,
                    )
                )
        signature = f"{self.signature}|ref:{ref_kind}" + (
            f"|src:{self.source_encoder.name}" if src_units else ""
        )
        return ArticleResult(doc=doc, units=results, ref_kind=ref_kind, signature=signature)

    def _align(self, mt_sents: list[Sentence], ref_sents: list[Sentence]) -> list[Unit]:
        if not ref_sents:
            return [Unit((i,), ()) for i in range(len(mt_sents))]
        if self.options.mode == "aligned":
            return [Unit((i,), (i,)) for i in range(len(mt_sents))]
        return align(
            [s.text for s in mt_sents],
            [s.text for s in ref_sents],
            embed=self.embedder.encode if self.options.align_embeddings else None,
        )

    @staticmethod
    def _unit_texts(
        units: list[Unit], mt_sents: list[Sentence], ref_sents: list[Sentence]
    ) -> tuple[list[str], list[str]]:
        mt_units = [" ".join(mt_sents[i].text for i in u.mt_ids) for u in units]
        ref_units = [" ".join(ref_sents[i].text for i in u.ref_ids) for u in units]
        return mt_units, ref_units

    def _predict(self, mt_units: list[str], ref_units: list[str]) -> list[UnitPrediction]:
        """The metric's prediction per unit: from `prefetch`'s batch where it ran, the rest now."""
        keys = [(m, r or None) for m, r in zip(mt_units, ref_units, strict=True)]
        known = {k: self._predicted.pop(k) for k in keys if k in self._predicted}
        missing = [k for k in dict.fromkeys(keys) if k not in known]
        if missing:
            prediction = self.metric.predict([m for m, _ in missing], [r for _, r in missing])
            known.update(zip(missing, prediction.units, strict=True))
        return [known[k] for k in keys]

    def _unit_scores(self, mt_units, ref_units, src_units, predicted) -> list[UnitScores]:
        """The metric's scores beside the sacrebleu columns, the MiniLM cosine and the source cosine."""
        both = [
            i for i, (m, r) in enumerate(zip(mt_units, ref_units, strict=True)) if m.strip() and r.strip()
        ]
        cosine = {}
        if both and self.options.embeds:
            mt_vecs = self.embedder.encode([mt_units[i] for i in both])
            ref_vecs = self.embedder.encode([ref_units[i] for i in both])
            cosine = dict(zip(both, (mt_vecs * ref_vecs).sum(axis=1).tolist(), strict=True))
        src_cosine = {}
        if src_units:
            have = [
                i for i, (m, s) in enumerate(zip(mt_units, src_units, strict=True)) if m.strip() and s.strip()
            ]
            if have:
                mt_vecs = self.source_encoder.encode([mt_units[i] for i in have])
                src_vecs = self.source_encoder.encode([src_units[i] for i in have])
                src_cosine = dict(zip(have, (mt_vecs * src_vecs).sum(axis=1).tolist(), strict=True))
        out = []
        for i, (mt, ref, p) in enumerate(zip(mt_units, ref_units, predicted, strict=True)):
            chrf, bleu, ter = self.lexical.score(mt, ref)
            features = dict(p.raw)
            if i in src_cosine:
                features["src_similarity"] = round(float(src_cosine[i]), 4)
            out.append(
                UnitScores(
                    chrf=chrf,
                    bleu=bleu,
                    ter=ter,
                    # Four decimals: beyond them the cosine moves with how MiniLM's batches were
                    # composed (other articles in the window), and a rerun must give the same bytes.
                    similarity=round(float(cosine[i]), 4) if i in cosine else None,
                    fluency=p.fluency,
                    adequacy=p.adequacy,
                    quality=p.quality,
                    features=features,
                )
            )
        return out

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
        self, mt_text: str, ref_text: str | None, src_text: str | None
    ) -> tuple[list[Sentence], list[Sentence] | None, list[Sentence] | None]:
        mode = self.options.mode
        if mode == "article":
            return (
                segment(mt_text),
                segment(ref_text) if ref_text is not None else None,
                segment(src_text) if src_text else None,
            )
        keep_empty = mode == "aligned"
        mt = segment_lines(mt_text, keep_empty=keep_empty)
        ref = segment_lines(ref_text, keep_empty=keep_empty) if ref_text is not None else None
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
