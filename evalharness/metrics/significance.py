"""Paired significance tests with sacrebleu's exact procedure and seeds, from per-segment
sufficient statistics, for all systems at once.

- Paired bootstrap (n=1000): sacrebleu's index draws, in chunks; one counts matrix per chunk
  serves every system (counts @ stats); resampled scores are bit-identical to sacrebleu's.
  Every pair of systems is judged from the same resampled scores, as sacrebleu judges each
  system against the baseline.
- Approximate randomisation (n=10,000): sacrebleu's boolean draws (`rng.integers(2, ...)`),
  unpacked from the generator's raw stream in cache-sized chunks of a multiple of 32 trials
  (the same bits as one big draw). For a chunk, one product P = trials @ [all systems'
  statistics] (a column the systems share, such as reference lengths, multiplied once) gives
  every shuffled pair: A = P_i + (T_j - P_j), B = (T_i - P_i) + P_j (T: column totals), exact
  in float64 for count statistics. Scores are vectorised; a trial whose |A - B| lies within
  1e-9 of the real difference is re-scored with sacrebleu's exact arithmetic, so every
  p-value equals sacrebleu's.
- All pairs: Holm-Bonferroni (default) or Bonferroni adjusted p-values, and clusters of
  systems that are not significantly different, as WMT reports them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from evalharness.metrics.registry import get
from evalharness.metrics.scoring import (
    BOOTSTRAP_SEED,
    interval_from,
    resample_counts,
    resample_indices,
    scores_from_sums,
)
from evalharness.metrics.stats import MetricStats

ALPHA = 0.05
AR_TRIALS = 10_000
BOOTSTRAP_RESAMPLES = 1000
_TIE = 1e-9  # AR trials this close to the real difference are re-scored exactly
_AR_BLOCK_BYTES = 4 << 20  # bound on the draws (as float32) and the shuffled sums per chunk: cache-sized


def same_score(delta: float) -> bool:
    """A zero difference is not tested. sacrebleu's bootstrap p-value counts resampled
    differences above the observed one; for two equal scores none is ever above zero, so it
    reads 0.001 and would look significant. Such a pair is reported as the same score."""
    return abs(delta) < 1e-9


@dataclass(frozen=True)
class PairedResult:
    metric: str
    baseline: float
    system: float
    delta: float  # system - baseline
    p_bootstrap: float
    p_randomization: float | None
    mean: float  # bootstrap mean and 95% half-width of the system's score
    half_width: float


def _p_value(stats: np.ndarray, real_difference: float) -> float:
    return (int(np.sum(stats > real_difference)) + 1) / (len(stats) + 1)


@dataclass(frozen=True)
class _Stack:
    """Every metric's statistics for every system side by side, one column block each, so
    one draw and one matrix product serve all of them (sacrebleu draws the same bootstrap
    indices and AR trials for every metric and comparison). float32 when that is exact
    (integer statistics whose column totals stay below 2**24: every partial sum is then an
    exact integer), else float64."""

    matrix: np.ndarray  # (segments, columns)
    blocks: dict[str, list[slice]]  # metric -> one column slice per system

    @classmethod
    def of(cls, by_metric: Mapping[str, Sequence[MetricStats]]) -> _Stack:
        arrays, blocks, col = [], {}, 0
        for metric_id, systems in by_metric.items():
            blocks[metric_id] = []
            for stats in systems:
                width = stats.array.shape[1]
                arrays.append(stats.array)
                blocks[metric_id].append(slice(col, col + width))
                col += width
        matrix = np.concatenate(arrays, axis=1).astype(np.float64)
        integral = bool(np.all(matrix == np.round(matrix))) and bool(np.all(matrix >= 0))
        exact32 = integral and float(matrix.sum(axis=0).max(initial=0.0)) < 2**24
        return cls(matrix.astype(np.float32) if exact32 else matrix, blocks)

    def distinct_columns(self) -> tuple[np.ndarray, np.ndarray]:
        """The matrix without repeated columns, and for each column its distinct one. Columns
        the systems share (reference lengths and n-gram counts) are multiplied once."""
        seen: dict[bytes, int] = {}
        keep: list[int] = []
        inverse = np.empty(self.matrix.shape[1], dtype=np.intp)
        for k, col in enumerate(self.matrix.T):
            inverse[k] = seen.setdefault(col.tobytes(), len(seen))
            if inverse[k] == len(keep):
                keep.append(k)
        return np.ascontiguousarray(self.matrix[:, keep]), inverse


def resampled_scores_many(
    by_metric: Mapping[str, Sequence[MetricStats]],
    n_samples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, np.ndarray]:
    """metric -> (systems, resamples): every system's score on the same bootstrap resamples."""
    stack = _Stack.of(by_metric)
    chunks: dict[str, list[np.ndarray]] = {m: [] for m in by_metric}
    n = len(stack.matrix)
    single = {m: not get(m).resample_float32 for m in by_metric}  # model metrics: float64 sums
    for idx in resample_indices(n, n_samples, seed):
        counts = resample_counts(idx).astype(stack.matrix.dtype)
        exact = counts @ stack.matrix
        sums32 = exact.astype(np.float32)  # sacrebleu resamples in float32
        for metric_id, systems in by_metric.items():
            sums = exact.astype(np.float64) if single[metric_id] else sums32
            blocks = stack.blocks[metric_id]
            chunks[metric_id].append(
                np.stack([scores_from_sums(s, sums[:, b]) for s, b in zip(systems, blocks, strict=True)])
            )
    return {m: np.concatenate(c, axis=1) for m, c in chunks.items()}


