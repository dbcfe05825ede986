"""Monotonic sentence alignment of an MT article to its reference (or a retranslation).

The MT-vs-reference setting is Bleualign's: both sides are English, so surface overlap (chrF) is
informative; Vecalign adds sentence embeddings of concatenated neighbours, a penalty on many-to-many
links and a similarity normalised against random pairs. This module combines the two:

* every candidate unit (1-1, 1-2, 2-1, 2-2, 1-3, 3-1, plus 1-0 and 0-1) is scored by the chrF of its
  joined texts and, when an `embed` function is given, the cosine of their embeddings (runs of up to
  two sentences embedded as joined text, longer runs as the mean of their sentences' vectors);
* each similarity is taken relative to how similar the same texts are to unrelated runs of the same
  size on the other side (median over a sample, shrunk to a prior in short articles), so long
  concatenations and generic sentences gain nothing; a length-ratio term (Gale-Church's cue) is
  subtracted, since cosine does not see that half of a sentence is missing;
* a unit earns `(weight of its sentences) * (margin - threshold)`, minus a penalty per sentence
  beyond 1-1, where a sentence weighs half 1 and half its length relative to the mean; skipping a
  sentence (1-0 / 0-1) earns 0, so a pair is linked only if its margin beats the threshold;
* dynamic programming finds the best monotonic path inside a band around the diagonal, widened and
  rerun whenever the best path touches the band's edge (cost near-linear in article length).

chrF here is sacrebleu's sentence chrF (character 6-grams, whitespace removed, effective-order
averaging) with beta=1, which is symmetric in its two arguments; it is computed for many pairs at
once from sparse n-gram count matrices (sacrebleu's per-pair loop is too slow for the thousands of
candidate pairs of an article). `tests/test_align.py` checks it against `sacrebleu.metrics.CHRF(beta=1)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from mtcheck.types import Unit

EmbedFn = Callable[[list[str]], np.ndarray]

CHAR_ORDER = 6  # sacrebleu chrF default
_BLOCK_PAIRS = 4_000  # pairs scored per block product (bounds memory)
# Up to this many (MT run, reference run) pairs, every pair is scored in one product up front: a news
# article's few dozen runs a side cost less at once than in the baselines' and the band's many small
# products (each pair's similarity is the same either way). Longer articles score blocks as needed.
_ALL_PAIRS = 20_000


@dataclass(frozen=True)
class _Params:
    """Scoring constants; one set for chrF alone, one for chrF combined with embeddings."""

    chrf_weight: float  # share of chrF in the combined similarity (rest: embedding cosine)
    threshold: float  # a linked sentence must beat this margin, else 1-0 / 0-1 wins
    merge_penalty: float  # per sentence beyond a 1-1 link
    length_ratio_weight: float  # margin minus this times |log(length ratio)| (Gale-Church's cue)
    length_share: float = 0.5  # sentence weight: 1 - share + share * (its length / mean length)
    baseline_sample: int = 24  # other-side runs sampled for the random-pair baseline
    prior_weight: float = 4.0  # pseudo-count of the prior baseline (matters in short articles)
    embed_concat_max: int = 2  # runs up to this many sentences are embedded as joined text


# Chosen by grid search on perturbed WMT22 ja-en/uk-en documents (wmt22_jaen_uken_da_train.jsonl,
# 300 documents, seed 13, the garbage-output system AIST left out), per document and joined into
# ~200-sentence articles; the ru-en dev file was not used for choosing. Thresholds are negative
# because margins are relative to unrelated pairs: a pair a little below that still beats two skips.
CHRF_ONLY = _Params(chrf_weight=1.0, threshold=-0.15, merge_penalty=0.2, length_ratio_weight=0.1)
WITH_EMBEDDINGS = _Params(chrf_weight=0.7, threshold=-0.2, merge_penalty=0.3, length_ratio_weight=0.2)
# MT against its source (another language, another script): chrF and character lengths say nothing across
# languages, so a multilingual encoder's cosine alone decides. Checked, not tuned: see align()'s docstring.
CROSS_LINGUAL = _Params(
    chrf_weight=0.0, threshold=-0.2, merge_penalty=0.3, length_ratio_weight=0.0, length_share=0.0
)

# Median similarity of an unrelated run of a sentences (row a-1) to a run of b sentences (column b-1)
# of the same article: measured on 80 WMT22 ja-en/uk-en documents of >= 10 lines (not the ru-en dev set).
_CHRF_PRIOR = np.array([[0.165, 0.172, 0.152], [0.174, 0.226, 0.231], [0.160, 0.237, 0.267]])
_COSINE_PRIOR = np.array([[0.269, 0.305, 0.322], [0.319, 0.391, 0.429], [0.335, 0.424, 0.478]])


def _link_moves(max_group: int) -> list[tuple[int, int]]:
    """(MT sentences, reference sentences) per unit kind allowed for `max_group`."""
    moves = [(1, 1), (1, 0), (0, 1)]
    for k in range(2, max_group + 1):
        moves += [(k, 1), (1, k)]
    if max_group >= 2:
        moves.append((2, 2))
    return moves


class _CharGrams:
    """Every character n-gram (orders 1..`order`) of a list of sentences with whitespace removed, as
    integers: the sentences are concatenated, and the n-gram of order n at position p gets a column id
    shared by every equal n-gram in the list (columns of different orders are disjoint), so both sides
    of an alignment, passed together, share their columns. Built with numpy sorts, not a Python dict of
    strings: an article's n-grams number six per character."""

    def __init__(self, sentences: Sequence[str], order: int):
        stripped = ["".join(s.split()) for s in sentences]  # chrF ignores whitespace
        text = "".join(stripped)
        chars = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        self.sentence_of = np.repeat(np.arange(len(stripped)), [len(s) for s in stripped])
        # columns[n - 1][p]: column of the n-gram starting at p (positions 0 .. len(text) - n)
        self.columns: list[np.ndarray] = []
        gram_order: list[np.ndarray] = []
        alphabet, first_chars = np.unique(chars, return_inverse=True)
        dense = first_chars
        offset = 0
        for n in range(1, order + 1):
            if n > 1:
                # An n-gram is its (n-1)-gram prefix and its last character: dense ranks keep the key
                # within int64 whatever the article's alphabet.
                key = dense[: len(chars) - n + 1] * len(alphabet) + first_chars[n - 1 :]
                distinct, dense = np.unique(key, return_inverse=True)
                count = len(distinct)
            else:
                count = len(alphabet)
            self.columns.append(offset + dense)
            gram_order.append(np.full(count, n - 1, dtype=np.int64))
            offset += count
        self.gram_order = np.concatenate(gram_order) if gram_order else np.zeros(0, dtype=np.int64)

    def distinct(self, first: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The n-grams within sentences `first .. first + count`, each distinct (first sentence, last
        sentence, column) once: those sentences (counted from `first`), the column and how often."""
        keys: list[np.ndarray] = []
        n_cols = max(len(self.gram_order), 1)
        for n, columns in enumerate(self.columns, start=1):
            starts = self.sentence_of[: len(columns)]
            ends = self.sentence_of[n - 1 :]
            inside = (starts >= first) & (ends < first + count)
            # Empty sentences between them can put an n-gram's two ends any number of sentences apart.
            pair = (starts[inside] - first) * count + (ends[inside] - first)
            keys.append(pair * n_cols + columns[inside])
        key = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
        distinct, times = np.unique(key, return_counts=True)
        pair = distinct // n_cols
        return pair // count, pair % count, (distinct % n_cols).astype(np.int32), times.astype(np.float32)


class _ChrfIndex:
    """Character n-gram statistics of every run of 1..max_group consecutive sentences of both sides.

    `rows[(start, size)]` is the row of the run `sentences[start:start + size]` joined with spaces.
    A run holds the n-grams of its sentences joined (`_CharGrams`), counted once per distinct n-gram
    and pair of sentences it starts and ends in, then added to every run holding both. The counts are
    stored binary-expanded (an n-gram seen k times becomes k columns), which turns
    sum(min(count_a, count_b)) into a dot product; the right side holds each order's n-grams in a row
    block of its own, so one product gives every order's matches.
    """

    def __init__(self, left: Sequence[str], right: Sequence[str], max_group: int, order: int = CHAR_ORDER):
        self.order = order
        grams = _CharGrams([*left, *right], order)
        self.left_rows, left_counts = self._run_counts(grams, 0, len(left), max_group)
        self.right_rows, right_counts = self._run_counts(grams, len(left), len(right), max_group)
        gram_order = grams.gram_order
        # Column block of each n-gram: as wide as its largest count on either side.
        widest = np.zeros(len(gram_order), dtype=np.int64)
        for counts in (left_counts, right_counts):
            np.maximum.at(widest, counts.col, counts.data.astype(np.int64))
        del grams  # the per-position arrays (six per character) are not needed for the matrices below
        offsets = np.concatenate([[0], np.cumsum(widest)[:-1]]).astype(np.int32)
        n_cols = int(widest.sum())
        # Left: one matrix over all orders (the orders' columns are disjoint). Right: the orders stacked
        # as row blocks, so one product of a block of left rows with the chosen right rows of every order
        # gives all the per-order match counts (`chrf_block`): one sparse product instead of one per order.
        self.left = self._expand(left_counts, gram_order, offsets, n_cols)
        self.left_totals = self._totals(left_counts, gram_order, order)
        del left_counts  # each side's counts go once expanded: the index's peak is what it keeps
        self.right_totals = self._totals(right_counts, gram_order, order)
        self.right = self._expand(right_counts, gram_order, offsets, n_cols, stack_orders=order)

    @staticmethod
    def _totals(counts: sparse.coo_matrix, gram_order: np.ndarray, order: int) -> np.ndarray:
        """n-gram occurrences per row and order, shape (rows, order)."""
        flat = counts.row.astype(np.int64) * order + gram_order[counts.col]
        totals = np.bincount(flat, weights=counts.data, minlength=counts.shape[0] * order)
        return totals.reshape(-1, order).astype(np.float64)

    @staticmethod
    def _run_counts(
        grams: _CharGrams, first: int, count: int, max_group: int
    ) -> tuple[dict[tuple[int, int], int], sparse.coo_matrix]:
        """Rows of the runs of sentences `first .. first + count` (one side) and their n-gram counts.

        A run's n-grams are those of its sentences joined, whitespace removed: every n-gram whose first
        and last characters both fall in the run. Each distinct (first sentence, last sentence, n-gram)
        is counted once, then added to every run that holds both of its sentences."""
        rows: dict[tuple[int, int], int] = {}
        size_base: dict[int, int] = {}
        for size in range(1, max_group + 1):
            size_base[size] = len(rows)
            for start in range(count - size + 1):
                rows[(start, size)] = len(rows)
        i, j, col, weight = grams.distinct(first, count)
        row_parts: list[np.ndarray] = []
        col_parts: list[np.ndarray] = []
        data_parts: list[np.ndarray] = []
        for size in range(1, max_group + 1):
            for shift in range(size):  # the n-gram's first sentence is the run's sentence `shift`
                start = i - shift
                keep = (start >= 0) & (start + size <= count) & (j < start + size)
                row_parts.append(size_base[size] + start[keep])
                col_parts.append(col[keep])
                data_parts.append(weight[keep])
        row_ids = np.concatenate(row_parts) if row_parts else np.zeros(0, dtype=np.int64)
        del row_parts
        cols = np.concatenate(col_parts) if col_parts else np.zeros(0, dtype=np.int32)
        data = np.concatenate(data_parts) if data_parts else np.zeros(0, dtype=np.float32)
        del col_parts, data_parts
        by_row = np.argsort(row_ids, kind="stable")
        indptr = np.concatenate([[0], np.cumsum(np.bincount(row_ids, minlength=len(rows)))]).astype(np.int64)
        # CSR merges a row's repeated columns in place (COO would sort all entries at once, in copies).
        counts = sparse.csr_matrix(
            (data[by_row], cols[by_row], indptr), shape=(len(rows), max(len(grams.gram_order), 1))
        )
        counts.sum_duplicates()
        return rows, counts.tocoo()

    @staticmethod
    def _expand(
        counts: sparse.coo_matrix,
        gram_order: np.ndarray,
        offsets: np.ndarray,
        n_cols: int,
        stack_orders: int | None = None,
    ) -> sparse.csr_matrix:
        """The rows' n-grams binary-expanded: one row per run, or with `stack_orders` one row per run and
        order (row `order * runs + run`, each holding that order's n-grams only)."""
        rows, cols, reps = counts.row, counts.col, counts.data.astype(np.int32)
        n_rows = counts.shape[0]
        if stack_orders is not None:
            # A stable sort keeps each row's columns in their sorted order.
            rows = gram_order[cols] * n_rows + rows
            by_row = np.argsort(rows, kind="stable")
            rows, cols, reps = rows[by_row], cols[by_row], reps[by_row]
            n_rows *= stack_orders
        firsts = np.repeat(np.cumsum(reps, dtype=np.int32) - reps, reps)
        expanded_cols = np.repeat(offsets[cols], reps) + (np.arange(reps.sum(), dtype=np.int32) - firsts)
        # Built as CSR directly: `counts` comes row-sorted with sorted, distinct columns (`_run_counts`),
        # so each row's expanded columns are sorted and distinct too. float32 ones: the products below
        # count shared n-grams, integers that float32 holds exactly.
        per_row = np.bincount(rows, weights=reps, minlength=n_rows).astype(np.int64)
        indptr = np.concatenate([[0], np.cumsum(per_row)])
        return sparse.csr_matrix(
            (np.ones(len(expanded_cols), dtype=np.float32), expanded_cols, indptr), shape=(n_rows, n_cols)
        )

    def chrf_block(self, left_ids: np.ndarray, right_ids: np.ndarray) -> np.ndarray:
        """chrF (beta=1, 0..1) of every left row in `left_ids` against every right row in `right_ids`."""
        runs = len(self.right_totals)  # right rows per order block
        stacked = np.concatenate([k * runs + right_ids for k in range(self.order)])
        product = (self.left[left_ids] @ self.right[stacked].T).toarray().astype(np.float64)
        # Columns come order by order: (left, order, right) -> (left, right, order).
        matches = product.reshape(len(left_ids), self.order, len(right_ids)).transpose(0, 2, 1)
        hyp = np.broadcast_to(self.left_totals[left_ids][:, None, :], matches.shape)
        ref = np.broadcast_to(self.right_totals[right_ids][None, :, :], matches.shape)
        shape = matches.shape[:2]
        return _chrf_from_stats(
            hyp.reshape(-1, self.order), ref.reshape(-1, self.order), matches.reshape(-1, self.order)
        ).reshape(shape)


def _chrf_from_stats(hyp: np.ndarray, ref: np.ndarray, match: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """sacrebleu's chrF (effective-order averaging) from per-order count arrays of shape (pairs, order)."""
    effective = (hyp > 0) & (ref > 0)
    n_eff = effective.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(effective, match / np.where(hyp > 0, hyp, 1), 0.0).sum(axis=1)
        rec = np.where(effective, match / np.where(ref > 0, ref, 1), 0.0).sum(axis=1)
        prec = np.where(n_eff > 0, prec / np.maximum(n_eff, 1), 0.0)
        rec = np.where(n_eff > 0, rec / np.maximum(n_eff, 1), 0.0)
        factor = beta**2
        denom = factor * prec + rec
        score = np.where(denom > 0, (1 + factor) * prec * rec / np.where(denom > 0, denom, 1), 0.0)
    return score


class _PairScorer:
    """Similarity margins of (MT run, reference run) pairs, computed in blocks and cached."""

    def __init__(
        self,
        mt: Sequence[str],
        ref: Sequence[str],
        max_group: int,
        embed: EmbedFn | None,
        params: _Params,
    ):
        self.params = params
        self.max_group = max_group
        self.n_mt, self.n_ref = len(mt), len(ref)
        self.chrf = _ChrfIndex(mt, ref, max_group)
        self.mt_vecs = self.ref_vecs = None
        if embed is not None and params.chrf_weight < 1.0:
            self.mt_vecs, self.ref_vecs = _embed_runs(
                mt, ref, self.chrf.left_rows, self.chrf.right_rows, embed, params.embed_concat_max
            )
        self.mt_weight = _cumulative_weights(mt, ref, params.length_share)
        self.ref_weight = _cumulative_weights(ref, mt, params.length_share)
        self.cache: dict[int, float] = {}  # similarity by pair key (see `margins`)
        n_left, n_right = len(self.chrf.left_rows), len(self.chrf.right_rows)
        self.all_pairs = (
            self._similarity_block(np.arange(n_left), np.arange(n_right))
            if n_left * n_right <= _ALL_PAIRS
            else None
        )
        self.mt_base = self._baselines("mt")
        self.ref_base = self._baselines("ref")

    def _similarities(self, mt_ids: np.ndarray, ref_ids: np.ndarray) -> np.ndarray:
        """Similarity of every MT run in `mt_ids` to every reference run in `ref_ids`."""
        if self.all_pairs is not None:
            return self.all_pairs[np.ix_(mt_ids, ref_ids)]
        return self._similarity_block(mt_ids, ref_ids)

    def _similarity_block(self, mt_ids: np.ndarray, ref_ids: np.ndarray) -> np.ndarray:
        p = self.params
        if p.chrf_weight > 0.0:
            sim = p.chrf_weight * self.chrf.chrf_block(mt_ids, ref_ids)
        else:  # across languages chrF is not consulted, so it is not computed either
            sim = np.zeros((len(mt_ids), len(ref_ids)))
        if self.mt_vecs is not None:
            sim += (1.0 - p.chrf_weight) * (self.mt_vecs[mt_ids] @ self.ref_vecs[ref_ids].T)
        return sim

    def _baselines(self, side: str) -> np.ndarray:
        """Typical similarity of each run to unrelated runs of the other side, per size of those runs.

        Shape (runs, max_group + 1): column b is against runs of b sentences. It is the median over a
        spread sample of the article's runs of that size (the median ignores the one true partner),
        shrunk towards a prior, since short articles offer few runs and those few overlap the partner.
        """
        own_rows = self.chrf.left_rows if side == "mt" else self.chrf.right_rows
        other_rows = self.chrf.right_rows if side == "mt" else self.chrf.left_rows
        n_other = self.n_ref if side == "mt" else self.n_mt
        own_sizes = np.zeros(len(own_rows), dtype=np.int64)
        for (_, size), row in own_rows.items():
            own_sizes[row] = min(size, 3)
        base = np.zeros((len(own_rows), self.max_group + 1))
        own = np.arange(len(own_rows))
        w, k0 = self.params.chrf_weight, self.params.prior_weight
        for size in range(1, self.max_group + 1):
            prior_table = w * _CHRF_PRIOR + (1 - w) * _COSINE_PRIOR
            prior = (
                prior_table[own_sizes - 1, min(size, 3) - 1]
                if side == "mt"
                else prior_table[min(size, 3) - 1, own_sizes - 1]
            )
            n_starts = n_other - size + 1
            if n_starts < 1:
                base[:, size] = prior
                continue
            starts = np.unique(
                np.linspace(0, n_starts - 1, min(n_starts, self.params.baseline_sample)).round()
            )
            other = np.array([other_rows[(int(s), size)] for s in starts])
            sims = self._similarities(own, other) if side == "mt" else self._similarities(other, own).T
            k = len(other)
            base[:, size] = (k * np.median(sims, axis=1) + k0 * prior) / (k + k0)
        return base

    def margins(self, units: list[tuple[int, int, int, int]]) -> np.ndarray:
        """Similarity over the random-pair baseline for units (mt_start, mt_size, ref_start, ref_size),
        in the order given. Pairs are keyed by one integer (MT row * reference rows + reference row) and
        held in numpy arrays: a 10,000-sentence article has over a million candidate units."""
        mt_rows, ref_rows = self.chrf.left_rows, self.chrf.right_rows
        n_right = len(ref_rows)
        mt_ids = np.fromiter((mt_rows[(i, a)] for i, a, _, _ in units), dtype=np.int64, count=len(units))
        ref_ids = np.fromiter((ref_rows[(j, b)] for _, _, j, b in units), dtype=np.int64, count=len(units))
        if self.all_pairs is not None:
            similarity = self.all_pairs[mt_ids, ref_ids]
        else:
            similarity = self._cached_similarities(mt_ids * n_right + ref_ids, n_right)
        # Cosine does not see length, and a translation is about as long as its reference (Gale-Church).
        mt_log_len = np.log1p(self.chrf.left_totals[:, 0])
        ref_log_len = np.log1p(self.chrf.right_totals[:, 0])
        mt_size = np.fromiter((a for _, a, _, _ in units), dtype=np.int64, count=len(units))
        ref_size = np.fromiter((b for _, _, _, b in units), dtype=np.int64, count=len(units))
        return (
            similarity
            - 0.5 * (self.mt_base[mt_ids, ref_size] + self.ref_base[ref_ids, mt_size])
            - self.params.length_ratio_weight * np.abs(mt_log_len[mt_ids] - ref_log_len[ref_ids])
        )

    def _cached_similarities(self, keys: np.ndarray, n_right: int) -> np.ndarray:
        """Similarities of the pairs keyed MT row * `n_right` + reference row, each computed once."""
        todo = np.unique(keys[[k not in self.cache for k in keys.tolist()]])
        # Blocks of consecutive MT runs against the reference runs they need: a band stays a band.
        for start in range(0, len(todo), _BLOCK_PAIRS):
            chunk = todo[start : start + _BLOCK_PAIRS]
            block_mt, mt_pos = np.unique(chunk // n_right, return_inverse=True)
            block_ref, ref_pos = np.unique(chunk % n_right, return_inverse=True)
            sims = self._similarity_block(block_mt, block_ref)[mt_pos, ref_pos]
            self.cache.update(zip(chunk.tolist(), sims.tolist(), strict=True))
        return np.fromiter((self.cache[k] for k in keys.tolist()), dtype=np.float64, count=len(keys))

    def gains(self, units: list[tuple[int, int, int, int]]) -> dict[tuple[int, int, int, int], float]:
        """What linking each unit earns over leaving its sentences unaligned (1-0 / 0-1, which earn 0)."""
        p = self.params
        if not units:
            return {}
        margins = self.margins(units)
        i, a, j, b = (np.fromiter((u[k] for u in units), dtype=np.int64, count=len(units)) for k in range(4))
        weight = self.mt_weight[i + a] - self.mt_weight[i] + self.ref_weight[j + b] - self.ref_weight[j]
        values = weight * (margins - p.threshold) - p.merge_penalty * (a + b - 2)
        return dict(zip(units, values.tolist(), strict=True))


def _cumulative_weights(sentences: Sequence[str], other: Sequence[str], length_share: float) -> np.ndarray:
    """Prefix sums of sentence weights: partly 1 per sentence, partly its length relative to the mean.

    The length part keeps a short unrelated sentence from being absorbed into a neighbour's link
    just because every linked sentence earns the same.
    """
    lengths = np.array([len("".join(s.split())) for s in sentences], dtype=np.float64)
    mean = max(np.mean([len("".join(s.split())) for s in [*sentences, *other]] or [1.0]), 1.0)
    weights = (1.0 - length_share) + length_share * np.maximum(lengths / mean, 0.1)
    return np.concatenate([[0.0], np.cumsum(weights)])


def _embed_runs(
    mt: Sequence[str],
    ref: Sequence[str],
    mt_rows: dict[tuple[int, int], int],
    ref_rows: dict[tuple[int, int], int],
    embed: EmbedFn,
    concat_max: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of every run of both sides, row-aligned with the chrF index, from one `embed` call.

    Runs of up to `concat_max` sentences are embedded as joined text (Vecalign); longer runs get the
    normalised mean of their sentences' vectors, which saves encoding the longest texts.
    """
    sides = [(mt, mt_rows), (ref, ref_rows)]
    texts = [
        {
            row: " ".join(s.strip() for s in sents[i : i + a])
            for (i, a), row in rows.items()
            if a <= concat_max
        }
        for sents, rows in sides
    ]
    unique = list(dict.fromkeys([*texts[0].values(), *texts[1].values()]))
    vecs = np.asarray(embed(unique), dtype=np.float32)
    at = {text: k for k, text in enumerate(unique)}
    out = []
    for (_, rows), side_texts in zip(sides, texts, strict=True):
        side_vecs = np.zeros((len(rows), vecs.shape[1]), dtype=np.float32)
        for (i, a), row in rows.items():
            if a <= concat_max:
                side_vecs[row] = vecs[at[side_texts[row]]]
            else:
                mean = sum(vecs[at[side_texts[rows[(k, 1)]]]] for k in range(i, i + a))
                side_vecs[row] = mean / max(float(np.linalg.norm(mean)), 1e-9)
        out.append(side_vecs)
    return out[0], out[1]


def align(
    mt: Sequence[str],
    ref: Sequence[str],
    embed: EmbedFn | None = None,
    max_group: int = 3,
    cross_lingual: bool = False,
) -> list[Unit]:
    """Align MT sentences to reference sentences, monotonically, in article order.

    Every index of both sides appears in exactly one unit. `embed` maps texts to unit-length row
    vectors (e.g. `mtcheck.models.Embedder().encode`); without it chrF alone decides (fast mode).
    `cross_lingual=True` aligns MT to its source text with `embed` (a multilingual encoder) alone.
    A sanity check with USE-multilingual on 60 ru-en documents (MT lines against source lines, not a
    tuned or held-out evaluation): every line paired correctly; with every fifth MT line dropped, 90%
    of the remaining lines still paired with their own source line.
    """
    if cross_lingual:
        if embed is None:
            raise ValueError("cross-lingual alignment needs a multilingual embed function")
        params = CROSS_LINGUAL
    else:
        params = CHRF_ONLY if embed is None else WITH_EMBEDDINGS
    return _align(mt, ref, embed, max(1, max_group), params)


def _align(
    mt: Sequence[str], ref: Sequence[str], embed: EmbedFn | None, max_group: int, params: _Params
) -> list[Unit]:
    n_mt, n_ref = len(mt), len(ref)
    if n_mt == 0 or n_ref == 0:
        return [Unit((i,), ()) for i in range(n_mt)] + [Unit((), (j,)) for j in range(n_ref)]
    moves = _link_moves(max_group)
    scorer = _PairScorer(mt, ref, max_group, embed, params)
    width = 10
    while True:
        path, touches_edge = _band_dp(n_mt, n_ref, moves, scorer, width)
        # A band as wide as the longer text holds every cell, so this always ends with a path.
        if path is not None and (not touches_edge or width >= max(n_mt, n_ref)):
            break
        width *= 2
    return [
        Unit(tuple(range(i, i + a)), tuple(range(j, j + b)))
        for i, j, a, b in path  # path holds (mt_start, ref_start, mt_size, ref_size)
    ]


def _band_dp(
    n_mt: int, n_ref: int, moves: list[tuple[int, int]], scorer: _PairScorer, width: int
) -> tuple[list[tuple[int, int, int, int]] | None, bool]:
    """Best path through cells (i, j) with |j - i * n_ref / n_mt| <= width; also whether it hugs the band.

    None when the band has no path from corner to corner: with very different sentence counts (one long MT
    run-on sentence against 39 reference sentences) a narrow band's rows do not touch.
    """
    slope = n_ref / n_mt
    lo = [max(0, round(i * slope) - width) for i in range(n_mt + 1)]
    hi = [min(n_ref, round(i * slope) + width) for i in range(n_mt + 1)]
    lo[n_mt], hi[0] = min(lo[n_mt], n_ref), max(hi[0], 0)

    def inside(i: int, j: int) -> bool:
        return 0 <= i <= n_mt and lo[i] <= j <= hi[i]

    link_pairs = [
        (i, a, j, b)
        for i in range(n_mt + 1)
        for j in range(lo[i], hi[i] + 1)
        for a, b in moves
        if a and b and inside(i + a, j + b)
    ]
    gains = scorer.gains(link_pairs)

    best: dict[tuple[int, int], float] = {(0, 0): 0.0}
    back: dict[tuple[int, int], tuple[int, int]] = {}
    for i in range(n_mt + 1):
        for j in range(lo[i], hi[i] + 1):
            if i == 0 and j == 0:
                continue
            top, top_move = -np.inf, (0, 0)
            for a, b in moves:
                prev = (i - a, j - b)
                if prev not in best:
                    continue
                score = best[prev]
                if a and b:
                    score += gains[(i - a, a, j - b, b)]
                if score > top:
                    top, top_move = score, (a, b)
            if top > -np.inf:
                best[(i, j)] = top
                back[(i, j)] = top_move

    if (n_mt, n_ref) not in back:
        return None, True
    path: list[tuple[int, int, int, int]] = []
    touches_edge = False
    i, j = n_mt, n_ref
    while (i, j) != (0, 0):
        a, b = back[(i, j)]
        i, j = i - a, j - b
        path.append((i, j, a, b))
        if (j == lo[i] and lo[i] > 0) or (j == hi[i] and hi[i] < n_ref):
            touches_edge = True
    path.reverse()
    return path, touches_edge
