"""Fast, exact sentence-level TER.

``sentence_ter(hyp, ref)`` returns exactly ``sacrebleu.metrics.TER().sentence_score(hyp, [ref]).score``
(sacrebleu 2.x, default settings). It runs the same greedy shift search as sacrebleu's ``lib_ter`` (same
candidate filters, ranking, beam and candidate limits), but computes the edit distances far more cheaply:

* Distances are computed with the bit-parallel Levenshtein algorithm (Myers 1999, in Hyyrö's global
  formulation), one word of the hypothesis per step, resuming from the cached prefix state of the
  current hypothesis.
* sacrebleu's distance is restricted to a beam around the diagonal, so it can exceed the true
  Levenshtein distance. ``_Band.safe`` is a lower bound on the cost of any alignment that leaves the
  beam; a true distance below it proves the beam distance is the same number, with the same
  backtrace. Only in the rare other case (long and very different sentences) do we run sacrebleu's
  beam DP itself.
* Exits that cannot change the result: identical token lists; stopping the shift search once the
  distance reaches the bag-of-words lower bound, which no shift (a permutation) can beat; and skipping
  shift candidates whose largest possible gain cannot outrank the best candidate found so far.

Tie-breaking in the backtrace and in the choice of shift follows sacrebleu exactly, since the alignment
decides which shifts are tried next.

The algorithm is ported from sacrebleu (Apache-2.0, Copyright 2020 Memsource), itself modelled on Tercom.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache

__all__ = ["num_edits", "sentence_ter"]

# sacrebleu's lib_ter constants (Tercom-inspired limits).
_MAX_SHIFT_SIZE = 10
_MAX_SHIFT_DIST = 50
_BEAM_WIDTH = 25
_MAX_SHIFT_CANDIDATES = 1000
_INF = 10**16  # sacrebleu's _INT_INFINITY: the value of cells outside the beam

# Edit operations of the backtrace, seen as rewriting the hypothesis into the reference.
_NOP, _SUB, _HYP_ONLY, _REF_ONLY = 0, 1, 2, 3


def sentence_ter(hypothesis: str, reference: str, *, case_sensitive: bool = False) -> float:
    """TER of one hypothesis against one reference, as a percentage (0 = identical).

    Equal to ``sacrebleu.metrics.TER(case_sensitive=case_sensitive).sentence_score(hypothesis,
    [reference]).score``; the default (case-insensitive) matches ``TER()``.
    """
    return _sentence_ter(hypothesis, reference, case_sensitive)


@lru_cache(maxsize=2**14)
def _sentence_ter(hypothesis: str, reference: str, case_sensitive: bool) -> float:
    # Cached because checkers often score the same segment pair more than once.
    hyp = _tokenize(hypothesis, case_sensitive)
    ref = _tokenize(reference, case_sensitive)
    edits = num_edits(hyp, ref)
    if ref:
        return 100 * (edits / float(len(ref)))  # sacrebleu divides by a float average length
    return 100.0 if edits > 0 else 0.0


def _tokenize(text: str, case_sensitive: bool) -> list[str]:
    # sacrebleu: TercomTokenizer(normalized=False)(sent.rstrip()).split(), i.e. optional
    # lower-casing and whitespace splitting only.
    text = text.rstrip()
    if not text:
        return []
    if not case_sensitive:
        text = text.lower()
    return text.split()


def num_edits(hyp: list[str], ref: list[str]) -> int:
    """Number of TER edits (shifts + insertions + deletions + substitutions) between token lists."""
    n, m = len(hyp), len(ref)
    if m == 0:
        return n  # sacrebleu: every hypothesis word is an edit against an empty reference
    if hyp == ref:
        return 0
    if n == 0:
        return m
    return _Aligner(hyp, ref).num_edits()


class _Band:
    """sacrebleu's beam for an n-word hypothesis and an m-word reference."""

    __slots__ = ("lo", "hi", "safe")

    def __init__(self, n: int, m: int) -> None:
        ratio = m / n
        width = math.ceil(ratio / 2 + _BEAM_WIDTH) if ratio / 2 > _BEAM_WIDTH else _BEAM_WIDTH
        # Row i of the DP (i hypothesis words consumed) is computed for columns lo[i] <= j < hi[i];
        # row 0 is sacrebleu's fully initialised first row.
        self.lo = [0] * (n + 1)
        self.hi = [m + 1] * (n + 1)
        # Any alignment through cell (i, j) costs at least |i - j| + |(n - i) - (m - j)|, a convex
        # function of d = i - j that equals |n - m| on [min(0, n - m), max(0, n - m)] and grows by 2
        # per step outside it. `safe` is its minimum over the cells outside the beam: a true distance
        # below it means every optimal alignment stays inside the beam.
        diff = n - m
        flat_lo, flat_hi = min(0, diff), max(0, diff)
        safe = _INF
        for i in range(1, n + 1):
            diag = math.floor(i * ratio)
            lo = max(0, diag - width)
            hi = m + 1 if i == n else min(m + 1, diag + width)
            self.lo[i] = lo
            self.hi[i] = hi
            if lo > 0:  # columns 0 .. lo-1, i.e. d in [i - lo + 1, i]
                safe = min(safe, abs(diff) + 2 * max(0, flat_lo - i, i - lo + 1 - flat_hi))
            if hi <= m:  # columns hi .. m, i.e. d in [i - m, i - hi]
                safe = min(safe, abs(diff) + 2 * max(0, flat_lo - (i - hi), i - m - flat_hi))
        self.safe = safe


