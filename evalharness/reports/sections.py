"""Sections shared by the run, comparison and history pages: provenance, scores with their
intervals, the interval chart, and the bucketed analyses. Each builder turns report data
into typed view sections (`view.py`); formatting is the renderers' job."""

from __future__ import annotations

from collections.abc import Sequence

from evalharness.errors import UserError
from evalharness.metrics.registry import get, headline_metrics, metric_ids, model_metric_ids
from evalharness.reports import buckets
from evalharness.reports.schema import RunReport, segment_scores
from evalharness.reports.view import Cell, Chart, Fact, Series, Table


def p_text(p: float | None) -> str:
    """A p-value in a column headed p: '< 0.001' below what the draws can resolve, else 3 decimals."""
    return "–" if p is None else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def p_value(p: float | None) -> str:
    """A p-value in a sentence or beside a number: 'p < 0.001' or 'p = 0.042'."""
    text = p_text(p)
    return "p –" if p is None else f"p {text}" if text.startswith("<") else f"p = {text}"


def pair(report: RunReport) -> str:
    return f"{report.testset.src_lang} → {report.testset.tgt_lang}"


def testset_facts(report: RunReport) -> list[Fact]:
    """The test set, and how it was evaluated where that is not the default: several
    references, documents, a backend given paragraphs or documents, document resampling."""
    ts = report.testset
    documents = {s.doc for s in report.segments if s.doc}
    size = f"{ts.segments} segments" + (f" in {len(documents)} documents" if len(documents) > 1 else "")
    refs = len(report.segments[0].references) if report.segments else 1
    facts = [
        Fact(label="test set", value=f"{ts.name}@{ts.version}"),
        Fact(label="pair", value=f"{pair(report)} ({size})"),
    ]
    if refs > 1:
        facts.append(
            Fact(
                label="references",
                value=f"{refs} per segment (BLEU, chrF, TER score against all at once; model metrics against each, averaged)",
            )
        )
    if "unit" in report.config:
        unit = report.config["unit"]
        facts.append(
            Fact(
                label="translated as",
                value=f"whole {unit}s, re-segmented onto the reference segments by the aligner",
            )
        )
    intervals = {
        "documents": "bootstrap over documents (segments of a document are not independent)",
        "both": "bootstrap over segments, and over documents beside them",
    }.get(report.config.get("resample", ""))
    if intervals:
        facts.append(Fact(label="intervals", value=intervals))
    return facts


def ordered_metrics(names: Sequence[str]) -> list[str]:
    """Registry order (bleu, chrf, chrf++, ter, ...), unknown names last."""
    known = [m for m in metric_ids() if m in names]
    return known + [m for m in names if m not in known]


def summary_metrics(reports: Sequence[RunReport]) -> list[str]:
    """The metrics summaries show: the headline ones, and every model metric a report has
    (COMET, MetricX: what a user added them for)."""
    present = {m for r in reports for m in r.scores}
    return [*headline_metrics(), *(m for m in model_metric_ids() if m in present)]


def display(metric: str) -> str:
    try:
        return get(metric).display
    except UserError:  # a metric from a newer evalharness: show its id
        return metric


def range_text(metric: str) -> str:
    """What a model metric's numbers mean (its scale); empty for string metrics."""
    try:
        model = get(metric).model
    except UserError:
        return ""
    return model.range_text if model is not None else ""


def better_word(metric: str) -> str:
    try:
        return "higher is better" if get(metric).higher_is_better else "lower is better"
    except UserError:
        return ""


def improves(metric: str, delta):
    """Whether a change of `delta` points is for the better on this metric (the registry's
    direction; elementwise for an array of changes)."""
    try:
        return get(metric).better(delta)
    except UserError:  # a metric from a newer evalharness: assume higher is better
        return delta > 0


def labels(reports: Sequence[RunReport]) -> list[str]:
    """System names, made unique with the run id where two runs share one."""
    names = [r.backend.name for r in reports]
    return [
        n if names.count(n) == 1 else f"{n} [{r.run_id[-8:]}]" for n, r in zip(names, reports, strict=True)
    ]


