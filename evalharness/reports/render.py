"""Human-readable report pages. Everything user-controlled is escaped: markdown pages are
often rendered as HTML."""

from __future__ import annotations

import html

from evalharness.reports.schema import RunReport


def md_escape(text: object) -> str:
    """Safe inside a markdown table cell and when the page is rendered as HTML."""
    out = html.escape(str(text), quote=True).replace("|", "\\|").replace("`", "\\`")
    return " ".join(out.split())


def score_cell(score) -> str:
    if score.interval is None:
        return f"{score.score:.2f}"
    return f"{score.score:.2f} (μ {score.interval.mean:.2f} ± {score.interval.half_width:.2f})"


def render_markdown(report: RunReport, max_segments: int = 50) -> str:
    ts, be = report.testset, report.backend
    fixture = any("untrained-fixture" in s.flags for s in report.segments)
    lines = [
        f"# Run {md_escape(report.run_id)}",
        "",
        f"- system: **{md_escape(be.name)}** (`{md_escape(be.spec)}`), fingerprint `{md_escape(be.fingerprint.get('digest', ''))}`",
        f"- test set: {md_escape(ts.name)} @ {md_escape(ts.version)}, {md_escape(ts.src_lang)} → {md_escape(ts.tgt_lang)}, {ts.segments} segments",
        f"- created: {md_escape(report.created)}; evalharness {md_escape(report.harness.get('version'))}"
        f" (commit {md_escape(report.harness.get('git_commit') or 'unknown')})",
    ]
    if fixture:
        lines.append(
            "- **untrained fixture model: its output is noise; the scores only exercise the pipeline**"
        )
    lines += [
        "",
        "## Scores",
        "",
        "| metric | score (95% bootstrap) | detectable difference | signature |",
        "|---|---|---|---|",
    ]
    for metric, sc in report.scores.items():
        mdd = f"±{sc.detectable_difference:.2f}" if sc.detectable_difference is not None else "–"
        lines.append(f"| {md_escape(metric)} | {score_cell(sc)} | {mdd} | `{md_escape(sc.signature)}` |")
    s = report.sanity
    lines += [
        "",
        "## Sanity checks",
        "",
        f"- copied source: {s['copy_rate']:.0%} of segments",
        f"- wrong language: {s['wrong_language_rate']:.0%} of {s['wrong_language_checked']} checkable hypotheses",
        f"- length ratio (hypothesis / reference characters): {s['length_ratio']:.2f}",
        f"- empty hypotheses: {s['empty_rate']:.0%}",
        "",
        *_terminology_lines(report),
        "## Segments",
        "",
        "| id | source | reference | hypothesis | "
        + " | ".join(md_escape(m) for m in report.scores)
        + " | flags |",
        "|---|---|---|---|" + "---|" * len(report.scores) + "---|",
    ]
    for seg in report.segments[:max_segments]:
        cells = [seg.id, seg.source, seg.references[0] if seg.references else "", seg.hypothesis]
        scores = [f"{seg.scores.get(m, float('nan')):.1f}" for m in report.scores]
        lines.append(
            "| "
            + " | ".join(md_escape(c) for c in cells)
            + " | "
            + " | ".join(scores)
            + f" | {md_escape(', '.join(seg.flags))} |"
        )
    if len(report.segments) > max_segments:
        lines.append(f"\n… {len(report.segments) - max_segments} more segments in report.json")
    return "\n".join(lines) + "\n"


def _pct(x) -> str:
    return "–" if x is None else f"{x:.0%}"


def _terminology_lines(report: RunReport) -> list[str]:
    t = report.terminology
    if not t:
        return []
    acc = "–" if t.get("term_accuracy") is None else f"{t['term_accuracy']:.0%}"
    cons = "–" if t.get("consistency") is None else f"{t['consistency']:.0%}"
    lines = [
        "## Terminology",
        "",
        f"- glossary: `{md_escape(t['glossary'])}`; term accuracy {acc}, consistency {cons}, {t['occurrences']} occurrences",
        f"- flags: {md_escape(', '.join(f'{k} {n}' for k, n in t['counts'].items()) or 'none')}"
        + (f" (drift against run {md_escape(t['previous_run'])})" if t.get("previous_run") else ""),
    ]
    if rate := t.get("success_rate"):
        lines.append(
            f"- term success rate: {_pct(rate['exact_or_inflected'])} exact or inflected, {_pct(rate['exact'])} exact, "
            f"of {rate['required']} required terms ({md_escape(rate['definition'])})"
        )
    if control := t.get("control"):
        lines.append(
            f"- random-glossary control ({md_escape(control['note'])}): term accuracy {_pct(control['term_accuracy'])}"
        )
    lines += [f"- matching: {md_escape(line)}" for line in t.get("matching", [])]
    lines.append("")
    if t["flags"]:
        lines += ["| segment | concept | kind | found | expected |", "|---|---|---|---|---|"]
        for f in t["flags"]:
            lines.append(
                f"| {md_escape(f['segment_id'])} | {md_escape(f['concept'])} | {md_escape(f['kind'])} | "
                f"{md_escape(f['found'])} | {md_escape(', '.join(f['expected']))} |"
            )
        lines.append("")
    return lines
