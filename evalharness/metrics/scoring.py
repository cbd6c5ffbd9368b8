"""Scores from per-segment sufficient statistics (sacrebleu's design): statistics are
extracted once per metric; the corpus score, per-segment scores and bootstrap intervals
are all computed from that one array, never by re-scoring text."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from evalharness.metrics.sacre import build_metric, signature

BOOTSTRAP_SEED = 12345  # sacrebleu's default (SACREBLEU_SEED)
BOOTSTRAP_SAMPLES = 1000
_CHUNK = 64  # resamples held in memory at once: memory does not grow with n_bootstrap


@dataclass(frozen=True)
class Interval:
    """sacrebleu's bootstrap estimate: mean of the resampled scores and the half-width of
    the 95% interval around it, plus the bounds and the spread."""

    mean: float
    half_width: float
    low: float
    high: float
    stdev: float
    n_bootstrap: int
    seed: int


@dataclass(frozen=True)
class MetricScore:
    metric: str
    score: float
    signature: str
    verbose: str
    segment_scores: list[float]
    interval: Interval | None = None

    @property
    def detectable_difference(self) -> float | None:
        """Smallest difference between two systems this test set can tell apart (95%), from the
        bootstrap spread, assuming two independent systems of similar variance."""
        if self.interval is None:
            return None
        return 1.96 * math.sqrt(2.0) * self.interval.stdev


@dataclass
class MetricStats:
    """One metric's per-segment sufficient statistics for one system."""

    metric_id: str
    metric: object  # the sacrebleu metric, configured
    rows: list  # sacrebleu's own per-segment statistics, untouched

    @cached_property
    def array(self) -> np.ndarray:
        return np.asarray(self.rows, dtype=np.float32)  # float32, as sacrebleu resamples

    @cached_property
    def _corpus(self):
        return self.metric._aggregate_and_compute(self.rows)

    def corpus_score(self):
        return self._corpus


def extract(
    metric_id: str,
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    tgt_lang: str | None = None,
    options: dict | None = None,
) -> MetricStats:
    """`references` is a list of reference streams, as in sacrebleu (one list per reference)."""
    metric = build_metric(metric_id, tgt_lang, options)
    rows = metric._extract_corpus_statistics(list(hypotheses), [list(r) for r in references])
    metric._check_corpus_score_args(list(hypotheses), [list(r) for r in references])
    return MetricStats(metric_id, metric, rows)


def segment_scores(
    stats: MetricStats, tgt_lang: str | None = None, options: dict | None = None
) -> list[float]:
    """Sentence-level scores from the same rows; BLEU uses effective order, as sacrebleu's
    sentence_score does."""
    scorer = stats.metric
    if stats.metric_id == "bleu":
        scorer = build_metric("bleu", tgt_lang, {**(options or {}), "effective_order": True})
    return [float(scorer._compute_score_from_stats(row).score) for row in stats.rows]


def resample_indices(n_segments: int, n_samples: int, seed: int = BOOTSTRAP_SEED):
    """Yield sacrebleu's bootstrap index rows in chunks: the same generator and draws as its
    single `rng.choice(n, size=(n_samples, n))`, without holding them all at once."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < n_samples:
        take = min(_CHUNK, n_samples - done)
        yield rng.choice(n_segments, size=(take, n_segments), replace=True)
        done += take


def resample_counts(idx: np.ndarray) -> np.ndarray:
    """(resamples, segments): how often each segment is drawn in each resample."""
    take, n = idx.shape
    counts = np.bincount((idx + (np.arange(take) * n)[:, None]).ravel(), minlength=take * n)
    return counts.reshape(take, n).astype(np.float64)


def resampled_sums(array: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Summed statistics of each resample: counts @ stats, exact for count statistics, then
    float32 as sacrebleu computes its resampled scores."""
    return (counts @ array.astype(np.float64)).astype(np.float32)


def scores_from_sums(metric, sums: np.ndarray) -> np.ndarray:
    """Scores of many summed-statistics rows, exactly as sacrebleu computes each one."""
    if type(metric).__name__ == "CHRF" and not metric.eps_smoothing:
        return chrf_scores(metric, sums)
    return np.array([metric._compute_score_from_stats(row).score for row in sums])


def chrf_scores(metric, sums: np.ndarray) -> np.ndarray:
    """sacrebleu's chrF for many rows at once, with its float32 arithmetic in the same order,
    so the numbers are bit-identical. Rows with an empty n-gram order take sacrebleu's own path."""
    sums = sums.astype(np.float32, copy=False)
    hyp, ref, match = sums[:, 0::3], sums[:, 1::3], sums[:, 2::3]
    simple = (hyp > 0).all(axis=1) & (ref > 0).all(axis=1)
    out = np.empty(len(sums), dtype=np.float64)
    if simple.any():
        factor = metric.beta**2
        h, r, m = hyp[simple], ref[simple], match[simple]
        avg_prec = np.zeros(len(h), dtype=np.float32)
        avg_rec = np.zeros(len(h), dtype=np.float32)
        for i in range(metric.order):
            avg_prec = avg_prec + m[:, i] / h[:, i]
            avg_rec = avg_rec + m[:, i] / r[:, i]
        avg_prec = avg_prec / np.float32(metric.order)
        avg_rec = avg_rec / np.float32(metric.order)
        both = (avg_prec + avg_rec) != 0
        score = np.float32(1 + factor) * avg_prec * avg_rec
        score = score / ((np.float32(factor) * avg_prec) + avg_rec)
        out[simple] = np.where(both, np.float32(100) * score, 0.0)
    for k in np.flatnonzero(~simple):
        out[k] = metric._compute_score_from_stats(sums[k]).score
    return out


def bootstrap(stats: MetricStats, n_samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED) -> Interval:
    array = stats.array
    scores: list[float] = []
    for idx in resample_indices(len(stats.rows), n_samples, seed):
        scores.extend(
            float(x) for x in scores_from_sums(stats.metric, resampled_sums(array, resample_counts(idx)))
        )
    return interval_from(scores, seed)


def interval_from(scores: list[float], seed: int) -> Interval:
    ordered = sorted(scores)
    n = len(ordered)
    lower_idx = n // 40  # sacrebleu: 95% = 1/40 from each side
    upper_idx = n - lower_idx - 1
    low, high = ordered[lower_idx], ordered[upper_idx]
    return Interval(
        mean=float(statistics.mean(ordered)),
        half_width=float(0.5 * (high - low)),
        low=float(low),
        high=float(high),
        stdev=float(statistics.stdev(ordered)) if n > 1 else 0.0,
        n_bootstrap=n,
        seed=seed,
    )


def score_all(
    metric_ids: Sequence[str],
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    tgt_lang: str | None = None,
    options: dict | None = None,
    ci: bool = False,
    n_bootstrap: int = BOOTSTRAP_SAMPLES,
    per_segment: bool = True,
) -> dict[str, MetricScore]:
    out = {}
    for metric_id in metric_ids:
        stats = extract(metric_id, hypotheses, references, tgt_lang, options)
        corpus = stats.corpus_score()
        interval = bootstrap(stats, n_bootstrap) if ci else None
        if interval is not None:  # the signature records the resampling, as sacrebleu's does
            stats.metric.n_bootstrap, stats.metric.seed = n_bootstrap, str(BOOTSTRAP_SEED)
        out[metric_id] = MetricScore(
            metric=metric_id,
            score=float(corpus.score),
            signature=signature(stats.metric),
            verbose=corpus.format(width=2, score_only=False, signature=""),
            segment_scores=segment_scores(stats, tgt_lang, options) if per_segment else [],
            interval=interval,
        )
    return out
