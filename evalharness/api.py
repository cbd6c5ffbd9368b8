"""The Python API, for scripts and notebooks: score and compare hypotheses held in memory,
read runs back and run evaluations, with the command line's statistics (sacrebleu's
numbers, signatures, intervals and paired tests) and typed results (`reports/records.py`)
instead of text to parse.

Nothing is written by `score` and `compare`; `run` writes a run as `evalharness run` does.
Bad input raises `evalharness.errors.UserError` with the same one-line messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from evalharness.errors import UserError
from evalharness.reports.records import (
    ComparisonRecord,
    Interval,
    MovedSegment,
    Record,
    RunRecord,
    RunRef,
    build_comparison,
    pandas_module,
    run_record,
)

if TYPE_CHECKING:
    import pandas

    from evalharness.corpus.store import TestSet
    from evalharness.metrics.scoring import MetricScore
    from evalharness.reports.compare import MetricRow

References = Sequence[str] | Sequence[Sequence[str]]


class MetricResult(Record):
    metric: str
    score: float
    interval: Interval | None = None
    signature: str
    detectable_difference: float | None = None
    segment_scores: list[float]


class ScoreResult(Record):
    """Per metric: the corpus score, its interval (with `ci`), signature and sentence scores."""

    kind: Literal["scores"] = "scores"
    metrics: dict[str, MetricResult]

    def __getitem__(self, metric: str) -> MetricResult:
        return self.metrics[metric]

    def to_pandas(self, segments: bool = False) -> pandas.DataFrame:
        """One row per metric; with `segments`, one row per segment and a column per metric."""
        pd = pandas_module()
        if segments:
            return pd.DataFrame({m: r.segment_scores for m, r in self.metrics.items()})
        return pd.DataFrame(
            [
                {
                    "metric": m,
                    "score": r.score,
                    "low": r.interval.low if r.interval else None,
                    "high": r.interval.high if r.interval else None,
                    "half_width": r.interval.half_width if r.interval else None,
                    "signature": r.signature,
                }
                for m, r in self.metrics.items()
            ]
        )


def _texts(lines: Sequence[str], what: str) -> list[str]:
    if isinstance(lines, str) or not all(isinstance(t, str) for t in lines):
        raise UserError(f"{what}: give a list of strings, one per segment")
    return list(lines)


def _streams(refs: References | None, n: int) -> list[list[str]]:
    """sacrebleu's layout: a list of reference streams, each with one text per segment. A flat
    list of strings is one stream."""
    if refs is None:
        return []
    refs = list(refs)
    streams = [refs] if refs and all(isinstance(r, str) for r in refs) else refs
    out = [_texts(stream, "refs") for stream in streams]
    for k, stream in enumerate(out):
        if len(stream) != n:
            raise UserError(f"refs: reference stream {k + 1} has {len(stream)} segments, the hypotheses {n}")
    return out


def _metric_request(
    metrics: str | Sequence[str] | None, options: Mapping[str, Any] | None
) -> tuple[list[str], dict]:
    """`("bleu", "comet=DIR")` and options as a mapping -> (metric ids, checked options);
    None: the registry's headline metrics (BLEU and chrF)."""
    from evalharness.metrics.registry import (
        check_request,
        headline_metrics,
        parse_metric_list,
        with_checkpoints,
    )

    ids, checkpoints = parse_metric_list(headline_metrics() if metrics is None else metrics)
    opts = with_checkpoints(dict(options or {}), checkpoints)
    check_request(ids, opts)
    return ids, opts


def _score_all(ids, hyps, streams, tgt_lang, opts, sources, **kw) -> dict[str, MetricScore]:
    from evalharness.metrics.neural.metric import ScoringContext
    from evalharness.metrics.registry import model_metric_ids
    from evalharness.metrics.scoring import score_all

    if not streams and (needs := [m for m in ids if m not in model_metric_ids()]):
        raise UserError(f"{', '.join(needs)} compare with references: give refs")
    if sources is None and (needs := [m for m in ids if m in model_metric_ids()]):
        raise UserError(f"{', '.join(needs)} read the source segments: give sources")
    if sources is not None and len(_texts(sources, "sources")) != len(hyps):
        raise UserError(f"sources: {len(sources)} segments, the hypotheses {len(hyps)}")
    context = ScoringContext(None, label="scoring")  # in memory: no score cache on disk
    return score_all(ids, hyps, streams, tgt_lang, opts, sources=sources, context=context, **kw)


