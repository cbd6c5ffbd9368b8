"""The comparison page (`evalharness compare`): which system is better on which metric and
whether the test set can tell, shown so a reader sees *what* changed.

Sections: scores with each run's difference to the baseline (named by metric) and paired
p-values; the interval chart; the all-pairs matrix with clusters when more than two runs are
compared; the distribution of per-segment differences; the segments that moved most with
word-level differences against the baseline and against the reference (full text, never cut);
terminology flags that appeared or were resolved; sanity changes; compare-mt's analyses
(`analysis.py`): word accuracy by frequency bucket, characteristic n-grams, corpus scores
and paired tests per bucket of segments (document, length, rare words, confidence, user
tags), the length difference and a segment-by-segment scatter; the runs' provenance."""

from __future__ import annotations

import numpy as np

from evalharness.metrics.significance import ALPHA, AllPairs
from evalharness.reports.analysis import SMALL_BUCKET, AttributeBuckets, BucketScore, NgramDiff
from evalharness.reports.compare import Comparison
from evalharness.reports.diff import inline_diff
from evalharness.reports.schema import segment_scores
from evalharness.reports.sections import (
    bucket_tables,
    display,
    improves,
    interval_chart,
    labels,
    ordered_metrics,
    p_text,
    p_value,
    signatures_table,
    testset_facts,
)
from evalharness.reports.view import Cell, Chart, Fact, Notes, Page, Section, Series, Table

CORRECTION_NAMES = {"holm": "Holm-Bonferroni", "bonferroni": "Bonferroni", "none": "no"}

# Per-segment score differences, in points: "same" is |Δ| < 1.
DELTA_EDGES = (-20.0, -10.0, -5.0, -1.0, 1.0, 5.0, 10.0, 20.0)
DELTA_LABELS = ("≤ -20", "-20…-10", "-10…-5", "-5…-1", "same (±1)", "1…5", "5…10", "10…20", "≥ 20")


def comparison_page(comp: Comparison, paths: list[str | None] | None = None) -> Page:
    reports = comp.reports
    names = labels(reports)
    base = reports[0]
    metrics = ordered_metrics(list(dict.fromkeys(m.metric for m in comp.metrics)))
    sections: list[Section] = [scores_table(comp, names), interval_chart(reports, metrics, names)]
    sections += [pairs_table(matrix, names) for matrix in comp.all_pairs.values()]
    for report, name in zip(reports[1:], names[1:], strict=True):
        if comp.identical(report.run_id):
            continue
        sections.append(delta_histogram(comp, report, name))
        sections.append(moved_table(comp, report.run_id, name))
    sections += [
        terminology_table(comp, names),
        sanity_table(comp, names),
        *(
            analysis_sections(comp, names)
            if comp.analysis
            else bucket_tables(reports, [comp.key_metric], names)
        ),
        runs_table(comp, names, paths),
        signatures_table(base),
        Notes(id="notes", title="How this was computed", lines=method_notes(comp)),
    ]
    return Page(
        kind="comparison",
        title=f"Comparison: {' vs '.join(names[1:])} against {names[0]}",
        facts=[
            *testset_facts(base),
            Fact(label="baseline", value=f"{names[0]} ({base.run_id})"),
            *(
                Fact(label=f"system {_letter(k)}", value=f"{n} ({r.run_id})")
                for k, (n, r) in enumerate(zip(names[1:], reports[1:], strict=True), start=1)
            ),
        ],
        sections=sections,
    )


def _tone(verdict: str) -> str:
    return {"better": "good", "worse": "bad", "baseline": ""}.get(verdict, "muted")