@lru_cache(maxsize=1024)
def _band(n: int, m: int) -> _Band:
    return _Band(n, m)


def _perform_shift(words: list[int], start: int, length: int, target: int) -> list[int]:
    # Identical to sacrebleu's _perform_shift, including its odd third case.
    if target < start:
        return words[:target] + words[start : start + length] + words[target:start] + words[start + length :]
    if target > start + length:
        return words[:start] + words[start + length : target] + words[start : start + length] + words[target:]
    return (
        words[:start]
        + words[start + length : length + target]
        + words[start : start + length]
        + words[length + target :]
    )


class _Aligner:
    """TER shift search of one hypothesis against one reference (words mapped to integer ids)."""

    def __init__(self, hyp: list[str], ref: list[str]) -> None:
        vocab: dict[str, int] = {}
        self.ref = [vocab.setdefault(w, len(vocab)) for w in ref]
        unknown = len(vocab)  # one id for all hypothesis words absent from the reference
        self.hyp = [vocab.get(w, unknown) for w in hyp]
        self.n, self.m = len(hyp), len(ref)
        self.mask = (1 << self.m) - 1
        # Match bit masks over reference positions, and the positions themselves, per word id.
        self.peq = [0] * (unknown + 1)
        self.positions: list[list[int]] = [[] for _ in range(unknown + 1)]
        for j, w in enumerate(self.ref):
            self.peq[w] |= 1 << j
            self.positions[w].append(j)
        # Shifts only permute the hypothesis, so max(n, m) minus the bag-of-words overlap bounds the
        # distance of every shifted hypothesis from below.
        overlap = sum((Counter(self.hyp) & Counter(self.ref)).values())
        self.lower = max(self.n, self.m) - overlap
        self.band = _band(self.n, self.m)

    # -- distances -------------------------------------------------------------------------------

    def _columns(self, words: list[int]) -> tuple[list[int], list[int]]:
        # Bit-parallel DP over the whole hypothesis; keeps every intermediate state so that shifted
        # hypotheses can resume from their unchanged prefix, and for the backtrace.
        peq, mask = self.peq, self.mask
        vp, vn = mask, 0
        vps, vns = [vp], [vn]
        for w in words:
            eq = peq[w]
            d0 = (((eq & vp) + vp) ^ vp) | eq | vn
            hp = ((vn | ~(d0 | vp)) << 1) | 1
            vp = (((d0 & vp) << 1) | ~(d0 | hp)) & mask
            vn = d0 & hp & mask
            vps.append(vp)
            vns.append(vn)
        return vps, vns

    def _distance_from(
        self, shifted: list[int], first: int, last: int, vps: list[int], vns: list[int], lev: int
    ) -> int:
        # Levenshtein distance of `shifted`, which equals the current hypothesis (bit-parallel states
        # vps/vns, Levenshtein distance `lev`) before `first` and from `last` on. Resumes from the state
        # at `first`; past `last`, once the state is back to the current hypothesis' state, the rest
        # of the run is known to end at `lev`.
        peq, mask = self.peq, self.mask
        vp, vn = vps[first], vns[first]
        for w in shifted[first:last]:
            eq = peq[w]
            d0 = (((eq & vp) + vp) ^ vp) | eq | vn
            hp = ((vn | ~(d0 | vp)) << 1) | 1
            vp = (((d0 & vp) << 1) | ~(d0 | hp)) & mask
            vn = d0 & hp & mask
        for k in range(last, self.n):
            if vp == vps[k] and vn == vns[k]:
                return lev
            eq = peq[shifted[k]]
            d0 = (((eq & vp) + vp) ^ vp) | eq | vn
            hp = ((vn | ~(d0 | vp)) << 1) | 1
            vp = (((d0 & vp) << 1) | ~(d0 | hp)) & mask
            vn = d0 & hp & mask
        return self.n + vp.bit_count() - vn.bit_count()

    def _beam_rows(self, words: list[int], rows: list[list[int]]) -> list[list[int]]:
        # sacrebleu's beam DP (values only), continuing from the given first rows.
        ref, lo, hi, m = self.ref, self.band.lo, self.band.hi, self.m
        if not rows:
            rows = [list(range(m + 1))]
        for i in range(len(rows), self.n + 1):
            prev = rows[i - 1]
            row = [_INF] * (m + 1)
            w = words[i - 1]
            start = lo[i]
            if start == 0:
                row[0] = prev[0] + 1
                start = 1
            left = row[start - 1]
            for j in range(start, hi[i]):
                v = prev[j - 1] + (w != ref[j - 1])
                x = prev[j] + 1
                if x < v:
                    v = x
                x = left + 1
                if x < v:
                    v = x
                if v > _INF:
                    v = _INF
                row[j] = left = v
            rows.append(row)
        return rows

    # -- backtraces ------------------------------------------------------------------------------

    def _trace_bits(self, words: list[int], vps: list[int], vns: list[int], dist: int) -> list[int]:
        # Backtrace of the unrestricted DP, cell values recovered from the bit vectors; valid for the
        # beam DP too when dist < band.safe (see _Band).
        ref = self.ref
        ops: list[int] = []
        i, j, here = self.n, self.m, dist
        while i > 0 or j > 0:
            if j == 0:
                ops.append(_HYP_ONLY)
                i -= 1
            elif i == 0:
                ops.append(_REF_ONLY)
                j -= 1
            else:
                # sacrebleu's preference: match/substitution, then hypothesis-only, then reference-only.
                low = (1 << (j - 1)) - 1
                diag = i - 1 + (vps[i - 1] & low).bit_count() - (vns[i - 1] & low).bit_count()
                sub = words[i - 1] != ref[j - 1]
                if diag + sub == here:
                    ops.append(_SUB if sub else _NOP)
                    i -= 1
                    j -= 1
                    here = diag
                    continue
                low = (low << 1) | 1
                up = i - 1 + (vps[i - 1] & low).bit_count() - (vns[i - 1] & low).bit_count()
                if up + 1 == here:
                    ops.append(_HYP_ONLY)
                    i -= 1
                    here = up
                else:
                    ops.append(_REF_ONLY)
                    j -= 1
                    here -= 1
        ops.reverse()
        return ops

    def _trace_rows(self, words: list[int], rows: list[list[int]]) -> list[int]:
        # Backtrace of the beam DP, same preferences as sacrebleu.
        ref = self.ref
        ops: list[int] = []
        i, j = self.n, self.m
        while i > 0 or j > 0:
            if j == 0:
                ops.append(_HYP_ONLY)
                i -= 1
                continue
            if i == 0:
                ops.append(_REF_ONLY)
                j -= 1
                continue
            here = rows[i][j]
            if here >= _INF:
                raise RuntimeError("TER beam search left the beam")  # sacrebleu fails here too
            sub = words[i - 1] != ref[j - 1]
            if rows[i - 1][j - 1] + sub == here:
                ops.append(_SUB if sub else _NOP)
                i -= 1
                j -= 1
            elif rows[i - 1][j] + 1 == here:
                ops.append(_HYP_ONLY)
                i -= 1
            else:
                ops.append(_REF_ONLY)
                j -= 1
        ops.reverse()
        return ops

    def _alignment(self, ops: list[int]) -> tuple[list[int], list[int], list[int]]:
        # sacrebleu's trace_to_alignment, returning prefix sums of the error flags (for O(1) range sums).
        align = [0] * self.m
        hyp_err = [0]
        ref_err = [0]
        pos_h = pos_r = -1
        for op in ops:
            if op == _HYP_ONLY:
                pos_h += 1
                hyp_err.append(hyp_err[-1] + 1)
            elif op == _REF_ONLY:
                pos_r += 1
                align[pos_r] = pos_h
                ref_err.append(ref_err[-1] + 1)
            else:
                pos_h += 1
                pos_r += 1
                align[pos_r] = pos_h
                hyp_err.append(hyp_err[-1] + op)  # op is 1 for a substitution, 0 for a match
                ref_err.append(ref_err[-1] + op)
        return align, hyp_err, ref_err

    # -- shift search ----------------------------------------------------------------------------

    def _candidates(
        self, words: list[int], align: list[int], hyp_err: list[int], ref_err: list[int], budget: int
    ) -> tuple[list[tuple[int, int, int]], int]:
        # sacrebleu's _find_shifted_pairs plus the filters of _shift. Returns the distinct shifts
        # (start, length, target) and how many candidates sacrebleu would count, stopping as soon as
        # the count reaches `budget` (the caller then stops the search, as sacrebleu does).
        n, m, ref, positions = self.n, self.m, self.ref, self.positions
        seen: set[tuple[int, int, int]] = set()
        out: list[tuple[int, int, int]] = []
        count = 0
        for start_h in range(n):
            matches = positions[words[start_h]]
            if not matches:
                continue
            herr0 = hyp_err[start_h]
            for start_r in matches:
                if abs(start_r - start_h) > _MAX_SHIFT_DIST:
                    continue
                # sacrebleu skips a block that contains the hypothesis word aligned to start_r; once
                # the block reaches it, every longer block does too.
                longest = _MAX_SHIFT_SIZE
                aligned = align[start_r]
                if aligned >= start_h:
                    longest = min(longest, aligned - start_h)
                    if longest == 0:
                        continue
                rerr0 = ref_err[start_r]
                # Targets sacrebleu tries for a block of length L: the distinct consecutive values of
                # t(-1), t(0), ..., t(L - 1), where t(k) is just after the word aligned to start_r + k.
                prev = 0 if start_r == 0 else align[start_r - 1] + 1
                targets = [prev]
                length = 0
                while length < longest and words[start_h + length] == ref[start_r + length]:
                    target = align[start_r + length] + 1
                    if target != prev:
                        targets.append(target)
                        prev = target
                    length += 1
                    end_h, end_r = start_h + length, start_r + length
                    if hyp_err[end_h] != herr0 and ref_err[end_r] != rerr0:
                        count += len(targets)
                        for target in targets:
                            key = (start_h, length, target)
                            if key not in seen:
                                seen.add(key)
                                out.append(key)
                        if count >= budget:
                            return out, count
                    if end_h == n or end_r == m:
                        break
        return out, count

    def num_edits(self) -> int:
        n, m, band = self.n, self.m, self.band
        words = self.hyp
        shifts = 0
        checked = 0
        while True:
            vps, vns = self._columns(words)
            pre = lev = n + vps[n].bit_count() - vns[n].bit_count()
            rows: list[list[int]] | None = None
            if pre >= band.safe:
                rows = self._beam_rows(words, [])
                pre = rows[n][m]
            if pre <= self.lower:
                return shifts + pre  # no shift can lower the distance: sacrebleu stops here too
            ops = self._trace_bits(words, vps, vns, pre) if rows is None else self._trace_rows(words, rows)
            align, hyp_err, ref_err = self._alignment(ops)
            cands, count = self._candidates(words, align, hyp_err, ref_err, _MAX_SHIFT_CANDIDATES - checked)
            checked += count
            if checked >= _MAX_SHIFT_CANDIDATES or not cands:
                return shifts + pre  # sacrebleu drops the shift found in the round that hits the limit

            # sacrebleu's ranking: largest gain, then longest, then earliest start, then earliest target.
            best: tuple[int, int, int, int] | None = None
            best_words: list[int] = words
            unsure: list[tuple[tuple[int, int, int, int], int, list[int]]] = []
            # Visit candidates best tie-break first: a later candidate then has to gain strictly more
            # than the best so far, which bounds below let us rule out without computing its distance.
            # The gain is at most pre - lower (bag-of-words bound), and at most pre - lev + 2 * min(length,
            # distance moved), since moving a block is undone by that many insertions and deletions.
            cands.sort(key=lambda c: (-c[1], c[0], c[2]))
            max_gain = pre - self.lower
            for start, length, target in cands:
                # The shift only reorders words[first:last].
                if target < start:
                    first, last = target, start + length
                else:
                    first, last = start, (target if target > start + length else min(target + length, n))
                if best is not None:
                    if pre - lev + 2 * length <= best[0]:
                        break  # holds for all remaining candidates, which are no longer
                    if pre - lev + 2 * min(length, last - first - length) <= best[0]:
                        continue
                shifted = _perform_shift(words, start, length, target)
                dist = self._distance_from(shifted, first, last, vps, vns, lev)
                key = (pre - dist, length, -start, -target)
                if dist < band.safe:
                    if best is None or key > best:
                        best, best_words = key, shifted
                        if key[0] == max_gain:
                            break
                else:
                    unsure.append((key, first, shifted))  # key holds an upper bound on the gain
            if unsure:
                # The beam distance is at least the true one, so visit the best upper bounds first and
                # stop once none can beat the best exact candidate.
                unsure.sort(key=lambda item: item[0], reverse=True)
                for key, first, shifted in unsure:
                    if best is not None and key <= best:
                        break
                    if rows is None:
                        rows = self._beam_rows(words, [])
                    exact = self._beam_rows(shifted, rows[: first + 1])[n][m]
                    key = (pre - exact, *key[1:])
                    if best is None or key > best:
                        best, best_words = key, shifted
            if best is None or best[0] <= 0:
                return shifts + pre
            shifts += 1
            words = best_words