def score(
    hyps: Sequence[str],
    refs: References | None = None,
    metrics: str | Sequence[str] | None = None,
    tgt_lang: str | None = None,
    sources: Sequence[str] | None = None,
    ci: bool = False,
    n_bootstrap: int = 1000,
    options: Mapping[str, Any] | None = None,
) -> ScoreResult:
    """Score hypotheses against references, as `evalharness score` does: `refs` is one list
    of strings or several reference streams; `tgt_lang` picks BLEU's tokenizer (zh, ja, ko);
    `options` are sacrebleu's constructor options (`{"lowercase": True}`); `ci` adds 95%
    bootstrap intervals (n_bootstrap resamples, seed 12345, as sacrebleu draws them)."""
    hyps = _texts(hyps, "hyps")
    ids, opts = _metric_request(metrics, options)
    scores = _score_all(
        ids, hyps, _streams(refs, len(hyps)), tgt_lang, opts, sources, ci=ci, n_bootstrap=n_bootstrap
    )
    return ScoreResult(
        metrics={
            m: MetricResult(
                metric=m,
                score=s.score,
                interval=Interval.of(s.interval),
                signature=s.signature,
                detectable_difference=s.detectable_difference,
                segment_scores=s.segment_scores,
            )
            for m, s in scores.items()
        }
    )


def compare(
    systems: Mapping[str, Sequence[str]],
    refs: References,
    metrics: str | Sequence[str] | None = None,
    tgt_lang: str | None = None,
    sources: Sequence[str] | None = None,
    n_bootstrap: int = 1000,
    n_ar: int = 10_000,
    resample: Literal["segments", "documents"] = "segments",
    documents: Sequence[str] | None = None,
    all_pairs: bool | None = None,
    correction: Literal["holm", "bonferroni", "none"] = "holm",
    options: Mapping[str, Any] | None = None,
    top: int = 5,
) -> ComparisonRecord:
    """Systems (name -> hypotheses) against the first, as `evalharness compare` does, with
    nothing written: scores with 95% intervals, paired bootstrap and approximate-randomisation
    p-values (sacrebleu's draws), verdicts, and with `all_pairs` (default: three systems or
    more) every pair with corrected p-values and clusters. `documents` gives each segment's
    document id; `resample="documents"` then draws and swaps whole documents."""
    from evalharness.metrics.registry import metric_ids, segment_metric
    from evalharness.metrics.significance import CORRECTIONS, compare_many
    from evalharness.reports.compare import comparison_settings

    hyps = _systems(systems)
    names, n = list(hyps), len(hyps[next(iter(hyps))])
    if correction not in CORRECTIONS:
        raise UserError(f"unknown correction {correction!r} ({', '.join(CORRECTIONS)})")
    if n_bootstrap < 1 or n_ar < 0:
        raise UserError("n_bootstrap must be 1 or more and n_ar 0 or more")
    numbers = _document_numbers(resample, documents, n)
    ids, opts = _metric_request(metrics, options)
    streams = _streams(refs, n)
    # each system's scores, with intervals drawn as the paired tests draw (same seed and unit)
    scored = {
        name: _score_all(
            ids, h, streams, tgt_lang, opts, sources, ci=True, n_bootstrap=n_bootstrap, documents=numbers
        )
        for name, h in hyps.items()
    }
    stats = {m: [scored[name][m].stats for name in names] for m in ids}
    if numbers is not None:
        stats = {m: [s.by_documents(numbers) for s in systems] for m, systems in stats.items()}
    pairs = len(names) > 2 if all_pairs is None else all_pairs
    results, matrices = compare_many(stats, n_bootstrap, n_ar, every_pair=pairs, correction=correction)
    key = segment_metric([m for m in metric_ids() if m in ids] or ids)  # as compare_runs picks it
    return build_comparison(
        keys=names,
        runs=[RunRef(system=name) for name in names],
        rows=[row for m in ids for row in _metric_rows(m, hyps, scored, results[m])],
        all_pairs=matrices,
        intervals={(name, m): Interval.of(scored[name][m].interval) for name in names for m in ids},
        settings=comparison_settings(n_bootstrap, n_ar, correction if pairs else None, resample),
        key_metric=key,
        moved=[seg for name in names[1:] for seg in _moved(name, hyps, scored, key, streams, sources, top)],
    )