def provenance_table(report: RunReport, path: str | None = None) -> Table:
    """Everything needed to reproduce or trust one run, as field/value rows."""
    be, tr = report.backend, report.translation
    det = report.determinism or {}
    rows = [
        ("run id", report.run_id),
        ("system", be.name),
        ("backend", be.spec),
        ("backend fingerprint", str(be.fingerprint.get("digest", "–"))),
        ("test set", f"{report.testset.name}@{report.testset.version}"),
        ("pair", f"{pair(report)}, {report.testset.segments} segments"),
        ("created", report.created),
        (
            "evalharness",
            f"{report.harness.get('version')} (commit {report.harness.get('git_commit') or 'unknown'})",
        ),
        (
            "translation",
            f"cache {tr.get('cache')}, {tr.get('from_cache')} from cache, {tr.get('translated')} translated, "
            f"{tr.get('seconds')} s",
        ),
        ("deterministic", {True: "yes", False: "no", None: "unknown"}[det.get("deterministic")]),
        ("command", " ".join(report.command)),
        ("libraries", ", ".join(f"{k} {v}" for k, v in sorted(report.libraries.items()))),
        ("platform", ", ".join(str(v) for v in report.platform.values())),
    ]
    if path:
        rows.insert(1, ("report", path))
    if report.replaces_baseline:
        rows.append(("replaces baseline", report.replaces_baseline))
    return Table(
        id="provenance",
        title="Provenance",
        columns=["field", "value"],
        rows=[[Cell(text=k), Cell(text=v)] for k, v in rows],
        wide=[1],
    )


def signatures_table(report: RunReport) -> Table:
    return Table(
        id="signatures",
        title="Metric signatures",
        columns=["metric", "signature"],
        rows=[
            [Cell(text=display(m)), Cell(text=report.scores[m].signature)]
            for m in ordered_metrics(list(report.scores))
        ],
        note="sacrebleu signatures: two scores are comparable only when their signatures match.",
    )


def interval_chart(reports: Sequence[RunReport], metrics: Sequence[str], names: Sequence[str]) -> Chart:
    """One panel per metric, one bar per system, with the 95% bootstrap interval."""
    series = []
    for report, name in zip(reports, names, strict=True):
        scores = [report.scores.get(m) for m in metrics]
        series.append(
            Series(
                label=name,
                values=[s.score if s else None for s in scores],
                low=[s.interval.low if s and s.interval else None for s in scores],
                high=[s.interval.high if s and s.interval else None for s in scores],
            )
        )
    return Chart(
        id="score-chart",
        title="Scores with 95% confidence intervals",
        chart="intervals",
        categories=[f"{display(m)} ({better_word(m)})" for m in metrics],
        series=series,
        note="Bars are corpus scores; whiskers are 95% bootstrap intervals (1000 resamples).",
    )


def bucket_tables(reports: Sequence[RunReport], metrics: Sequence[str], names: Sequence[str]) -> list[Table]:
    """The three compare-mt-style analyses; one column per (system, metric)."""
    base = reports[0]
    columns = [
        f"{name} {display(m)}" if len(reports) > 1 else f"mean sentence {display(m)}"
        for name in names
        for m in metrics
    ]
    scores = [segment_scores(r, m) for r in reports for m in metrics]  # one column per (run, metric)
    tables = []
    for bucketing, value_of in buckets.ANALYSES:
        rows = buckets.bucketize(bucketing, value_of(base.segments), scores)
        tables.append(
            Table(
                id=bucketing.id,
                title=bucketing.title,
                columns=["bucket", "segments", *columns],
                rows=[
                    [Cell(text=r.label), Cell.of(r.segments), *(Cell.of(v, 1) for v in r.means)] for r in rows
                ],
                note=bucketing.note,
            )
        )
    return tables
