"""Paired significance tests with sacrebleu's exact procedure and seeds (paired bootstrap
n=1000, approximate randomisation n=10000, `default_rng(12345)`), computed from per-segment
sufficient statistics: resampled sums for all systems at once (counts @ stats), in chunks,
so memory does not grow with the number of resamples."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evalharness.metrics.scoring import (
    BOOTSTRAP_SEED,
    MetricStats,
    interval_from,
    resample_counts,
    resample_indices,
    resampled_sums,
    scores_from_sums,
)

_CHUNK = 500


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


def paired_bootstrap(
    baseline: MetricStats, systems: Sequence[MetricStats], n_samples: int = 1000, seed: int = BOOTSTRAP_SEED
):
    """For each system: (p-value, resampled scores). One pass of index draws serves every
    system (sacrebleu draws the same indices for each, from a fresh generator)."""
    metric = baseline.metric
    width = baseline.array.shape[1]
    stacked = np.concatenate([baseline.array] + [s.array for s in systems], axis=1)  # (segments, systems * k)
    per_system: list[list[np.ndarray]] = [[] for _ in range(len(systems) + 1)]
    for idx in resample_indices(len(baseline.rows), n_samples, seed):
        sums = resampled_sums(stacked, resample_counts(idx))  # one product for every system
        for k in range(len(per_system)):
            per_system[k].append(scores_from_sums(metric, sums[:, k * width : (k + 1) * width]))
    base_scores = np.concatenate(per_system[0])
    real_base = baseline.corpus_score().score
    out = []
    for stats, chunks in zip(systems, per_system[1:], strict=True):
        sys_scores = np.concatenate(chunks)
        diff = abs(real_base - stats.corpus_score().score)
        sample = np.abs(sys_scores - base_scores)
        out.append((_p_value(sample - sample.mean(), diff), sys_scores))
    return out, base_scores


def approximate_randomization(
    baseline: MetricStats, system: MetricStats, n_samples: int = 10_000, seed: int = BOOTSTRAP_SEED
) -> float:
    rng = np.random.default_rng(seed)
    metric = baseline.metric
    base = np.array(baseline.rows)
    sys_ = np.array(system.rows)
    diff = abs(baseline.corpus_score().score - system.corpus_score().score)
    pos = rng.integers(2, size=(n_samples, len(baseline.rows)), dtype=bool)
    deltas = []
    for start in range(0, n_samples, _CHUNK):
        p = pos[start : start + _CHUNK]
        n = ~p
        a = p @ base + n @ sys_
        b = n @ base + p @ sys_
        sa = np.array([metric._aggregate_and_compute(x).score for x in a[:, None]])
        sb = np.array([metric._aggregate_and_compute(x).score for x in b[:, None]])
        deltas.append(np.abs(sa - sb))
    return _p_value(np.concatenate(deltas), diff)


def compare_stats(
    baseline: MetricStats,
    systems: Sequence[MetricStats],
    n_bootstrap: int = 1000,
    n_ar: int = 10_000,
    seed: int = BOOTSTRAP_SEED,
) -> list[PairedResult]:
    results, _ = paired_bootstrap(baseline, systems, n_bootstrap, seed)
    base_score = baseline.corpus_score().score
    out = []
    for stats, (p_bs, sys_scores) in zip(systems, results, strict=True):
        score = stats.corpus_score().score
        iv = interval_from(list(sys_scores), seed)
        p_ar = approximate_randomization(baseline, stats, n_ar, seed) if n_ar else None
        out.append(
            PairedResult(
                stats.metric_id, base_score, score, score - base_score, p_bs, p_ar, iv.mean, iv.half_width
            )
        )
    return out
