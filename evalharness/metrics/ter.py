"""TER with sacrebleu's numbers, faster.

Where TER's time goes (profiled on 500 news-like segments): 73% in the beam-limited
Levenshtein of `sacrebleu.metrics.lib_ter.BeamEditDistance._edit_distance`, which builds
three tuples per matrix cell and keeps every row as a list of (cost, operation) tuples; 16%
in the shift search, which visits every pair of positions within 50 words to find common
runs. This module computes the same matrix cell by cell (same beam, same order of
preference: match/substitution, deletion, insertion; a cell the beam cannot reach stays
infinite) over plain lists of ints and operation letters, memoised by hypothesis prefix as
sacrebleu memoises it, and runs the same shift search in the same order visiting only the
reference positions that hold the word, with prefix sums for the error spans. The statistics
are identical (tested against sacrebleu on random and adversarial inputs)."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate

from sacrebleu.metrics import TER
from sacrebleu.metrics.lib_ter import (
    _BEAM_WIDTH,
    _INT_INFINITY,
    _MAX_CACHE_SIZE,
    _MAX_SHIFT_CANDIDATES,
    _MAX_SHIFT_DIST,
    _MAX_SHIFT_SIZE,
    _flip_trace,
    _perform_shift,
    trace_to_alignment,
)

INF = _INT_INFINITY


class FastBeamEditDistance:
    """Drop-in for sacrebleu's BeamEditDistance: `self(words_hyp) -> (distance, trace)`."""

    def __init__(self, words_ref: list[str]) -> None:
        self.ref = words_ref
        self.n_ref = len(words_ref)
        self.first = (list(range(self.n_ref + 1)), ["i"] * (self.n_ref + 1))
        self.cache: dict = {}  # word -> (child dict, (costs, ops)); a trie over hypothesis prefixes
        self.cache_size = 0

    def __call__(self, words_h: list[str]) -> tuple[int, str]:
        rows = self._rows(words_h)
        return rows[-1][0][-1], self._trace(rows, len(words_h))

    def distance(self, words_h: list[str]) -> int:
        """The edit distance alone (what ranking a candidate shift needs)."""
        return self._rows(words_h)[-1][0][-1]

    def _rows(self, words_h: list[str]) -> list:
        rows = [self.first]
        node = self.cache
        for word in words_h:  # rows already known for this prefix
            hit = node.get(word)
            if hit is None:
                break
            node, row = hit
            rows.append(row)
        start = len(rows) - 1
        self._extend(words_h, rows)
        self._remember(words_h, rows, start)
        return rows

    def _extend(self, words_h: list[str], rows: list) -> None:
        n_h, n_ref, ref = len(words_h), self.n_ref, self.ref
        ratio = n_ref / n_h if words_h else 1
        beam = math.ceil(ratio / 2 + _BEAM_WIDTH) if _BEAM_WIDTH < ratio / 2 else _BEAM_WIDTH
        for i in range(len(rows), n_h + 1):
            prev_c = rows[i - 1][0]
            cost = [INF] * (n_ref + 1)
            ops = ["x"] * (n_ref + 1)
            diag = math.floor(i * ratio)
            lo = max(0, diag - beam)
            hi = n_ref + 1 if i == n_h else min(n_ref + 1, diag + beam)
            word = words_h[i - 1]
            if lo == 0:
                cost[0], ops[0] = prev_c[0] + 1, "d"
                lo = 1
            left = cost[lo - 1]
            for j in range(lo, hi):
                if word == ref[j - 1]:
                    best, op = prev_c[j - 1], " "
                else:
                    best, op = prev_c[j - 1] + 1, "s"
                if best >= INF:  # sacrebleu keeps the cell infinite unless a step is cheaper
                    best, op = INF, "x"
                up = prev_c[j] + 1
                if up < best:
                    best, op = up, "d"
                if left + 1 < best:
                    best, op = left + 1, "i"
                cost[j] = left = best
                ops[j] = op
            rows.append((cost, ops))

    def _remember(self, words_h: list[str], rows: list, start: int) -> None:
        if self.cache_size >= _MAX_CACHE_SIZE:
            return
        node = self.cache
        for word in words_h[:start]:
            node = node[word][0]
        for word, row in zip(words_h[start:], rows[start + 1 :], strict=True):
            if word not in node:
                node[word] = ({}, row)
                self.cache_size += 1
            node = node[word][0]

    def _trace(self, rows: list, n_h: int) -> str:
        out = []
        i, j = n_h, self.n_ref
        while i > 0 or j > 0:
            op = rows[i][1][j]
            out.append(op)
            if op in ("s", " "):
                i, j = i - 1, j - 1
            elif op == "i":
                j -= 1
            elif op == "d":
                i -= 1
            else:
                raise RuntimeError(f"unknown operation {op!r}")
        return "".join(reversed(out))