def scores_table(comp: Comparison, names: list[str]) -> Table:
    name_of = {r.run_id: n for r, n in zip(comp.reports, names, strict=True)}
    order = ordered_metrics(list(dict.fromkeys(m.metric for m in comp.metrics)))
    rows = []
    for row in sorted(comp.metrics, key=lambda m: order.index(m.metric)):
        verdict = row.verdict
        ci = f"± {row.half_width:.2f}" if row.half_width is not None else "–"
        delta = "–" if row.delta is None else f"{row.delta:+.2f} {display(row.metric)}"
        untested = row.untested
        rows.append(
            [
                Cell(text=display(row.metric)),
                Cell(text=name_of[row.run_id]),
                Cell.of(row.score),
                Cell(text=ci),
                Cell(text=delta, sort=row.delta, tone=_tone(verdict)),
                Cell(text="–" if untested else p_text(row.p_bootstrap), sort=row.p_bootstrap),
                Cell(text="–" if untested else p_text(row.p_randomization), sort=row.p_randomization),
                Cell.of(row.detectable),
                Cell(text=verdict, tone=_tone(verdict)),
            ]
        )
    return Table(
        id="scores",
        title="Scores against the baseline",
        columns=[
            "metric",
            "system",
            "score",
            "95% interval",
            "Δ vs baseline (same metric)",
            "p (paired bootstrap)",
            "p (approx. randomisation)",
            "detectable difference",
            "verdict",
        ],
        rows=rows,
        note=(
            f"Δ is this system's score minus the baseline's on the same metric; 'better'/'worse' need p < {ALPHA} "
            "(paired bootstrap). Detectable difference: about the smallest change this test set can resolve. "
            "Identical outputs and identical scores are reported as such, without a p-value."
        ),
    )


def pairs_caption(matrix: AllPairs) -> str:
    return (
        f"all pairs, {matrix.metric}: row minus column, {matrix.test} p-value with "
        f"{CORRECTION_NAMES[matrix.correction]} correction over {len(matrix.cells)} pairs; "
        f"* = significant at {ALPHA}"
    )


def _letter(i: int) -> str:
    return chr(65 + i) if i < 26 else str(i)


def pairs_table(matrix: AllPairs, names: list[str]) -> Table:
    """The N x N matrix (row minus column, adjusted p) and the clusters, best first."""
    cell = {(c.a, c.b): c for c in matrix.cells}
    rows = []
    for i, name in enumerate(names):
        row = [Cell(text=_letter(i)), Cell(text=name), Cell.of(matrix.scores[i])]
        for j in range(len(names)):
            c = cell.get((min(i, j), max(i, j)))
            if c is None:
                row.append(Cell(text="–", tone="muted"))
                continue
            delta = c.delta if i > j else -c.delta  # c.delta is score[b] - score[a], a < b
            tone = "" if not c.significant else ("good" if improves(matrix.metric, delta) else "bad")
            row.append(
                Cell(
                    text=f"{delta:+.2f} {p_value(c.p_adjusted)}{'*' if c.significant else ''}",
                    sort=delta,
                    tone=tone,
                )
            )
        rows.append(row)
    groups = " > ".join("{" + ", ".join(_letter(i) for i in group) + "}" for group in matrix.clusters)
    return Table(
        id=f"pairs-{matrix.metric}",
        title=f"All pairs: {display(matrix.metric)}",
        columns=["", "system", display(matrix.metric), *(_letter(i) for i in range(len(names)))],
        rows=rows,
        note=pairs_caption(matrix)
        + f". Clusters, best first (every system left of '>' is significantly different from every system right of it): {groups}",
    )


def delta_histogram(comp: Comparison, report, name: str) -> Chart:
    deltas = comp.deltas[report.run_id]
    deltas = deltas[~np.isnan(deltas)]  # segments both runs have a score for
    # bin k holds DELTA_EDGES[k-1] <= d < DELTA_EDGES[k]
    counts = np.bincount(np.searchsorted(DELTA_EDGES, deltas, side="right"), minlength=len(DELTA_LABELS))
    moved = deltas[np.abs(deltas) >= 1]
    better = int(np.sum(improves(comp.key_metric, moved)))
    worse = len(moved) - better
    return Chart(
        id=f"deltas-{report.run_id}",
        title=f"Per-segment change in sentence {display(comp.key_metric)}: {name}",
        chart="histogram",
        categories=list(DELTA_LABELS),
        series=[Series(label=name, values=[float(c) for c in counts.tolist()])],
        note=f"{len(deltas)} segments: {better} better, {worse} worse, {len(deltas) - better - worse} within ±1 point.",
    )


