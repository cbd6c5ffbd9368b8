"""Per-segment sufficient statistics (sacrebleu's design): text is tokenised once, into one
array per metric and system; corpus scores, per-segment scores, bootstrap intervals, paired
tests and gates all start from that array, and a run stores it next to its report.

Large inputs are extracted in a process pool over chunks of segments (every core the
process may use; `EVALHARNESS_WORKERS=1` turns it off). A segment's statistics depend on
that segment alone, so the result is identical to serial extraction (tested).

Model metrics (COMET, MetricX) are scored in this process, through their score cache and a
model loaded once (`metrics/neural/metric.py`); their statistics are [score, 1] per segment
and they also read the sources."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from evalharness.errors import UserError
from evalharness.metrics.neural.base import Counters, Segment
from evalharness.metrics.neural.metric import ScoringContext
from evalharness.metrics.registry import get, signature, signature_key

# Below this many segments (summed over the jobs of one call) a pool costs more than it saves.
PARALLEL_MIN_SEGMENTS = 1500
_CHUNKS_PER_WORKER = 4


@dataclass
class MetricStats:
    """One metric's per-segment statistics for one system."""

    metric_id: str
    metric: Any  # the configured sacrebleu metric (or model metric)
    array: np.ndarray  # (segments, statistics): int64 counts, float64 for TER and model metrics
    spans: list[tuple] | None = None  # error spans per segment (model metrics that mark them)
    counters: Counters | None = None  # what a model metric's scoring pass did
    stored_key: str | None = None  # the key it was read back under (no signature recomputed)

    def by_documents(self, documents: Sequence[int]) -> MetricStats:
        """The statistics summed per document (`documents[i]` numbers segment i's document):
        resampling these rows draws whole documents, and swapping them (approximate
        randomisation) swaps whole documents, while the corpus score stays the same (the
        statistics add up). Segments of one document are not independent."""
        numbers = np.asarray(documents, dtype=np.int64)
        if numbers.shape != (len(self.array),):
            raise ValueError(f"{len(numbers)} document numbers for {len(self.array)} segments")
        summed = np.zeros((int(numbers.max()) + 1, self.array.shape[1]), dtype=self.array.dtype)
        np.add.at(summed, numbers, self.array)
        return MetricStats(self.metric_id, self.metric, summed, None, self.counters, self.stored_key)

    @cached_property
    def rows(self) -> list:
        """The statistics as sacrebleu's own rows (Python numbers, counts as ints)."""
        to_rows = get(self.metric_id).to_rows
        return to_rows(self.array) if to_rows is not None else self.array.tolist()

    @cached_property
    def corpus(self):
        """sacrebleu's corpus score object, from the same rows."""
        return self.metric._aggregate_and_compute(self.rows)

    @cached_property
    def score(self) -> float:
        """The corpus score: from the column sums with the registry's exact vectorised
        arithmetic (sacrebleu's own path for fractional statistics, whose sum order matters)."""
        spec = get(self.metric_id)
        if spec.float_statistics and not np.array_equal(self.array, np.round(self.array)):
            return float(self.corpus.score)
        sums = self.array.sum(axis=0).astype(np.float64)[None, :]
        return float(spec.scores(self.metric, sums)[0])

    @property
    def signature(self) -> str:
        return signature(self.metric)

    @property
    def key(self) -> str:
        """What stored statistics are filed under: the signature without resampling settings
        (for statistics read back, the key they were stored under: a model metric's signature
        would need its checkpoint to be computed again)."""
        return self.stored_key or signature_key(self.signature)

    def __len__(self) -> int:
        return len(self.array)


def as_array(metric_id: str, rows: Sequence[Sequence[float]], width: int) -> np.ndarray:
    dtype = np.float64 if get(metric_id).float_statistics else np.int64
    return np.asarray(rows, dtype=dtype).reshape(len(rows), width)


def _set_num_refs(metric, references: Sequence[Sequence[str]]) -> None:
    """What sacrebleu's `_cache_references` records for the signature (workers hold the rest)."""
    counts = {sum(r is not None for r in seg) for seg in zip(*references, strict=True)}
    metric.num_refs = counts.pop() if len(counts) == 1 else -1


@lru_cache(maxsize=16)
def _worker_metric(metric_id: str, tgt_lang: str | None, options: tuple):
    return get(metric_id).build(tgt_lang, dict(options))


def _extract_systems(metric, systems: list[list[str]], refs: list[list[str]]) -> list[list]:
    """Rows for several systems against the same references (counted once where the metric can)."""
    if hasattr(metric, "extract_systems") and refs:
        return metric.extract_systems(systems, refs)
    return [metric._extract_corpus_statistics(hyps, refs) for hyps in systems]


def _extract_chunk(
    metric_id: str, tgt_lang: str | None, options: tuple, systems: list[list[str]], refs: list[list[str]]
) -> list[list]:
    return _extract_systems(_worker_metric(metric_id, tgt_lang, options), systems, refs)