def shifted_pairs(words_h: list[str], words_r: list[str], where: dict[str, list[int]]):
    """sacrebleu's `_find_shifted_pairs`, same pairs in the same order: (start_h, start_r,
    length) for every common run of up to 10 words starting within 50 positions. Only reference
    positions holding the hypothesis word are visited (the others cannot start a run)."""
    n_h, n_r = len(words_h), len(words_r)
    for start_h, word in enumerate(words_h):
        places = where.get(word)
        if not places:
            continue
        lo = bisect_left(places, start_h - _MAX_SHIFT_DIST)
        hi = bisect_right(places, start_h + _MAX_SHIFT_DIST)
        for start_r in places[lo:hi]:
            length = 0
            while length < _MAX_SHIFT_SIZE and words_h[start_h + length] == words_r[start_r + length]:
                length += 1
                yield start_h, start_r, length
                if start_h + length == n_h or start_r + length == n_r:
                    break


def best_shift(
    words_h: list[str],
    words_r: list[str],
    cached: FastBeamEditDistance,
    checked: int,
    where: dict[str, list[int]],
):
    """sacrebleu's `lib_ter._shift` (Tercom's ranking of shifts: largest gain, then longest,
    earliest start, earliest target; ties broken by the shifted words), with prefix sums for
    the error spans. Returns (gain, shifted words, candidates checked so far)."""
    pre_score, inv_trace = cached(words_h)
    align, ref_err, hyp_err = trace_to_alignment(_flip_trace(inv_trace))
    hyp_sum, ref_sum = [0, *accumulate(hyp_err)], [0, *accumulate(ref_err)]
    best = None
    for start_h, start_r, length in shifted_pairs(words_h, words_r, where):
        if hyp_sum[min(start_h + length, len(hyp_err))] == hyp_sum[min(start_h, len(hyp_err))]:
            continue  # the hypothesis was right there
        if ref_sum[min(start_r + length, len(ref_err))] == ref_sum[min(start_r, len(ref_err))]:
            continue  # the reference is matched there already
        if start_h <= align[start_r] < start_h + length:
            continue  # no shifting within the span itself
        prev_idx = -1
        for offset in range(-1, length):
            if start_r + offset == -1:
                idx = 0
            elif start_r + offset in align:
                idx = align[start_r + offset] + 1
            else:
                break
            if idx == prev_idx:
                continue
            prev_idx = idx
            shifted = _perform_shift(words_h, start_h, length, idx)
            candidate = (pre_score - cached.distance(shifted), length, -start_h, -idx, shifted)
            checked += 1
            if not best or candidate > best:
                best = candidate
        if checked >= _MAX_SHIFT_CANDIDATES:
            break
    if not best:
        return 0, words_h, checked
    return best[0], best[4], checked


def translation_edit_rate(words_hyp: list[str], words_ref: list[str]) -> tuple[int, int]:
    """sacrebleu's `lib_ter.translation_edit_rate`, with the faster edit distance and shift search."""
    if not words_ref:
        return len(words_hyp), 0
    cached = FastBeamEditDistance(words_ref)
    where: dict[str, list[int]] = {}
    for position, word in enumerate(words_ref):
        where.setdefault(word, []).append(position)
    shifts, checked = 0, 0
    words = words_hyp
    while True:
        delta, shifted, checked = best_shift(words, words_ref, cached, checked, where)
        if checked >= _MAX_SHIFT_CANDIDATES or delta <= 0:
            break
        shifts += 1
        words = shifted
    return shifts + cached.distance(words), len(words_ref)


class FastTER(TER):
    """sacrebleu's TER (same tokenizer, options and signature), faster segment statistics."""

    def _compute_segment_statistics(self, hypothesis: str, ref_kwargs: dict) -> list[float]:
        words_hyp = hypothesis.split()
        refs: Sequence[list[str]] = ref_kwargs["ref_words"]
        lengths, best = 0, int(1e16)
        for words_ref in refs:
            edits, length = translation_edit_rate(words_hyp, words_ref)
            lengths += length
            best = min(best, edits)
        return [best, lengths / len(refs)]
