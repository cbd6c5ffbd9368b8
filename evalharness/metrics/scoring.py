"""Scores from per-segment sufficient statistics: the corpus score, per-segment scores and the
bootstrap interval all come from the one array `stats.extract` made, never from re-scoring
text. The bootstrap draws exactly sacrebleu's indices (`default_rng(12345)`, chunks of 64
resamples so memory does not grow with their number) and scores the resampled sums with the
registry's vectorised, bit-identical functions."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evalharness.metrics.neural.metric import ScoringContext
from evalharness.metrics.registry import get
from evalharness.metrics.stats import Job, MetricStats, extract_many

BOOTSTRAP_SEED = 12345  # sacrebleu's default (SACREBLEU_SEED)
BOOTSTRAP_SAMPLES = 1000
_CHUNK_BYTES = 8 << 20  # bound on a chunk's index (and count) matrix: 256 resamples at 4,000 segments
_CHUNK_MAX = 256  # resamples per chunk at most (more only adds memory)


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
    stats: MetricStats
    interval: Interval | None = None

    @property
    def detectable_difference(self) -> float | None:
        """Smallest difference between two systems this test set can tell apart (95%), from the
        bootstrap spread, assuming two independent systems of similar variance."""
        if self.interval is None:
            return None
        return 1.96 * math.sqrt(2.0) * self.interval.stdev


def scores_from_sums(stats: MetricStats, sums: np.ndarray, exact: bool = True) -> np.ndarray:
    """Scores of many summed-statistics rows, exactly as sacrebleu computes each one."""
    return get(stats.metric_id).scores(stats.metric, sums, exact=exact)


def segment_scores(
    stats: MetricStats, tgt_lang: str | None = None, options: Mapping | None = None
) -> list[float]:
    """Sentence-level scores from the same rows (BLEU with effective order, as sacrebleu's
    sentence_score)."""
    spec = get(stats.metric_id)
    scorer = (
        spec.build(tgt_lang, {**(options or {}), **spec.segment_options})
        if spec.segment_options
        else stats.metric
    )
    return spec.scores(scorer, stats.array.astype(np.float64)).tolist()


def resample_indices(n_segments: int, n_samples: int, seed: int = BOOTSTRAP_SEED) -> Iterator[np.ndarray]:
    """Yield sacrebleu's bootstrap index rows in chunks: the same generator and draws as its
    single `rng.choice(n, size=(n_samples, n))`, without holding them all at once."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(_CHUNK_MAX, _CHUNK_BYTES // (8 * max(n_segments, 1))))
    done = 0
    while done < n_samples:
        take = min(chunk, n_samples - done)
        yield rng.choice(n_segments, size=(take, n_segments), replace=True)
        done += take


def resample_counts(idx: np.ndarray) -> np.ndarray:
    """(resamples, segments): how often each segment is drawn in each resample."""
    take, n = idx.shape
    counts = np.bincount((idx + (np.arange(take) * n)[:, None]).ravel(), minlength=take * n)
    return counts.reshape(take, n).astype(np.float64)


def resampled_sums(array: np.ndarray, counts: np.ndarray, float32: bool = True) -> np.ndarray:
    """Summed statistics of each resample: counts @ stats, exact for count statistics, then
    float32 as sacrebleu computes its resampled scores (model metrics stay in float64)."""
    sums = counts @ array.astype(np.float64)
    return sums.astype(np.float32) if float32 else sums


def document_counts(
    documents: Sequence[int], n_samples: int, seed: int = BOOTSTRAP_SEED
) -> Iterator[np.ndarray]:
    """Resample counts per segment when whole documents are drawn: `documents[i]` numbers
    segment i's document (0..D-1). D documents are drawn with replacement (the generator and
    draws of the segment bootstrap, over documents), and each segment counts as often as its
    document: segments of one document are not independent, so they move together."""
    doc_of = np.asarray(documents, dtype=np.int64)
    n_docs = int(doc_of.max()) + 1 if len(doc_of) else 0
    for idx in resample_indices(n_docs, n_samples, seed):
        yield resample_counts(idx)[:, doc_of]