def moved_table(comp: Comparison, run_id: str, name: str) -> Table:
    rows = []
    for d in comp.moved.get(run_id, []):
        rows.append(
            [
                Cell(text=d["id"]),
                Cell(
                    text=f"{d['delta']:+.1f}",
                    sort=d["delta"],
                    tone="good" if improves(d["metric"], d["delta"]) else "bad",
                ),
                Cell(text=d["source"]),
                Cell(text=d["reference"]),
                Cell.rich(inline_diff(d["baseline"], d["system"])),
                Cell.rich(inline_diff(d["reference"], d["system"])),
            ]
        )
    return Table(
        id=f"moved-{run_id}",
        title=f"Segments that moved most: {name}",
        columns=[
            "id",
            f"Δ sentence {display(comp.key_metric)}",
            "source",
            "reference",
            "baseline → system",
            "system vs reference",
        ],
        rows=rows,
        wide=[2, 3, 4, 5],
        note=(
            "Word-level differences: struck-through words were in the baseline (or the reference) and are not in "
            "this system's output; marked words are new in it. Full text, nothing cut."
        ),
    )


def terminology_table(comp: Comparison, names: list[str]) -> Table:
    rows = []
    for report, name in zip(comp.reports[1:], names[1:], strict=True):
        changes = comp.terminology.get(report.run_id, {})
        for change, tone in (("appeared", "bad"), ("resolved", "good")):
            for f in changes.get(change, []):
                rows.append(
                    [
                        Cell(text=name),
                        Cell(text=change, tone=tone),
                        Cell(text=f["segment_id"]),
                        Cell(text=f["kind"]),
                        Cell(text=f["concept"]),
                        Cell(text=f["found"] or "–"),
                    ]
                )
    with_terms = [r for r in comp.reports if r.terminology]
    note = (
        "Flags present in a system's run and not in the baseline's (appeared), or the other way round (resolved)."
        if with_terms
        else "No run was checked against a glossary (--glossary)."
    )
    return Table(
        id="terminology",
        title="Terminology flags that appeared or were resolved",
        columns=["system", "change", "segment", "kind", "concept", "found"],
        rows=rows,
        note=note,
        sortable=len(rows) > 10,
    )


SANITY_NAMES = {
    "copy_rate": ("copied source", "{:.0%}"),
    "wrong_language_rate": ("wrong language", "{:.0%}"),
    "length_ratio": ("length ratio", "{:.2f}"),
    "empty_rate": ("empty hypotheses", "{:.0%}"),
}


def sanity_table(comp: Comparison, names: list[str]) -> Table:
    rows = []
    for report, name in zip(comp.reports[1:], names[1:], strict=True):
        for check, (a, b) in comp.sanity.get(report.run_id, {}).items():
            label, fmt = SANITY_NAMES.get(check, (check, "{}"))
            rows.append(
                [Cell(text=name), Cell(text=label), Cell(text=fmt.format(a)), Cell(text=fmt.format(b))]
            )
    return Table(
        id="sanity",
        title="Sanity checks that changed",
        columns=["system", "check", "baseline", "system's"],
        rows=rows,
    )


# ---------------------------------------------------------------- compare-mt's analyses


def analysis_sections(comp: Comparison, names: list[str]) -> list[Section]:
    a = comp.analysis
    assert a is not None
    changed = [
        (r, n) for r, n in zip(comp.reports[1:], names[1:], strict=True) if not comp.identical(r.run_id)
    ]
    sections: list[Section] = [word_accuracy_table(comp, names), word_accuracy_chart(comp, names)]
    diffs = {d.run_id: d for d in a.ngrams}
    sections += [ngram_table(diffs[r.run_id], names[0], n) for r, n in changed]
    sections += [attribute_table(b, names) for b in a.buckets]
    sections.append(length_chart(comp, names))
    sections += [scatter_chart(comp, r, names[0], n) for r, n in changed]
    return sections


