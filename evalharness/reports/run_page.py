"""The page of one run (`runs/RUN_ID/report.{md,html}`, `evalharness runs show`): provenance,
scores with intervals and what the test set can resolve, change since the previous run of
the same system, sanity checks, terminology flags with the offending term highlighted, the
bucketed analyses, how model metrics scored (checkpoint, digest, cache), and every segment
in a sortable, filterable table with terms and xCOMET's error spans marked by severity."""

from __future__ import annotations

import re

from evalharness.metrics.significance import ALPHA
from evalharness.reports.diff import mark
from evalharness.reports.formats import ERROR_SEVERITIES as SEVERITIES
from evalharness.reports.schema import RunReport
from evalharness.reports.sections import (
    better_word,
    bucket_tables,
    display,
    improves,
    interval_chart,
    ordered_metrics,
    p_text,
    provenance_table,
    range_text,
    signatures_table,
    testset_facts,
)
from evalharness.reports.view import Cell, Fact, Notes, Page, Section, Table


def run_page(report: RunReport, path: str | None = None) -> Page:
    metrics = ordered_metrics(list(report.scores))
    sections: list[Section] = [
        scores_table(report, metrics),
        *documents_table(report),
        interval_chart([report], metrics, [report.backend.name]),
        drift_section(report),
        sanity_table(report),
        *terminology_sections(report),
        *bucket_tables([report], metrics, [report.backend.name]),
        model_metrics_section(report),
        *llm_output_sections(report),
        *units_table(report),
        segments_table(report, metrics),
        signatures_table(report),
        provenance_table(report, path),
    ]
    return Page(
        kind="run",
        title=f"Run {report.run_id}: {report.backend.name}",
        facts=[
            Fact(label="system", value=report.backend.name),
            *testset_facts(report),
            Fact(label="run", value=report.run_id),
            Fact(label="created", value=report.created),
        ],
        sections=sections,
    )


def _interval(sc) -> str:
    return "–" if sc.interval is None else f"[{sc.interval.low:.2f}, {sc.interval.high:.2f}]"


def scores_table(report: RunReport, metrics: list[str]) -> Table:
    fixture = any("untrained-fixture" in s.flags for s in report.segments)
    note = (
        "Detectable difference: about the smallest change between two systems this test set can "
        "resolve at 95% (from the bootstrap spread); a smaller change is noise."
    )
    if fixture:
        note = "Untrained fixture model: its output is noise; the scores only exercise the pipeline. " + note
    scales = [f"{display(m)}: {text}" for m in metrics if (text := range_text(m))]
    if scales:
        note += " Model metrics: " + "; ".join(scales) + "."
    both = any(report.scores[m].document_interval is not None for m in metrics)
    if both:
        note += (
            " Intervals over documents: whole documents drawn (segments of a document are not "
            "independent); wider than the segment interval where quality varies by document."
        )
    rows = []
    for m in metrics:
        sc = report.scores[m]
        doc = sc.document_interval
        rows.append(
            [
                Cell(text=f"{display(m)} ({better_word(m)})"),
                Cell.of(sc.score),
                Cell(text=_interval(sc)),
                Cell.of(sc.interval.half_width if sc.interval else None),
                *([Cell(text="–" if doc is None else f"[{doc.low:.2f}, {doc.high:.2f}]")] if both else []),
                Cell.of(sc.detectable_difference),
            ]
        )
    return Table(
        id="scores",
        title="Scores",
        columns=[
            "metric",
            "score",
            "95% interval",
            "±",
            *(["95% interval over documents"] if both else []),
            "detectable difference",
        ],
        rows=rows,
        note=note,
    )


def documents_table(report: RunReport) -> list[Section]:
    """Scores per document, and over documents (each one's segments joined and scored as one
    segment); absent for a set without documents."""
    d = report.document_scores
    if d is None:
        return []
    metrics = ordered_metrics(list(d.scores))
    rows = [[Cell(text="all documents"), Cell.of(sum(d.segments)), *(Cell.of(d.scores[m]) for m in metrics)]]
    rows += [
        [Cell(text=doc), Cell.of(n), *(Cell.of(d.per_document[m][k]) for m in metrics)]
        for k, (doc, n) in enumerate(zip(d.documents, d.segments, strict=True))
    ]
    return [
        Table(
            id="documents",
            title="Documents",
            columns=["document", "segments", *map(display, metrics)],
            rows=rows,
            sortable=True,
            note="Document-level scores: each document's segments joined and scored as one segment "
            "(the first row over all documents), so no segmentation of the output moves them.",
        )
    ]


