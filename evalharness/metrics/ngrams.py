"""Clipped n-gram counts for a whole corpus at once: what BLEU and chrF compute one segment
at a time with Python `Counter`s, as a few sorts per n-gram order.

Every line (hypotheses, then each reference stream) is a run of integer symbols (characters
or words). The n-grams of one order for all lines are integer codes: an (n-1)-gram's code
times the alphabet size plus the next symbol, renumbered densely when the codes would
overflow; n-grams that would cross a line end are dropped. Counting is then `np.unique` on
(segment, code) keys, and clipping a `searchsorted` against the references' keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_LIMIT = 2**62


def char_symbols(lines: Sequence[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """All lines' characters as one array of dense symbol ids, the line lengths, the alphabet."""
    lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
    points = np.frombuffer("".join(lines).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    present = np.zeros(int(points.max(initial=0)) + 1, dtype=bool)  # code points: a table, no sort
    present[points] = True
    dense = np.cumsum(present, dtype=np.int64) - 1
    return dense[points], lengths, max(int(present.sum()), 1)


def word_symbols(lines: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray, int]:
    """All lines' words (already split) as dense symbol ids, the line lengths, the vocabulary size."""
    table: dict[str, int] = {}
    ids = [table.setdefault(w, len(table)) for line in lines for w in line]
    lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
    return np.array(ids, dtype=np.int64), lengths, max(len(table), 1)


@dataclass(frozen=True)
class OrderCounts:
    hyp_total: np.ndarray  # (systems, segments) hypothesis n-grams
    ref_total: np.ndarray  # (streams, segments) reference n-grams per reference stream
    match: (
        np.ndarray
    )  # (systems, segments): sum over hypothesis n-grams of min(count, max count in one reference)


def clipped_counts(
    seq: np.ndarray, lengths: np.ndarray, alphabet: int, segments: int, systems: int, orders: int
) -> list[OrderCounts]:
    """Per order 1..`orders`: counts for `systems` hypothesis streams of `segments` lines each,
    followed by one or more reference streams of `segments` lines, laid end to end in `seq`
    (`lengths` per line). References are counted once, whatever the number of systems."""
    n, hyp_lines = segments, segments * systems
    streams = (len(lengths) - hyp_lines) // max(n, 1)
    owner_all = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    codes, size = seq.copy(), alphabet
    valid = np.ones(len(seq), dtype=bool)
    out = []
    for order in range(1, orders + 1):
        if order > 1:
            if size * alphabet >= _LIMIT // max(len(lengths), 1):  # renumber before the codes overflow
                uniq, inverse = np.unique(codes[valid], return_inverse=True)
                codes = np.zeros(len(codes), dtype=np.int64)
                codes[valid] = inverse.reshape(-1)
                size = max(len(uniq), 1)
            codes = codes[:-1] * alphabet + seq[order - 1 :]
            valid = valid[:-1] & (owner_all[order - 1 :] == owner_all[: len(owner_all) - order + 1])
            size *= alphabet
        where = np.flatnonzero(valid)
        owner, code = owner_all[where], codes[where]
        is_hyp = owner < hyp_lines
        hyp_total = np.bincount(owner[is_hyp], minlength=hyp_lines).reshape(systems, n)
        ref_owner = owner[~is_hyp] - hyp_lines
        ref_total = np.bincount(ref_owner, minlength=streams * n).reshape(streams, n)
        hyp_keys, hyp_counts = np.unique(owner[is_hyp] * size + code[is_hyp], return_counts=True)
        ref_keys, ref_counts = _max_over_streams(
            (ref_owner % n) * size + code[~is_hyp], ref_owner // n, streams
        )
        match = np.zeros(hyp_lines, dtype=np.int64)
        if len(ref_keys) and len(hyp_keys):
            line = hyp_keys // size
            query = (line % n) * size + hyp_keys % size  # the same segment and n-gram in the references
            at = np.minimum(np.searchsorted(ref_keys, query), len(ref_keys) - 1)
            found = ref_keys[at] == query
            clipped = np.minimum(hyp_counts[found], ref_counts[at[found]])
            match = np.bincount(line[found], weights=clipped, minlength=hyp_lines).astype(np.int64)
        out.append(OrderCounts(hyp_total, ref_total, match.reshape(systems, n)))
    return out


def _max_over_streams(keys: np.ndarray, stream: np.ndarray, streams: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique keys and, for each, the largest count any single stream has of it."""
    if streams <= 1 or not len(keys):
        return np.unique(keys, return_counts=True)
    pair, counts = np.unique(keys * streams + stream, return_counts=True)
    key = pair // streams
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    return key[starts], np.maximum.reduceat(counts, starts)


class CorpusExtraction:
    """Mixin for sacrebleu metric subclasses with an `extract_systems(systems, references)`:
    a whole corpus's statistics go through it, the cases it does not cover (sacrebleu's
    reference cache, missing references) through sacrebleu's own code."""

    def _extract_corpus_statistics(self, hypotheses, references):
        if not references or any(r is None for stream in references for r in stream):
            return super()._extract_corpus_statistics(hypotheses, references)  # type: ignore[misc]
        return self.extract_systems([list(hypotheses)], [list(s) for s in references])[0]  # type: ignore[attr-defined]
