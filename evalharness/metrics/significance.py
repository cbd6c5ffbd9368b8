"""Paired significance tests with sacrebleu's exact procedure and seeds, from per-segment
sufficient statistics, for all systems at once.

- Paired bootstrap (n=1000): sacrebleu's index draws, in chunks; one counts matrix per chunk
  serves every system (counts @ stats); resampled scores are bit-identical to sacrebleu's.
  Every pair of systems is judged from the same resampled scores, as sacrebleu judges each
  system against the baseline.
- Approximate randomisation (n=10,000): sacrebleu's boolean draws (`rng.integers(2, ...)`),
  generated in chunks of a multiple of 32 trials, which numpy turns into exactly the stream
  of one big draw. For a chunk, one product P = trials @ [all systems' statistics] gives
  every shuffled pair: A = P_i + (T_j - P_j), B = (T_i - P_i) + P_j (T: column totals), exact
  in float64 for count statistics. Scores are vectorised; a trial whose |A - B| lies within
  1e-9 of the real difference is re-scored with sacrebleu's exact arithmetic, so every
  p-value equals sacrebleu's.
- All pairs: Holm-Bonferroni (default) or Bonferroni adjusted p-values, and clusters of
  systems that are not significantly different, as WMT reports them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evalharness.metrics.registry import get
from evalharness.metrics.scoring import (
    BOOTSTRAP_SEED,
    interval_from,
    resample_counts,
    resample_indices,
    resampled_sums,
    scores_from_sums,
)
from evalharness.metrics.stats import MetricStats

ALPHA = 0.05
AR_TRIALS = 10_000
BOOTSTRAP_RESAMPLES = 1000
_TIE = 1e-9  # AR trials this close to the real difference are re-scored exactly
_AR_BLOCK_BYTES = 32 << 20  # float64 trial-by-segment block per chunk


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


def resampled_scores(
    systems: Sequence[MetricStats], n_samples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> np.ndarray:
    """(systems, resamples): every system's score on the same bootstrap resamples."""
    width = systems[0].array.shape[1]
    stacked = np.concatenate([s.array for s in systems], axis=1)  # (segments, systems * k)
    chunks = []
    for idx in resample_indices(len(systems[0]), n_samples, seed):
        sums = resampled_sums(stacked, resample_counts(idx))  # one product for every system
        chunks.append(
            np.stack(
                [scores_from_sums(s, sums[:, k * width : (k + 1) * width]) for k, s in enumerate(systems)]
            )
        )
    return np.concatenate(chunks, axis=1)


def bootstrap_p(resampled: np.ndarray, i: int, j: int, real_difference: float) -> float:
    """sacrebleu's paired-bootstrap p-value for systems i and j (symmetric)."""
    sample = np.abs(resampled[j] - resampled[i])
    return _p_value(sample - sample.mean(), real_difference)


def _ar_chunk_sizes(n_trials: int, n_segments: int) -> list[int]:
    per = max(32, (_AR_BLOCK_BYTES // (8 * max(n_segments, 1))) // 32 * 32)  # multiple of 32
    sizes = [per] * (n_trials // per)
    if n_trials % per:
        sizes.append(n_trials % per)
    return sizes


def randomization_p(
    systems: Sequence[MetricStats],
    pairs: Sequence[tuple[int, int]],
    n_trials: int = AR_TRIALS,
    seed: int = BOOTSTRAP_SEED,
) -> list[float]:
    """sacrebleu's approximate-randomisation p-value for each pair (i, j) of `systems`, every
    pair on the same trials (sacrebleu seeds each comparison identically)."""
    spec, metric = get(systems[0].metric_id), systems[0].metric
    k = systems[0].array.shape[1]
    stats = np.concatenate([s.array.astype(np.float64) for s in systems], axis=1)
    totals = stats.sum(axis=0)
    real = [abs(systems[i].score - systems[j].score) for i, j in pairs]
    above = np.zeros(len(pairs), dtype=np.int64)
    rng = np.random.default_rng(seed)
    for size in _ar_chunk_sizes(n_trials, len(stats)):
        chosen = rng.integers(2, size=(size, len(stats)), dtype=bool)
        picked = chosen.astype(np.float64) @ stats  # (trials, systems * k)
        for n, (i, j) in enumerate(pairs):
            pi, pj = picked[:, i * k : (i + 1) * k], picked[:, j * k : (j + 1) * k]
            a = pi + (totals[j * k : (j + 1) * k] - pj)
            b = (totals[i * k : (i + 1) * k] - pi) + pj
            diff = np.abs(spec.scores(metric, a, exact=False) - spec.scores(metric, b, exact=False))
            near = np.abs(diff - real[n]) <= _TIE * max(1.0, real[n])
            if near.any():  # too close to call with numpy's log/exp: sacrebleu's arithmetic decides
                diff[near] = np.abs(spec.scores(metric, a[near]) - spec.scores(metric, b[near]))
            above[n] += int(np.sum(diff > real[n]))
    return [(int(c) + 1) / (n_trials + 1) for c in above]


def compare_stats(
    baseline: MetricStats,
    systems: Sequence[MetricStats],
    n_bootstrap: int = BOOTSTRAP_RESAMPLES,
    n_ar: int = AR_TRIALS,
    seed: int = BOOTSTRAP_SEED,
) -> list[PairedResult]:
    """Each system against the baseline: scores, bootstrap and AR p-values, interval."""
    everyone = [baseline, *systems]
    resampled = resampled_scores(everyone, n_bootstrap, seed)
    pairs = [(0, k) for k in range(1, len(everyone))]
    p_ar = randomization_p(everyone, pairs, n_ar, seed) if n_ar else [None] * len(pairs)
    out = []
    for (_, k), p_r in zip(pairs, p_ar, strict=True):
        stats = everyone[k]
        iv = interval_from(resampled[k].tolist(), seed)
        real = abs(baseline.score - stats.score)
        out.append(
            PairedResult(
                stats.metric_id,
                baseline.score,
                stats.score,
                stats.score - baseline.score,
                bootstrap_p(resampled, 0, k, real),
                p_r,
                iv.mean,
                iv.half_width,
            )
        )
    return out


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


def all_pairs(
    systems: Sequence[MetricStats],
    n_bootstrap: int = BOOTSTRAP_RESAMPLES,
    n_ar: int = AR_TRIALS,
    correction: str = "holm",
    seed: int = BOOTSTRAP_SEED,
    alpha: float = ALPHA,
) -> AllPairs:
    spec = get(systems[0].metric_id)
    pairs = [(i, j) for i in range(len(systems)) for j in range(i + 1, len(systems))]
    resampled = resampled_scores(systems, n_bootstrap, seed)
    scores = [s.score for s in systems]
    p_bs = [bootstrap_p(resampled, i, j, abs(scores[i] - scores[j])) for i, j in pairs]
    p_ar = randomization_p(systems, pairs, n_ar, seed) if n_ar else None
    tested = p_ar if p_ar is not None else p_bs
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