def units_table(report: RunReport) -> list[Section]:
    """A backend given whole paragraphs or documents: what it returned for each, as it came,
    before the output was put back onto the segments."""
    u = report.units
    if u is None:
        return []
    placement = {s.id: s.placement for s in report.segments}
    rows = []
    for out in u.outputs:
        lowest = min((placement.get(i) or 0.0) for i in out.segments) if out.segments else None
        span = out.segments[0] if len(out.segments) == 1 else f"{out.segments[0]}–{out.segments[-1]}"
        rows.append([Cell(text=span), Cell.of(len(out.segments)), Cell.of(lowest), Cell(text=out.output)])
    return [
        Table(
            id="units",
            title=f"Output per {u.unit}",
            columns=["segments", "count", "lowest placement confidence", "output"],
            rows=rows,
            sortable=True,
            wide=[3],
            note=f"The backend translated whole {u.unit}s; each output was re-segmented onto the reference "
            f"segments by the aligner ({u.encoder}).",
        )
    ]


def drift_section(report: RunReport) -> Section:
    d = report.drift
    if d is None:
        return Notes(
            id="drift",
            title="Change since the previous run",
            lines=["No earlier run of this system (by name) on this test-set version and pair."],
        )
    rows = []
    for m in ordered_metrics(list(d.scores)):
        c = d.scores[m]
        if d.identical_output:
            verdict, tone = "identical output", "muted"
        elif c.p_bootstrap is None:
            verdict, tone = "same score", "muted"
        elif not c.significant:
            verdict, tone = "no measurable change", "muted"
        else:
            verdict, tone = ("better", "good") if improves(m, c.delta) else ("worse", "bad")
        rows.append(
            [
                Cell(text=display(m)),
                Cell.of(c.previous),
                Cell.of(c.current),
                Cell(text=f"{c.delta:+.2f}", sort=c.delta, tone=tone),
                Cell(text=p_text(c.p_bootstrap), sort=c.p_bootstrap),
                Cell(text=verdict, tone=tone),
            ]
        )
    parts = [
        f"against run {d.previous_run}",
        "identical output" if d.identical_output else f"{d.changed_segments} segments changed",
    ]
    if d.term_drift is not None:
        parts.append(f"{d.term_drift} terminology drift flags")
    return Table(
        id="drift",
        title="Change since the previous run",
        columns=["metric", "previous", "now", "Δ", "p (paired bootstrap)", "verdict"],
        rows=rows,
        note="; ".join(parts) + f". Significant at p < {ALPHA}; identical outputs and scores get no p-value.",
    )


def sanity_table(report: RunReport) -> Table:
    s = report.sanity
    ids = [seg.id for seg in report.segments]

    def listed(found: list[str]) -> str:
        if not found:
            return "none"
        return ", ".join(found[:12]) + (f" … ({len(found)})" if len(found) > 12 else "")

    def which(key: str) -> str:
        return listed([ids[i] for i in s.get(key, []) if i < len(ids)])

    def off_length() -> str:
        """Segments whose hypothesis is under half or over twice its reference's length."""
        found = []
        for seg in report.segments:
            ref = len(seg.references[0]) if seg.references else 0
            if ref and not 0.5 <= len(seg.hypothesis) / ref <= 2.0:
                found.append(seg.id)
        return listed(found)

    rows = [
        ("copied source", f"{s['copy_rate']:.0%}", "hypothesis equals the source", which("copied")),
        (
            "wrong language",
            f"{s['wrong_language_rate']:.0%} of {s['wrong_language_checked']}",
            f"not detected as {report.testset.tgt_lang} (long enough hypotheses only)",
            which("wrong_language"),
        ),
        (
            "length ratio",
            f"{s['length_ratio']:.2f}",
            "hypothesis / reference characters (segments: under ½ or over 2×)",
            off_length(),
        ),
        ("empty", f"{s['empty_rate']:.0%}", "empty hypotheses", which("empty")),
    ]
    return Table(
        id="sanity",
        title="Sanity checks",
        columns=["check", "value", "meaning", "segments"],
        rows=[[Cell(text=c) for c in row] for row in rows],
    )