def workers_available() -> int:
    env = os.environ.get("EVALHARNESS_WORKERS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Job:
    """Extract one metric's statistics for one system."""

    metric_id: str
    hypotheses: Sequence[str]
    references: Sequence[Sequence[str]]  # reference streams, as in sacrebleu
    sources: Sequence[str] | None = None  # model metrics read them

    def segments(self) -> list[Segment]:
        if self.sources is None:
            raise UserError(f"{self.metric_id} reads the source segments, and none were given")
        if len(self.sources) != len(self.hypotheses):
            raise ValueError(f"{len(self.hypotheses)} hypotheses but {len(self.sources)} sources")
        refs = list(zip(*self.references, strict=True)) if self.references else [()] * len(self.hypotheses)
        return [
            Segment(src, hyp, tuple(r for r in ref if r is not None))
            for src, hyp, ref in zip(self.sources, self.hypotheses, refs, strict=True)
        ]


def _groups(jobs: Sequence[Job]) -> list[list[int]]:
    """Jobs of one metric against the very same references, extracted together."""
    out: dict[tuple[str, int], list[int]] = {}
    for n, job in enumerate(jobs):
        out.setdefault((job.metric_id, id(job.references)), []).append(n)
    return list(out.values())


def extract_many(
    jobs: Sequence[Job],
    tgt_lang: str | None = None,
    options: Mapping[str, Any] | None = None,
    workers: int | None = None,
    context: ScoringContext | None = None,
) -> list[MetricStats]:
    """Statistics for every job, in order. Jobs of a metric that share their references are
    extracted together (references counted once); large inputs go to a process pool. Model
    metrics are scored here, through the score cache of `context` (none: no cache)."""
    options = dict(options or {})
    models = [n for n, job in enumerate(jobs) if get(job.metric_id).model is not None]
    if models:
        out: list[MetricStats | None] = [None] * len(jobs)
        strings = [n for n in range(len(jobs)) if n not in models]
        for n, stats in zip(
            strings, extract_many([jobs[n] for n in strings], tgt_lang, options, workers), strict=True
        ):
            out[n] = stats
        for n in models:
            out[n] = _score_model(jobs[n], options, context or ScoringContext())
        return out  # type: ignore[return-value]
    metrics = []
    for job in jobs:
        metric = get(job.metric_id).build(tgt_lang, options)
        hyps, refs = list(job.hypotheses), [list(r) for r in job.references]
        if hyps:
            metric._check_corpus_score_args(hyps, refs)
        for stream in refs:
            if len(stream) != len(hyps):
                raise ValueError(f"{len(hyps)} hypotheses but a reference stream of {len(stream)}")
        metrics.append(metric)
    groups = _groups(jobs)
    total = sum(len(j.hypotheses) for j in jobs)
    workers = min(workers or workers_available(), max(1, total // 500))
    rows: list[list] = [[] for _ in jobs]
    if workers <= 1 or total < PARALLEL_MIN_SEGMENTS:
        for group in groups:
            first = jobs[group[0]]
            systems = [list(jobs[n].hypotheses) for n in group]
            refs = [list(r) for r in first.references]
            for n, got in zip(group, _extract_systems(metrics[group[0]], systems, refs), strict=True):
                rows[n] = got
    else:
        _extract_parallel(jobs, groups, tgt_lang, tuple(sorted(options.items())), workers, rows)
    out = []
    for metric, job, job_rows in zip(metrics, jobs, rows, strict=True):
        _set_num_refs(metric, job.references)
        width = len(job_rows[0]) if job_rows else 0
        out.append(MetricStats(job.metric_id, metric, as_array(job.metric_id, job_rows, width)))
    return out


def _extract_parallel(
    jobs: Sequence[Job],
    groups: list[list[int]],
    tgt_lang: str | None,
    options: tuple,
    workers: int,
    rows: list,
) -> None:
    total = sum(len(jobs[g[0]].hypotheses) * len(g) for g in groups)
    context = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending = []
        for group in groups:
            first = jobs[group[0]]
            n = len(first.hypotheses)
            pieces = max(1, round(workers * _CHUNKS_PER_WORKER * n * len(group) / max(total, 1)))
            size = max(100, -(-n // pieces))  # about the same work in every chunk
            systems = [list(jobs[k].hypotheses) for k in group]
            refs = [list(r) for r in first.references]
            chunks = [
                pool.submit(
                    _extract_chunk,
                    first.metric_id,
                    tgt_lang,
                    options,
                    [h[i : i + size] for h in systems],
                    [r[i : i + size] for r in refs],
                )
                for i in range(0, n, size)
            ]
            pending.append((group, chunks))
        for group, chunks in pending:
            parts = [f.result() for f in chunks]
            for k, n in enumerate(group):
                rows[n] = [row for part in parts for row in part[k]]


def _score_model(job: Job, options: Mapping[str, Any], context: ScoringContext) -> MetricStats:
    """A model metric reads one reference at a time: `num_refs` says how many every segment
    has (1 or more), that none has (0), or that only some have (-1)."""
    metric = get(job.metric_id).build(None, options)
    segments = job.segments()
    present = [len(s.references) for s in segments]
    if all(present):  # references per segment: several are scored one by one and averaged
        metric.num_refs = present[0] if len(set(present)) == 1 else 1
    else:
        metric.num_refs = 0 if not any(present) else -1
    result = metric.statistics(segments, context)
    return MetricStats(job.metric_id, metric, result.array, result.spans, result.counters)


def extract(
    metric_id: str,
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    tgt_lang: str | None = None,
    options: Mapping[str, Any] | None = None,
    workers: int | None = None,
) -> MetricStats:
    """`references` is a list of reference streams, as in sacrebleu (one list per reference)."""
    return extract_many([Job(metric_id, hypotheses, references)], tgt_lang, options, workers)[0]


def from_stored(
    metric_id: str,
    array: np.ndarray,
    tgt_lang: str | None,
    options: Mapping[str, Any] | None,
    num_refs: int,
    key: str | None = None,
) -> MetricStats:
    """Statistics read back from a run (filed under `key`): no text is tokenised, no model
    checkpoint looked at."""
    metric = get(metric_id).build(tgt_lang, options)
    metric.num_refs = num_refs
    width = array.shape[1] if array.ndim == 2 else 0
    return MetricStats(metric_id, metric, as_array(metric_id, array, width), stored_key=key)