def resampled_scores(
    systems: Sequence[MetricStats], n_samples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> np.ndarray:
    """(systems, resamples) for one metric."""
    return resampled_scores_many({systems[0].metric_id: systems}, n_samples, seed)[systems[0].metric_id]


def bootstrap_p(resampled: np.ndarray, i: int, j: int, real_difference: float) -> float:
    """sacrebleu's paired-bootstrap p-value for systems i and j (symmetric)."""
    sample = np.abs(resampled[j] - resampled[i])
    return _p_value(sample - sample.mean(), real_difference)


def _ar_chunk(n_segments: int, n_pairs: int, width: int) -> int:
    """Trials per chunk (a multiple of 32): the draws as float32 and the shuffled sums of
    every pair each stay within _AR_BLOCK_BYTES."""
    by_draws = _AR_BLOCK_BYTES // (4 * max(n_segments, 1))
    by_sums = _AR_BLOCK_BYTES // (8 * 2 * max(n_pairs * width, 1))
    return max(32, min(by_draws, by_sums) // 32 * 32)


def ar_draws(n_trials: int, n_segments: int, seed: int, chunk: int) -> Iterator[np.ndarray]:
    """sacrebleu's trials, `default_rng(seed).integers(2, size=(n_trials, n_segments),
    dtype=bool)`, as 0/1 uint8 rows, `chunk` trials (a multiple of 32) at a time.

    numpy fills a boolean array from 32-bit words, lowest bit first, and PCG64 hands out the
    low and then the high half of each 64-bit output; unpacking raw outputs in that order
    gives the same bits several times faster than the boolean draw (a test pins them)."""
    bitgen = np.random.default_rng(seed).bit_generator
    pending = np.zeros(0, dtype="<u4")  # the unused high half of the last 64-bit output
    done = 0
    while done < n_trials:
        size = min(chunk, n_trials - done)
        bits = size * n_segments
        fresh = -(-bits // 32) - len(pending)
        raw = bitgen.random_raw(-(-fresh // 2)).astype("<u8").view("<u4")
        words = np.concatenate([pending, raw[: max(fresh, 0)]])
        pending = raw[max(fresh, 0) :]
        yield np.unpackbits(words.view(np.uint8), bitorder="little")[:bits].reshape(size, n_segments)
        done += size


def randomization_p_many(
    by_metric: Mapping[str, Sequence[MetricStats]],
    pairs: Sequence[tuple[int, int]],
    n_trials: int = AR_TRIALS,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, list[float]]:
    """metric -> sacrebleu's approximate-randomisation p-value for each pair (i, j), every
    metric and pair on the same trials (sacrebleu seeds each comparison identically)."""
    stack = _Stack.of(by_metric)
    distinct, inverse = stack.distinct_columns()
    totals = stack.matrix.astype(np.float64).sum(axis=0)
    above = {m: np.zeros(len(pairs), dtype=np.int64) for m in by_metric}
    real = {m: np.array([abs(s[i].score - s[j].score) for i, j in pairs]) for m, s in by_metric.items()}
    first, second = [i for i, _ in pairs], [j for _, j in pairs]
    # per metric: its spec, its configured metric and every system's column totals (systems, 1, width)
    setup = {
        m: (get(m), s[0].metric, np.stack([totals[b] for b in stack.blocks[m]])[:, None, :])
        for m, s in by_metric.items()
    }
    widest = max(b[0].stop - b[0].start for b in stack.blocks.values())
    chunk = _ar_chunk(len(distinct), len(pairs), widest)
    for chosen in ar_draws(n_trials, len(distinct), seed, chunk):
        # (trials, columns): every system's statistics summed over the segments each trial picks
        picked = (chosen.astype(distinct.dtype) @ distinct).astype(np.float64)[:, inverse]
        for metric_id, (spec, metric, system_totals) in setup.items():
            # (pairs, trials, width): each pair's shuffled sums, all scored in one call
            per_system = np.stack([picked[:, b] for b in stack.blocks[metric_id]])
            pi, pj = per_system[first], per_system[second]
            a = pi + (system_totals[second] - pj)
            b = (system_totals[first] - pi) + pj
            width = a.shape[-1]
            scores = spec.scores(metric, np.concatenate([a, b]).reshape(-1, width), exact=False)
            diff = np.abs(np.subtract(*scores.reshape(2, len(pairs), -1)))
            limit = real[metric_id][:, None]
            near = np.abs(diff - limit) <= _TIE * np.maximum(1.0, limit)
            if near.any():  # too close to call with numpy's log/exp: sacrebleu's arithmetic decides
                diff[near] = np.abs(spec.scores(metric, a[near]) - spec.scores(metric, b[near]))
            above[metric_id] += np.sum(diff > limit, axis=1)
    return {m: [(int(c) + 1) / (n_trials + 1) for c in counts] for m, counts in above.items()}


def randomization_p(
    systems: Sequence[MetricStats],
    pairs: Sequence[tuple[int, int]],
    n_trials: int = AR_TRIALS,
    seed: int = BOOTSTRAP_SEED,
) -> list[float]:
    """For one metric."""
    return randomization_p_many({systems[0].metric_id: systems}, pairs, n_trials, seed)[systems[0].metric_id]


def _paired_results(
    systems: Sequence[MetricStats], resampled: np.ndarray, p_ar: Sequence[float | None], seed: int
) -> list[PairedResult]:
    base = systems[0]
    out = []
    for k in range(1, len(systems)):
        stats = systems[k]
        iv = interval_from(resampled[k], seed)
        real = abs(base.score - stats.score)
        out.append(
            PairedResult(
                stats.metric_id,
                base.score,
                stats.score,
                stats.score - base.score,
                bootstrap_p(resampled, 0, k, real),
                p_ar[k - 1],
                iv.mean,
                iv.half_width,
            )
        )
    return out


def compare_stats(
    baseline: MetricStats,
    systems: Sequence[MetricStats],
    n_bootstrap: int = BOOTSTRAP_RESAMPLES,
    n_ar: int = AR_TRIALS,
    seed: int = BOOTSTRAP_SEED,
) -> list[PairedResult]:
    """Each system against the baseline for one metric."""
    return compare_many({baseline.metric_id: [baseline, *systems]}, n_bootstrap, n_ar, seed)[0][
        baseline.metric_id
    ]


def compare_many(
    by_metric: Mapping[str, Sequence[MetricStats]],
    n_bootstrap: int = BOOTSTRAP_RESAMPLES,
    n_ar: int = AR_TRIALS,
    seed: int = BOOTSTRAP_SEED,
    every_pair: bool = False,
    correction: str = "holm",
) -> tuple[dict[str, list[PairedResult]], dict[str, AllPairs]]:
    """Every metric at once: each system against the first, and with `every_pair` the full
    matrix of all pairs. One set of draws and one matrix product per chunk serve them all."""
    n_systems = len(next(iter(by_metric.values())))
    pairs = (
        [(i, j) for i in range(n_systems) for j in range(i + 1, n_systems)]
        if every_pair
        else [(0, k) for k in range(1, n_systems)]
    )
    resampled = resampled_scores_many(by_metric, n_bootstrap, seed)
    p_ar = (
        randomization_p_many(by_metric, pairs, n_ar, seed)
        if n_ar
        else {m: [None] * len(pairs) for m in by_metric}
    )
    against_first = {}
    matrices = {}
    for metric_id, systems in by_metric.items():
        first = [p for p, pair in zip(p_ar[metric_id], pairs, strict=True) if pair[0] == 0]
        against_first[metric_id] = _paired_results(systems, resampled[metric_id], first, seed)
        if every_pair:
            matrices[metric_id] = _all_pairs(
                systems, resampled[metric_id], pairs, p_ar[metric_id] if n_ar else None, correction
            )
    return against_first, matrices


# ---------------------------------------------------------------- all pairs


CORRECTIONS = ("holm", "bonferroni", "none")


def adjust(p_values: Sequence[float], method: str = "holm") -> list[float]:
    """Family-wise error control over all pairs. Holm-Bonferroni: sort ascending, multiply
    the r-th smallest by (m - r), keep the sequence monotone, cap at 1."""
    m = len(p_values)
    if method == "none" or m == 0:
        return list(p_values)
    if method == "bonferroni":
        return [min(1.0, p * m) for p in p_values]
    if method != "holm":
        raise ValueError(method)
    order = sorted(range(m), key=lambda i: p_values[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        out[i] = running
    return out


@dataclass(frozen=True)
class PairCell:
    a: int
    b: int
    delta: float  # score b - score a
    p_bootstrap: float
    p_randomization: float | None
    p_adjusted: float  # of the test named in AllPairs.test
    significant: bool


@dataclass(frozen=True)
class AllPairs:
    metric: str
    scores: list[float]
    cells: list[PairCell]
    test: str  # "approximate randomisation" or "paired bootstrap"
    correction: str
    clusters: list[list[int]]  # best first; systems inside a cluster are not separable


def _all_pairs(
    systems: Sequence[MetricStats],
    resampled: np.ndarray,
    pairs: Sequence[tuple[int, int]],
    p_ar: Sequence[float] | None,
    correction: str,
    alpha: float = ALPHA,
) -> AllPairs:
    spec = get(systems[0].metric_id)
    scores = [s.score for s in systems]
    # two equal scores (identical output, say) are not tested: both p-values would read as
    # their floor and call the pair significant (see same_score); they are p = 1
    same = [same_score(scores[j] - scores[i]) for i, j in pairs]
    p_bs = [
        1.0 if eq else bootstrap_p(resampled, i, j, abs(scores[i] - scores[j]))
        for (i, j), eq in zip(pairs, same, strict=True)
    ]
    if p_ar is not None:
        p_ar = [1.0 if eq else p for p, eq in zip(p_ar, same, strict=True)]
    tested = list(p_ar) if p_ar is not None else p_bs
    adjusted = adjust(tested, correction)
    cells = [
        PairCell(i, j, scores[j] - scores[i], pb, pa, padj, padj < alpha)
        for (i, j), pb, pa, padj in zip(pairs, p_bs, p_ar or [None] * len(pairs), adjusted, strict=True)
    ]
    return AllPairs(
        metric=spec.id,
        scores=scores,
        cells=cells,
        test="approximate randomisation" if p_ar is not None else "paired bootstrap",
        correction=correction,
        clusters=clusters(scores, {(c.a, c.b): c.significant for c in cells}, spec.higher_is_better),
    )


def all_pairs(
    systems: Sequence[MetricStats],
    n_bootstrap: int = BOOTSTRAP_RESAMPLES,
    n_ar: int = AR_TRIALS,
    correction: str = "holm",
    seed: int = BOOTSTRAP_SEED,
) -> AllPairs:
    """Every pair of systems for one metric, adjusted for the number of pairs."""
    metric_id = systems[0].metric_id
    return compare_many({metric_id: systems}, n_bootstrap, n_ar, seed, True, correction)[1][metric_id]


def clusters(
    scores: Sequence[float], significant: dict[tuple[int, int], bool], higher_is_better: bool
) -> list[list[int]]:
    """Rank systems by score and cut the ranking only where every system above the cut is
    significantly different from every system below it (WMT's clusters)."""
    ranked = sorted(range(len(scores)), key=lambda i: -scores[i] if higher_is_better else scores[i])

    def sig(a: int, b: int) -> bool:
        return significant.get((min(a, b), max(a, b)), False)

    out: list[list[int]] = [[]]
    for pos, system in enumerate(ranked):
        if out[-1] and all(sig(a, b) for a in ranked[:pos] for b in ranked[pos:]):
            out.append([])
        out[-1].append(system)
    return out