def term_spans(text: str, terms: list[str], errors: list | None = None):
    """`text` with every occurrence of the found terms marked (case-insensitive), and a model's
    error spans over them (they say more)."""
    marks = []
    for term in terms:
        if term and term != "(none)":
            marks += [(*m.span(), "term") for m in re.finditer(re.escape(term), text, re.IGNORECASE)]
    marks += [(e.start, e.end, e.severity if e.severity in SEVERITIES else "major") for e in errors or []]
    return mark(text, marks)


def model_metrics_section(report: RunReport) -> Section:
    """Which checkpoint each model metric ran, where and how, and what the score cache held."""
    if not report.model_scoring and not report.skipped_metrics:
        return Notes(
            id="model-metrics",
            title="Model metrics",
            lines=["No model metric in this run (add e.g. --metrics bleu,chrf,comet)."],
        )
    rows = [
        [
            Cell(text=display(m)),
            Cell(text=r.checkpoint),
            Cell(text=r.digest[:12]),
            Cell(text=r.mode),
            Cell(text=f"{r.device}, {r.dtype}"),
            Cell(text=f"{r.scored} scored, {r.from_cache} from cache"),
            Cell.of(r.seconds, 1),
        ]
        for m, r in report.model_scoring.items()
    ]
    rows += [
        [Cell(text=display(m)), Cell(text=f"skipped: {why}"), *[Cell(text="–", tone="muted")] * 5]
        for m, why in report.skipped_metrics.items()
    ]
    return Table(
        id="model-metrics",
        title="Model metrics",
        columns=["metric", "checkpoint", "sha256", "mode", "ran on", "segments", "seconds"],
        rows=rows,
        wide=[1],
        note="mode ref: with the reference; qe: source and hypothesis only. COMET-family scores are "
        "x100 of unbabel-comet's 0-1 scale; MetricX is an error score from 0 to 25 (lower is better).",
    )


LLM_FLAGS = ("commentary", "refusal", "multiline", "truncated", "content-filter")


def llm_output_sections(report: RunReport) -> list[Section]:
    """For LLM backends: what the served model was asked (requests, retries, tokens, latency)
    and how often the translation had to be extracted from what it said. Nothing otherwise."""
    raw = sum(1 for seg in report.segments if seg.raw is not None)
    counts = {f: sum(f in seg.flags for seg in report.segments) for f in LLM_FLAGS}
    if report.service is None and not raw:
        return []
    lines = []
    if (u := report.service) is not None:
        p50 = "–" if u.latency_p50_s is None else f"{u.latency_p50_s:.3f}s"
        p99 = "–" if u.latency_p99_s is None else f"{u.latency_p99_s:.3f}s"
        lines += [
            f"{u.segments} segments translated by the service in {u.seconds:.1f}s; requests: {u.requests}, "
            f"retries: {u.retries}, malformed replies: {u.malformed_replies}",
            f"tokens: {u.tokens_in} in, {u.tokens_out} out; latency per segment: p50 {p50}, p99 {p99}",
        ]
    lines.append(
        f"{counts['commentary']} of {len(report.segments)} outputs said more than the translation "
        f"(flag commentary); {raw} differ from their hypothesis, and their whole output is kept "
        "(raw); flags: " + ", ".join(f"{f} {n}" for f, n in counts.items())
    )
    return [Notes(id="llm-output", title="LLM output", lines=lines)]


