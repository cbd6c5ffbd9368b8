"""What changed since the previous run of the same system.

A system is known by its name (`--name`, or the `name` in eval.toml), not by its backend
string: the same system given as another hypothesis file, or with a new model path, is still
the same series of runs. Runs are comparable within one test-set version and language pair,
so a series is keyed by (system name, test set, version, pair)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from evalharness.metrics.neural.metric import ScoringContext
from evalharness.metrics.significance import ALPHA, compare_stats, same_score
from evalharness.metrics.stats import MetricStats
from evalharness.reports.schema import DriftRecord, RunReport, ScoreChange
from evalharness.reports.statistics import LoadedRun, statistics_for
from evalharness.reports.store import REPORT_FILE, latest_run

SeriesKey = tuple[str, str, str, str, str]


def series_key(report: RunReport) -> SeriesKey:
    ts = report.testset
    return (report.backend.name, ts.name, ts.version, ts.src_lang, ts.tgt_lang)


def previous_run(runs_root: Path, key: SeriesKey) -> LoadedRun | None:
    """The newest run in `runs_root` of the same series, with its stored statistics."""
    report = latest_run(runs_root, lambda r: series_key(r) == key)
    if report is None:
        return None
    return LoadedRun(report, runs_root / report.run_id / REPORT_FILE)


def score_changes(
    previous: LoadedRun,
    current: Mapping[str, MetricStats],
    options: Mapping | None = None,
    identical: bool = False,
    context: ScoringContext | None = None,
) -> dict[str, ScoreChange]:
    """Each metric of `current` against the previous run, with a paired bootstrap p-value
    (from stored statistics under the current signature; a metric the previous run lacks, or
    scored otherwise, e.g. with another checkpoint, is computed for it). Identical outputs
    and equal scores get no p-value: there is nothing to test, and a bootstrap p on a zero
    difference only looks like evidence (see `same_score`)."""
    metrics = [m for m in current if m in previous.report.scores]
    if not metrics:
        return {}
    keys = {m: current[m].key for m in metrics}
    before, _ = statistics_for([previous], metrics, options, context=context, keys=keys)
    out = {}
    for metric in metrics:
        b, c = before[metric][0], current[metric]
        if identical or same_score(c.score - b.score):
            out[metric] = ScoreChange(
                previous=b.score,
                current=c.score,
                delta=c.score - b.score,
                p_bootstrap=None,
                significant=False,
            )
            continue
        res = compare_stats(b, [c], n_ar=0)[0]
        out[metric] = ScoreChange(
            previous=b.score,
            current=c.score,
            delta=res.delta,
            p_bootstrap=res.p_bootstrap,
            significant=res.p_bootstrap < ALPHA,
        )
    return out


def drift_record(
    previous: LoadedRun,
    hypotheses: Sequence[str],
    current: Mapping[str, MetricStats],
    options: Mapping | None = None,
    term_drift: int | None = None,
    context: ScoringContext | None = None,
) -> DriftRecord:
    before = [s.hypothesis for s in previous.report.segments]
    changed = sum(a != b for a, b in zip(before, hypotheses, strict=False)) + abs(
        len(before) - len(hypotheses)
    )
    return DriftRecord(
        previous_run=previous.run_id,
        identical_output=changed == 0,
        changed_segments=changed,
        scores=score_changes(previous, current, options, identical=changed == 0, context=context),
        term_drift=term_drift,
    )