def _systems(systems: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    names = list(systems)
    if len(names) < 2 or not all(isinstance(name, str) and name for name in names):
        raise UserError("compare needs two or more systems, named by strings (the first is the baseline)")
    hyps = {name: _texts(systems[name], f"systems[{name!r}]") for name in names}
    n = len(hyps[names[0]])
    if lengths := {name: len(h) for name, h in hyps.items() if len(h) != n}:
        raise UserError(f"systems have different numbers of segments: {lengths}, the baseline {n}")
    return hyps


def _document_numbers(resample: str, documents: Sequence[str] | None, n: int) -> list[int] | None:
    """Segment -> document number when whole documents are drawn, else None."""
    from evalharness.metrics.scoring import document_numbers

    if resample == "segments":
        return None
    if resample != "documents":
        raise UserError(f"unknown resampling unit {resample!r} (segments or documents)")
    numbers = document_numbers(list(documents or []))
    if numbers is None or len(numbers) != n or len(set(numbers)) < 2:
        raise UserError("resample='documents' needs documents: one id per segment, two documents or more")
    return numbers


def _metric_rows(metric: str, hyps: dict[str, list[str]], scored: dict, results: list) -> list[MetricRow]:
    """compare_runs' rows for one metric: the baseline's, then each system's paired result."""
    from evalharness.reports.compare import MetricRow

    names = list(hyps)
    base = scored[names[0]][metric]
    rows = [
        MetricRow(
            metric, names[0], base.score, base.interval.half_width, detectable=base.detectable_difference
        )
    ]
    for name, res in zip(names[1:], results, strict=True):
        rows.append(
            MetricRow(
                metric,
                name,
                res.system,
                res.half_width,
                res.delta,
                res.p_bootstrap,
                res.p_randomization,
                detectable=scored[name][metric].detectable_difference,
                identical=hyps[name] == hyps[names[0]],
            )
        )
    return rows


def _moved(name, hyps, scored, metric, streams, sources, top) -> list[MovedSegment]:
    """The `top` segments of system `name` that gained most and the `top` that lost most
    against the baseline (the first system) on the sentence scores of `metric`."""
    baseline = next(iter(hyps))
    deltas = np.array(scored[name][metric].segment_scores) - np.array(scored[baseline][metric].segment_scores)
    known = np.flatnonzero(~np.isnan(deltas))
    order = known[np.argsort(deltas[known], kind="stable")].tolist()
    chosen = [i for i in reversed(order[-top:]) if deltas[i] > 0] + [i for i in order[:top] if deltas[i] < 0]
    return [
        MovedSegment(
            system=name,
            id=str(i + 1),  # the segment's 1-based position
            metric=metric,
            delta=float(deltas[i]),
            source=sources[i] if sources is not None else "",
            reference=streams[0][i] if streams else "",
            baseline=hyps[baseline][i],
            hypothesis=hyps[name][i],
        )
        for i in chosen
    ]


def load_run(run: str | Path, runs: str | Path = "runs") -> RunRecord:
    """A stored run by id (under `runs`), run folder or report file; `.report` is the whole
    RunReport."""
    from evalharness.reports.store import resolve_run

    return run_record(resolve_run(str(run), Path(runs)).report)


def run(
    testset: str | TestSet,
    backend: str,
    pair: str = "sv-hi",
    metrics: str | Sequence[str] | None = None,
    runs: str | Path = "runs",
    references: str | Path = "references",
    name: str | None = None,
    ci: bool = True,
    resample: Literal["segments", "documents", "both"] = "segments",
    unit: Literal["segment", "paragraph", "document"] = "segment",
    backend_options: Mapping[str, Any] | None = None,
    metric_options: Mapping[str, Any] | None = None,
    glossary: str | Path | None = None,
    terms: str | Path | None = None,
    use_cache: bool = True,
    cache: str | Path | None = None,
) -> RunRecord:
    """Translate a test set (a name or NAME@VERSION under `references`, or a loaded TestSet)
    with a backend spec, score it and store the run under `runs`, as `evalharness run` does;
    the run's record, with `.report`. The translation cache is `runs/.cache/translations.sqlite`
    unless `cache` names another."""
    from evalharness.corpus.language import parse_pair
    from evalharness.corpus.store import load_testset
    from evalharness.evaluate import RunRequest, run_evaluation
    from evalharness.metrics.registry import default_metrics

    ts = load_testset(Path(references), testset) if isinstance(testset, str) else testset
    src, tgt = parse_pair(pair)
    ids, options = _metric_request(metrics or default_metrics(), metric_options)
    request = RunRequest(
        testset=ts,
        backend_spec=backend,
        src=src,
        tgt=tgt,
        metrics=tuple(ids),
        metric_options=options,
        backend_options=dict(backend_options or {}),
        ci=ci,
        resample=resample,
        unit=unit,
        name=name,
        glossary=None if glossary is None else Path(glossary),
        annotations=None if terms is None else Path(terms),
        use_cache=use_cache,
    )
    if request.terms is not None:
        request.terms.validate()  # a broken glossary fails before any translation
    runs = Path(runs)
    argv = ["evalharness.run", f"testset={ts.name}@{ts.version}", f"backend={backend}", f"pair={pair}"]
    report, _ = run_evaluation(
        request, runs, Path(cache) if cache else runs / ".cache" / "translations.sqlite", argv=argv
    )
    return run_record(report)