def terminology_sections(report: RunReport) -> list[Section]:
    t = report.terminology
    if not t:
        return [Notes(id="terminology", title="Terminology", lines=["No glossary given (--glossary)."])]

    def pct(x) -> str:
        return "–" if x is None else f"{x:.0%}"

    lines = [
        f"glossary: {t['glossary']}",
        f"term accuracy {pct(t.get('term_accuracy'))}, consistency {pct(t.get('consistency'))}, "
        f"{t['occurrences']} occurrences",
        "flags: " + (", ".join(f"{k} {n}" for k, n in t["counts"].items()) or "none"),
    ]
    if t.get("previous_run"):
        lines.append(f"drift against run {t['previous_run']}")
    if rate := t.get("success_rate"):
        lines.append(
            f"term success rate: {pct(rate['exact_or_inflected'])} exact or inflected, {pct(rate['exact'])} exact, "
            f"of {rate['required']} required terms ({rate['definition']})"
        )
    if control := t.get("control"):
        lines.append(
            f"random-glossary control ({control['note']}): term accuracy {pct(control['term_accuracy'])}"
        )
    lines += [f"matching: {line}" for line in t.get("matching", [])]
    hyps = {s.id: s.hypothesis for s in report.segments}
    rows = []
    for f in t["flags"]:
        hyp = hyps.get(f["segment_id"], "")
        rows.append(
            [
                Cell(text=f["segment_id"]),
                Cell(
                    text=f["kind"], tone="bad" if f["kind"] in ("wrong", "deprecated", "untranslated") else ""
                ),
                Cell(text=f["concept"]),
                Cell(text=f["found"] or "–"),
                Cell(text=", ".join(f["expected"]) or "–"),
                Cell.rich(term_spans(hyp, [f["found"]])),
            ]
        )
    return [
        Notes(id="terminology", title="Terminology", lines=lines),
        Table(
            id="term-flags",
            title="Terminology flags",
            columns=["segment", "kind", "concept", "found", "expected", "hypothesis"],
            rows=rows,
            sortable=len(rows) > 5,
            wide=[5],
        ),
    ]


def _error_count(spans) -> str:
    counts: dict[str, int] = {}
    for e in sorted(spans, key=lambda e: -SEVERITIES.index(e.severity) if e.severity in SEVERITIES else 1):
        counts[e.severity] = counts.get(e.severity, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in counts.items()) or "none"


def segments_table(report: RunReport, metrics: list[str]) -> Table:
    terms: dict[str, list[str]] = {}
    kinds: dict[str, list[str]] = {}
    for f in (report.terminology or {}).get("flags", []):
        kinds.setdefault(f["segment_id"], []).append(f["kind"])
        if f["kind"] != "drift":
            terms.setdefault(f["segment_id"], []).append(f["found"])
    with_raw = any(seg.raw is not None for seg in report.segments)
    with_docs = len({seg.doc for seg in report.segments}) > 1
    span_metrics = ordered_metrics(sorted({m for seg in report.segments for m in seg.error_spans}))
    span_metric = span_metrics[0] if span_metrics else None
    rows = []
    for seg in report.segments:
        flags = seg.flags + sorted(set(kinds.get(seg.id, [])))
        errors = seg.error_spans.get(span_metric, []) if span_metric else []
        rows.append(
            [
                Cell(text=seg.id),
                *([Cell(text=seg.doc or "")] if with_docs else []),
                Cell.of(seg.confidence if seg.placement is None else seg.placement),
                Cell(text=seg.source),
                Cell(text=seg.references[0] if seg.references else ""),
                Cell.rich(term_spans(seg.hypothesis, terms.get(seg.id, []), errors))
                if seg.id in terms or errors
                else Cell(text=seg.hypothesis),
                *(Cell.of(seg.scores.get(m), 1) for m in metrics),
                *([Cell(text=_error_count(errors))] if span_metric else []),
                Cell(text=", ".join(flags)),
                *([Cell(text=seg.raw or "")] if with_raw else []),
            ]
        )
    placed = any(seg.placement is not None for seg in report.segments)
    note = "Sentence-level scores; click a column to sort, type to filter. Terms the glossary flagged are marked."
    if placed:
        note += (
            " The output was translated as whole units and re-segmented: the confidence is the "
            "aligner's, that this piece of the output belongs to this segment."
        )
    if span_metric:
        note += (
            f" {display(span_metric)}'s error spans are marked in the hypothesis by severity "
            "(minor, major, critical; on a terminal ⟦span⟧severity)."
        )
    return Table(
        id="segments",
        title="Segments",
        columns=[
            "id",
            *(["document"] if with_docs else []),
            "placement confidence" if placed else "alignment confidence",
            "source",
            "reference",
            "hypothesis",
            *map(display, metrics),
            *([f"{display(span_metric)} errors"] if span_metric else []),
            "flags",
            *(["raw model output"] if with_raw else []),
        ],
        rows=rows,
        sortable=True,
        wide=[
            c + with_docs
            for c in [2, 3, 4] + ([5 + len(metrics) + bool(span_metric) + 1] if with_raw else [])
        ],
        note=note
        + (
            " Raw model output: the LLM's whole reply, where the translation was extracted from it."
            if with_raw
            else ""
        ),
    )