def word_accuracy_table(comp: Comparison, names: list[str]) -> Table:
    wa = comp.analysis.word_accuracy
    rows = []
    for k, label in enumerate(wa.labels):
        per_run = [run[k] for run in wa.runs]
        if not any(m.reference or m.output for m in per_run):
            continue
        cells = [
            Cell(text=f"{m.f_measure:.3f} ({m.precision:.2f} / {m.recall:.2f})", sort=m.f_measure)
            if m.reference or m.output
            else Cell.of(None)
            for m in per_run
        ]
        rows.append([Cell(text=label), Cell.of(per_run[0].reference), *cells])
    return Table(
        id="word-accuracy",
        title="Word accuracy by frequency bucket",
        columns=["word frequency", "reference words", *(f"{n}: F (precision / recall)" for n in names)],
        rows=rows,
        note=(
            f"compare-mt's word accuracy: a word of the output matches one of the (first) reference at most as often "
            f"as the reference has it; words bucketed by their frequency in {wa.source}. "
            "Words are case-folded whitespace tokens without surrounding punctuation."
        ),
    )


def word_accuracy_chart(comp: Comparison, names: list[str]) -> Chart:
    wa = comp.analysis.word_accuracy
    keep = [k for k in range(len(wa.labels)) if any(run[k].reference or run[k].output for run in wa.runs)]
    return Chart(
        id="word-accuracy-chart",
        title="Word F-measure by frequency bucket",
        chart="histogram",
        categories=[wa.labels[k] for k in keep],
        series=[
            Series(label=n, values=[run[k].f_measure for k in keep])
            for n, run in zip(names, wa.runs, strict=True)
        ],
        note=f"Frequencies from {wa.source}; F-measure from 0 to 1.",
    )


def ngram_table(diff: NgramDiff, base: str, name: str) -> Table:
    def row(c, favours: str, tone: str) -> list[Cell]:
        return [
            Cell(text=c.ngram),
            Cell.of(len(c.ngram.split())),
            Cell.of(c.system),
            Cell.of(c.baseline),
            Cell.of(c.score, 3),
            Cell(text=favours, tone=tone),
        ]

    rows = [row(c, name, "good") for c in diff.system_better] + [
        row(c, base, "bad") for c in diff.baseline_better
    ]
    return Table(
        id=f"ngrams-{diff.run_id}",
        title=f"Characteristic n-grams: {name} against {base}",
        columns=[
            "n-gram",
            "n",
            f"matched by {name}",
            f"matched by {base}",
            f"share for {name}",
            "matched more by",
        ],
        rows=rows,
        wide=[0],
        note=(
            "compare-mt's n-gram difference analysis: the 1- to 4-grams one system matches in the reference (clipped "
            f"per segment) more often than the other, ranked by the smoothed share (m + 1) / (m + m' + 2) of {name}'s "
            "matches, then by how often."
        ),
    )


def _bucket_delta(metric: str, s: BucketScore) -> Cell:
    if s.delta is None:
        return Cell.of(None)
    if s.p_bootstrap is None:
        return Cell(text=f"{s.delta:+.2f} (not tested: same)", sort=s.delta, tone="muted")
    significant = s.p_bootstrap < ALPHA
    tone = "" if not significant else ("good" if improves(metric, s.delta) else "bad")
    return Cell(
        text=f"{s.delta:+.2f}{'*' if significant else ''} ({p_value(s.p_bootstrap)})",
        sort=s.delta,
        tone=tone,
    )


