"""Runs side by side: each metric with its interval, the difference to the first run (the
baseline) with paired bootstrap and approximate-randomisation p-values, the segments that
moved most, terminology flags that appeared or were resolved, and sanity-check changes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evalharness.errors import UserError
from evalharness.metrics.neural.metric import ScoringContext
from evalharness.metrics.registry import get, metric_ids, segment_metric, signature, signature_key
from evalharness.metrics.scoring import bootstrap, document_numbers
from evalharness.metrics.significance import ALPHA, AllPairs, compare_many, same_score
from evalharness.reports.analysis import Analysis, SegmentTags, WordFrequencies, analyse
from evalharness.reports.schema import RunReport, segment_scores
from evalharness.reports.statistics import LoadedRun, expected_metric, statistics_for


@dataclass
class MetricRow:
    metric: str
    run_id: str
    score: float
    half_width: float | None
    delta: float | None = None
    p_bootstrap: float | None = None
    p_randomization: float | None = None
    detectable: float | None = None
    identical: bool = False  # same output as the baseline: nothing to test

    @property
    def untested(self) -> bool:
        """Identical output or identical score: a p-value would only look like evidence."""
        return self.identical or (self.delta is not None and same_score(self.delta))

    @property
    def significant(self) -> bool | None:
        if self.untested:
            return False
        return None if self.p_bootstrap is None else self.p_bootstrap < ALPHA

    @property
    def verdict(self) -> str:
        if self.delta is None:
            return "baseline"
        if self.identical:
            return "identical output"
        if same_score(self.delta):
            return "same score"
        if not self.significant:
            return "no measurable difference"
        return "better" if get(self.metric).better(self.delta) else "worse"


@dataclass
class Comparison:
    baseline: str
    runs: list[LoadedRun]  # the baseline first
    metrics: list[MetricRow]
    key_metric: str  # the sentence-level metric used for moved segments and deltas
    # run id -> change of each segment's sentence score on key_metric (NaN: either run has none)
    deltas: dict[str, np.ndarray] = field(default_factory=dict)
    moved: dict[str, list[dict]] = field(default_factory=dict)  # run id -> segments that gained/lost most
    terminology: dict[str, dict] = field(default_factory=dict)  # run id -> {appeared, resolved}
    sanity: dict[str, dict] = field(default_factory=dict)  # run id -> {check: (baseline, run)}
    notes: list[str] = field(default_factory=list)  # e.g. statistics computed, not read
    all_pairs: dict[str, AllPairs] = field(default_factory=dict)  # metric -> N x N significance
    settings: dict = field(default_factory=dict)  # bootstrap resamples, AR trials, correction
    analysis: Analysis | None = None  # compare-mt's analyses (reports/analysis.py)

    @property
    def reports(self) -> list[RunReport]:
        return [r.report for r in self.runs]

    def identical(self, run_id: str) -> bool:
        return any(m.identical for m in self.metrics if m.run_id == run_id)


def same_signature(a: RunReport, b: RunReport, metric: str) -> bool:
    """Both runs scored `metric`, alike: equal signatures but for the resampling settings (for
    a model metric: the same checkpoint, mode and precision)."""
    if metric not in a.scores or metric not in b.scores:
        return False
    return signature_key(a.scores[metric].signature) == signature_key(b.scores[metric].signature)


def check_comparable(reports: list[RunReport]) -> None:
    base = reports[0]
    for r in reports[1:]:
        if (r.testset.name, r.testset.version) != (base.testset.name, base.testset.version):
            raise UserError(
                f"run {r.run_id} was scored on {r.testset.name}@{r.testset.version}, the baseline {base.run_id} on "
                f"{base.testset.name}@{base.testset.version}: scores on different segments are not comparable"
            )
        if (r.testset.src_lang, r.testset.tgt_lang) != (base.testset.src_lang, base.testset.tgt_lang):
            raise UserError(
                f"run {r.run_id} is {r.testset.src_lang}-{r.testset.tgt_lang}, the baseline is "
                f"{base.testset.src_lang}-{base.testset.tgt_lang}: different language pairs are not comparable"
            )
        if [s.id for s in r.segments] != [s.id for s in base.segments]:
            raise UserError(f"run {r.run_id} does not hold the same segments as the baseline {base.run_id}")
        for metric in set(base.scores) & set(r.scores):
            if not same_signature(base, r, metric):
                raise UserError(
                    f"{metric} signatures differ between {base.run_id} and {r.run_id} "
                    f"({base.scores[metric].signature} vs {r.scores[metric].signature}); rescore with the same settings"
                )


def _as_loaded(runs: list[LoadedRun | RunReport]) -> list[LoadedRun]:
    return [r if isinstance(r, LoadedRun) else LoadedRun(r) for r in runs]


def comparison_settings(n_bootstrap: int, n_ar: int, correction: str | None, resample: str) -> dict:
    """How a comparison drew its p-values, as its page and data record state them."""
    return {"bootstrap": n_bootstrap, "ar_trials": n_ar, "correction": correction, "resample": resample}


def compare_runs(
    runs: list[LoadedRun | RunReport],
    metrics: list[str] | None = None,
    n_bootstrap: int = 1000,
    n_ar: int = 10_000,
    top: int = 5,
    pairs: bool = False,
    correction: str = "holm",
    checkpoints: dict | None = None,
    context: ScoringContext | None = None,
    resample: str = "segments",
    frequencies: WordFrequencies | None = None,
    tags: SegmentTags | None = None,
    analysis: bool = True,
) -> Comparison:
    """Every run against the first; with `pairs`, also every run against every other. A model
    metric a run lacks is scored with the checkpoint in `checkpoints` (`comet_model`...) or
    the baseline's, through the score cache of `context`. `resample="documents"` draws and
    swaps whole documents in the paired bootstrap and approximate randomisation. With
    `analysis`, compare-mt's analyses too (word accuracy by frequency from `frequencies` or
    the references, characteristic n-grams, buckets by document, length, rarity,
    confidence and `tags`, each bucket scored from the segment statistics)."""
    loaded = _as_loaded(runs)
    if len(loaded) < 2:
        raise UserError("compare needs at least two runs (the first is the baseline)")
    reports = [r.report for r in loaded]
    check_comparable(reports)
    base = reports[0]
    if not base.segments:
        raise UserError(f"run {base.run_id} has no segments: nothing to compare")
    metrics = metrics or [m for m in base.scores if all(m in r.scores for r in reports)]
    if not metrics:
        raise UserError("the runs share no scored metric; name one with --metrics")
    options, keys = scoring_options(reports, metrics, checkpoints or {})
    all_stats, notes = statistics_for(loaded, metrics, options, context=context, keys=keys)
    # per segment, before any summing per document: buckets select segments
    found = analyse(reports, all_stats, frequencies, tags, n_bootstrap) if analysis else None
    if resample == "documents":
        numbers = document_numbers([s.doc for s in base.segments])
        if numbers is None or len(set(numbers)) < 2:
            raise UserError(
                f"run {base.run_id} has no segments in two or more documents: only segments can be resampled"
            )
        all_stats = {m: [s.by_documents(numbers) for s in systems] for m, systems in all_stats.items()}
    elif resample != "segments":
        raise UserError(f"unknown resampling unit {resample!r} (segments or documents)")
    results, matrices = compare_many(all_stats, n_bootstrap, n_ar, every_pair=pairs, correction=correction)
    rows: list[MetricRow] = []
    for metric in metrics:
        b = base.scores.get(metric)
        half_width = b.interval.half_width if b and b.interval else None
        if resample == "documents":  # the baseline drawn as the others are: by document
            half_width = bootstrap(all_stats[metric][0], n_bootstrap).half_width
        rows.append(
            MetricRow(
                metric,
                base.run_id,
                all_stats[metric][0].score,
                half_width,
                detectable=b.detectable_difference if b else None,
            )
        )
        for r, res in zip(reports[1:], results[metric], strict=True):
            same = _same_output(base, r)
            rows.append(
                MetricRow(
                    metric,
                    r.run_id,
                    res.system,
                    res.half_width,
                    res.delta,
                    res.p_bootstrap,
                    res.p_randomization,
                    r.scores[metric].detectable_difference if metric in r.scores else None,
                    identical=same,
                )
            )
    key_metric = segment_metric([m for m in metric_ids() if m in base.scores] or metrics)
    comp = Comparison(
        baseline=base.run_id,
        runs=loaded,
        metrics=rows,
        key_metric=key_metric,
        notes=notes,
        all_pairs=matrices,
        settings=comparison_settings(n_bootstrap, n_ar, correction if pairs else None, resample),
        analysis=found,
    )
    base_scores = segment_scores(base, key_metric)
    for r in reports[1:]:
        comp.deltas[r.run_id] = segment_scores(r, key_metric) - base_scores
        comp.moved[r.run_id] = _moved(base, r, comp.deltas[r.run_id], key_metric, top)
        comp.terminology[r.run_id] = _term_changes(base, r)
        comp.sanity[r.run_id] = {
            k: (base.sanity.get(k), r.sanity.get(k))
            for k in ("copy_rate", "wrong_language_rate", "length_ratio", "empty_rate")
            if base.sanity.get(k) != r.sanity.get(k)
        }
    return comp


def scoring_options(
    reports: list[RunReport], metrics: list[str], checkpoints: dict
) -> tuple[dict, dict[str, str]]:
    """The options a metric a run lacks is computed with: the baseline's, a model metric's
    checkpoint from a run scored with it; and the keys statistics are looked up by: a
    checkpoint named now (`--metrics comet=DIR`) wins over what the runs stored, and runs
    scored with another are scored again with it."""
    options = dict(reports[0].config.get("metric_options") or {})
    keys = {}
    for metric in metrics:
        spec = get(metric)
        if spec.model is None:
            continue
        option = spec.model.model_option
        if option in checkpoints:
            options[option] = checkpoints[option]
            keys[metric] = signature_key(signature(expected_metric(metric, reports[0], options)))
        elif option not in options:
            scored = next((r for r in reports if option in (r.config.get("metric_options") or {})), None)
            if scored is not None:
                options[option] = scored.config["metric_options"][option]
    return options, keys


def _same_output(a: RunReport, b: RunReport) -> bool:
    return [s.hypothesis for s in a.segments] == [s.hypothesis for s in b.segments]


def _moved(base: RunReport, run: RunReport, deltas: np.ndarray, metric: str, top: int) -> list[dict]:
    """The `top` segments that gained most and the `top` that lost most (`deltas`: run minus
    baseline per segment, NaN where either has no score)."""
    known = np.flatnonzero(~np.isnan(deltas))
    order = known[np.argsort(deltas[known], kind="stable")].tolist()
    losers = [i for i in order[:top] if deltas[i] < 0]
    gainers = [i for i in reversed(order[-top:]) if deltas[i] > 0]

    def entry(i: int) -> dict:
        a, b = base.segments[i], run.segments[i]
        return {
            "id": a.id,
            "delta": float(deltas[i]),
            "metric": metric,
            "source": a.source,
            "reference": a.references[0] if a.references else "",
            "baseline": a.hypothesis,
            "system": b.hypothesis,
        }

    return [entry(i) for i in gainers + losers]


def _flag_keys(report: RunReport) -> set[tuple]:
    flags = (report.terminology or {}).get("flags", [])
    return {(f["segment_id"], f["concept"], f["kind"], f["found"]) for f in flags if f["kind"] != "drift"}


def _term_changes(base: RunReport, run: RunReport) -> dict:
    a, b = _flag_keys(base), _flag_keys(run)

    def as_dicts(keys):
        return [dict(zip(("segment_id", "concept", "kind", "found"), k, strict=True)) for k in sorted(keys)]

    return {"appeared": as_dicts(b - a), "resolved": as_dicts(a - b)}
