"""The summary table `run` and `eval` print: one line per run with the headline scores and
their intervals, what the test set can detect, the change against the previous run of the
same system, sanity and terminology figures, then what was skipped and why."""

from __future__ import annotations

from evalharness.metrics.registry import get as get_metric
from evalharness.reports.sections import summary_metrics


def fmt_score(sc) -> str:
    if sc is None:
        return "–"
    if sc.interval is None:
        return f"{sc.score:.1f}"
    return f"{sc.score:.1f} ± {sc.interval.half_width:.1f}"


def change_vs_previous(report, heads: list[str]) -> str:
    """'+1.2*/-0.3' (* = significant), 'same output', or 'first run'."""
    d = report.drift
    if d is None:
        return "first run"
    if d.identical_output:
        return "same output"
    parts = []
    for m in heads:
        c = d.scores.get(m)
        parts.append("–" if c is None else f"{c.delta:+.1f}{'*' if c.significant else ''}")
    return "/".join(parts)


def summary_table(
    reports: list, skipped: list[tuple[str, str, str]], metrics_skipped: dict | None = None
) -> str:
    heads = summary_metrics(reports)
    names = [get_metric(m).display for m in heads]
    rows = [
        (
            "system",
            "pair",
            *names,
            f"detectable Δ {'/'.join(names)}",
            f"Δ vs previous {'/'.join(names)}",
            "copy",
            "wrong lang",
            "term acc",
            "term drift",
            "run",
        )
    ]
    for r in reports:
        pair = f"{r.testset.src_lang}-{r.testset.tgt_lang}"
        scores = [fmt_score(r.scores.get(m)) for m in heads]
        detectable = "/".join(
            f"{sc.detectable_difference:.1f}" if sc and sc.detectable_difference is not None else "–"
            for sc in (r.scores.get(m) for m in heads)
        )
        copy, wrong = f"{r.sanity['copy_rate']:.0%}", f"{r.sanity['wrong_language_rate']:.0%}"
        acc = (r.terminology or {}).get("term_accuracy")
        terms = "–" if acc is None else f"{acc:.0%}"
        drift = "–" if r.drift is None or r.drift.term_drift is None else str(r.drift.term_drift)
        rows.append(
            (
                r.backend.name,
                pair,
                *scores,
                detectable,
                change_vs_previous(r, heads),
                copy,
                wrong,
                terms,
                drift,
                r.run_id,
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    out = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    if any(r.drift for r in reports):
        out.append(
            "Δ vs previous: against the last run of the same system name, test set and pair; * p < 0.05"
        )
    if skipped:
        out += ["", "skipped:"] + [f"  {name} ({pair}): {why}" for name, pair, why in skipped]
    if metrics_skipped is None:
        metrics_skipped = {m: why for r in reports for m, why in r.skipped_metrics.items()}
    if metrics_skipped:
        out += ["", "metrics skipped (checkpoint not here):"]
        out += [f"  {m}: {why}" for m, why in metrics_skipped.items()]
    return "\n".join(out)