def attribute_table(b: AttributeBuckets, names: list[str]) -> Table:
    metrics = ordered_metrics(list(b.buckets[0].scores)) if b.buckets else []
    rows = []
    for bucket in b.buckets:
        size = Cell(
            text=f"{bucket.segments} (small)" if bucket.small else str(bucket.segments),
            sort=float(bucket.segments),
            tone="muted" if bucket.small else "",
        )
        for metric in metrics:
            scores = bucket.scores[metric]
            rows.append(
                [
                    Cell(text=bucket.label),
                    size,
                    Cell(text=display(metric)),
                    *(Cell(text=f"{s.score:.2f} ± {(s.high - s.low) / 2:.2f}", sort=s.score) for s in scores),
                    *(_bucket_delta(metric, s) for s in scores[1:]),
                ]
            )
    return Table(
        id=b.id,
        title=b.title,
        columns=[
            "bucket",
            "segments",
            "metric",
            *(f"{n} (95% interval)" for n in names),
            *(f"Δ {n} vs {names[0]}" for n in names[1:]),
        ],
        rows=rows,
        sortable=len(rows) > 20,
        note=(
            f"{b.note} Each bucket's segments scored as a corpus from their stored statistics (not a mean of sentence "
            "scores), with a 95% bootstrap interval and a paired bootstrap p-value against the baseline over the "
            f"bucket's segments (* p < {ALPHA}). 'small': under {SMALL_BUCKET} segments, the interval is not to be relied on."
        ),
    )


def length_chart(comp: Comparison, names: list[str]) -> Chart:
    ld = comp.analysis.length
    means = ", ".join(f"{n} {m:+.2f}" for n, m in zip(names, ld.mean, strict=True) if m is not None)
    return Chart(
        id="length-difference",
        title="Length difference: hypothesis minus reference, in words",
        chart="histogram",
        categories=ld.labels,
        series=[
            Series(label=n, values=[float(c) for c in counts])
            for n, counts in zip(names, ld.counts, strict=True)
        ],
        note=f"Segments per bin; the mean difference per segment: {means} words (against the first reference).",
    )


def scatter_chart(comp: Comparison, report, base: str, name: str) -> Chart:
    metric = comp.key_metric
    xs = segment_scores(comp.reports[0], metric)
    ys = segment_scores(report, metric)

    def values(a: np.ndarray) -> list[float | None]:
        return [None if np.isnan(v) else float(v) for v in a]

    return Chart(
        id=f"scatter-{report.run_id}",
        title=f"Sentence {display(metric)}: {name} against {base}",
        chart="scatter",
        categories=[],
        series=[Series(label=name, values=values(ys), x=values(xs), points=[s.id for s in report.segments])],
        x_title=f"{base} sentence {display(metric)}",
        y_title=f"{name} sentence {display(metric)}",
        note=f"One point per segment; above the diagonal, {name} scores the segment higher than {base}.",
    )


def runs_table(comp: Comparison, names: list[str], paths: list[str | None] | None) -> Table:
    paths = paths or [None] * len(comp.runs)
    rows = []
    for k, (report, name, path) in enumerate(zip(comp.reports, names, paths, strict=True)):
        rows.append(
            [
                Cell(text="baseline" if k == 0 else _letter(k)),
                Cell(text=name),
                Cell(text=report.run_id),
                Cell(text=report.backend.spec),
                Cell(text=str(report.backend.fingerprint.get("digest", "–"))),
                Cell(text=report.created),
                Cell(text=path or "–"),
            ]
        )
    return Table(
        id="runs",
        title="Runs",
        columns=["", "system", "run id", "backend", "fingerprint", "created", "report"],
        rows=rows,
        wide=[3, 6],
    )


def method_notes(comp: Comparison) -> list[str]:
    s = comp.settings
    unit = "whole documents" if s.get("resample") == "documents" else "segments"
    lines = [
        f"paired bootstrap: {s.get('bootstrap')} resamples of {unit}, the same draws for every metric and system",
        f"approximate randomisation: {s.get('ar_trials')} trials, swapping {unit}"
        if s.get("ar_trials")
        else "approximate randomisation: skipped",
        f"segments that moved: ranked by sentence {display(comp.key_metric)}",
    ]
    if s.get("correction"):
        lines.append(f"all pairs: {CORRECTION_NAMES[s['correction']]} correction for the number of pairs")
    if comp.analysis is not None:
        lines.append(
            f"buckets: each bucket's corpus score from its segments' statistics; paired bootstrap ({s.get('bootstrap')} "
            "resamples) over the bucket's segments, whatever the resampling unit above"
        )
    for report in comp.reports[1:]:
        if comp.identical(report.run_id):
            lines.append(f"{report.run_id}: output identical to the baseline's; nothing changed")
    return lines + list(comp.notes)