def bootstrap(
    stats: MetricStats,
    n_samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
    documents: Sequence[int] | None = None,
) -> Interval:
    """A 95% interval from resampled segments, or from resampled documents (`documents`)."""
    float32 = get(stats.metric_id).resample_float32
    counts = (
        (resample_counts(idx) for idx in resample_indices(len(stats), n_samples, seed))
        if documents is None
        else document_counts(documents, n_samples, seed)
    )
    scores = [scores_from_sums(stats, resampled_sums(stats.array, c, float32)) for c in counts]
    return interval_from(np.concatenate(scores), seed)


def document_numbers(doc_ids: Sequence[str | None]) -> list[int] | None:
    """Segment -> document number (in order of first appearance), or None when any segment
    has no document (a test set without documents resamples segments)."""
    if not doc_ids or any(d is None for d in doc_ids):
        return None
    numbers: dict[str, int] = {}
    return [numbers.setdefault(d, len(numbers)) for d in doc_ids]  # type: ignore[arg-type]


def interval_from(scores: Sequence[float] | np.ndarray, seed: int) -> Interval:
    ordered = np.sort(np.asarray(scores, dtype=np.float64))
    n = len(ordered)
    lower_idx = n // 40  # sacrebleu: 95% = 1/40 from each side
    upper_idx = n - lower_idx - 1
    low, high = float(ordered[lower_idx]), float(ordered[upper_idx])
    return Interval(
        mean=float(ordered.mean()),  # as sacrebleu's estimate_ci: numpy's mean of the sorted scores
        half_width=float(0.5 * (high - low)),
        low=low,
        high=high,
        stdev=float(ordered.std(ddof=1)) if n > 1 else 0.0,
        n_bootstrap=n,
        seed=seed,
    )


def score_stats(
    stats: MetricStats,
    tgt_lang: str | None = None,
    options: Mapping[str, Any] | None = None,
    ci: bool = False,
    n_bootstrap: int = BOOTSTRAP_SAMPLES,
    per_segment: bool = True,
    documents: Sequence[int] | None = None,
) -> MetricScore:
    corpus = stats.corpus
    interval = bootstrap(stats, n_bootstrap, documents=documents) if ci else None
    if interval is not None:  # the signature records the resampling, as sacrebleu's does
        stats.metric.n_bootstrap, stats.metric.seed = n_bootstrap, str(BOOTSTRAP_SEED)
    unit = "|unit:documents" if interval is not None and documents is not None else ""
    return MetricScore(
        metric=stats.metric_id,
        score=float(corpus.score),
        signature=stats.signature + unit,
        verbose=corpus.format(width=2, score_only=False, signature=""),
        segment_scores=segment_scores(stats, tgt_lang, options) if per_segment else [],
        stats=stats,
        interval=interval,
    )


def score_all(
    metric_ids: Sequence[str],
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    tgt_lang: str | None = None,
    options: Mapping[str, Any] | None = None,
    ci: bool = False,
    n_bootstrap: int = BOOTSTRAP_SAMPLES,
    per_segment: bool = True,
    workers: int | None = None,
    sources: Sequence[str] | None = None,
    context: ScoringContext | None = None,
    documents: Sequence[int] | None = None,
) -> dict[str, MetricScore]:
    """Every metric's statistics in one (parallel) extraction, then scores from them. Model
    metrics also read `sources` and cache segment scores as `context` says. With
    `documents` (segment -> document number) intervals resample whole documents."""
    jobs = [Job(m, hypotheses, references, sources) for m in metric_ids]
    all_stats = extract_many(jobs, tgt_lang, options, workers, context)
    return {
        s.metric_id: score_stats(s, tgt_lang, options, ci, n_bootstrap, per_segment, documents)
        for s in all_stats
    }
