"""Each gate rule as a decision with a sentence: metric, baseline, current, difference,
interval, p-value, and what the test set can resolve."""

from __future__ import annotations

from dataclasses import dataclass

from evalharness.errors import UserError
from evalharness.metrics.registry import get
from evalharness.metrics.significance import ALPHA, compare_stats, same_score
from evalharness.reports.compare import check_comparable
from evalharness.reports.schema import RunReport
from evalharness.reports.sections import p_value
from evalharness.reports.statistics import LoadedRun, statistics_for
from evalharness.terminal import one_line_safe


@dataclass(frozen=True)
class Decision:
    rule: str
    passed: bool
    message: str


def metric_drop(
    base_run: LoadedRun, current_run: LoadedRun, metric: str, max_drop: float, n_ar: int = 0
) -> Decision:
    """Fails only for a significant (p < 0.05) change in the worse direction larger than allowed."""
    baseline, current = base_run.report, current_run.report
    check_comparable([baseline, current])
    get(metric)  # a one-line error for an unknown metric name
    if [s.hypothesis for s in baseline.segments] == [s.hypothesis for s in current.segments]:
        score = baseline.scores[metric].score if metric in baseline.scores else None
        at = f" at {score:.2f}" if score is not None else ""
        return Decision(
            f"max_drop[{metric}]", True, f"{metric}: output identical to the baseline: unchanged{at}"
        )
    # stored with the runs when they have them; a baseline without them is scored as the current run was
    options = current.config.get("metric_options") or {}
    stats, _ = statistics_for([base_run, current_run], [metric], options)
    b, c = stats[metric]
    res = compare_stats(b, [c], n_ar=n_ar)[0]
    drop = res.delta if not get(metric).higher_is_better else -res.delta
    spreads = [r.scores[metric].detectable_difference for r in (baseline, current) if metric in r.scores]
    spreads = [d for d in spreads if d is not None]
    detectable = max(spreads) if spreads else None
    resolve = (
        f"; this test set can detect differences of about {detectable:.1f} points"
        if detectable is not None
        else ""
    )
    head = (
        f"{metric}: baseline {res.baseline:.2f}, current {res.system:.2f} (± {res.half_width:.2f}), "
        f"{res.delta:+.2f}, {p_value(res.p_bootstrap)}"
    )
    if same_score(res.delta):
        changed = sum(
            a.hypothesis != b.hypothesis for a, b in zip(baseline.segments, current.segments, strict=True)
        )
        return Decision(
            f"max_drop[{metric}]",
            True,
            f"{metric}: baseline and current both {res.baseline:.2f}: the same score ({changed} segments differ)",
        )
    if drop <= 0:
        return Decision(f"max_drop[{metric}]", True, f"{head}: no drop")
    if res.p_bootstrap >= ALPHA:
        return Decision(f"max_drop[{metric}]", True, f"{head}: not significant{resolve}")
    if drop <= max_drop:
        return Decision(
            f"max_drop[{metric}]", True, f"{head}: significant but within the allowed {max_drop:.2f}"
        )
    return Decision(
        f"max_drop[{metric}]",
        False,
        f"{head}: a significant drop of {drop:.2f} > allowed {max_drop:.2f}{resolve}",
    )


def new_flags(baseline: RunReport, current: RunReport, kinds: list[str]) -> Decision:
    def keys(r: RunReport) -> set:
        flags = (r.terminology or {}).get("flags", [])
        return {(f["segment_id"], f["concept"], f["kind"], f["found"]) for f in flags if f["kind"] in kinds}

    if current.terminology is None:
        return Decision(
            "no_new_flags", False, "no terminology section in the current run (set `glossary` for this gate)"
        )
    appeared = sorted(keys(current) - keys(baseline))
    if not appeared:
        return Decision("no_new_flags", True, f"no new {'/'.join(kinds)} terminology flags")
    shown = "; ".join(f"{s} {k} {c}: {f!r}" for s, c, k, f in appeared[:5])
    return Decision("no_new_flags", False, f"{len(appeared)} new {'/'.join(kinds)} flag(s): {shown}")


def max_copy_rate(current: RunReport, limit: float) -> Decision:
    rate = current.sanity["copy_rate"]
    ok = rate <= limit
    return Decision("max_copy_rate", ok, f"copy rate {rate:.0%} {'<=' if ok else '>'} allowed {limit:.0%}")


def min_term_accuracy(current: RunReport, limit: float) -> Decision:
    acc = (current.terminology or {}).get("term_accuracy")
    if acc is None:
        return Decision(
            "min_term_accuracy",
            False,
            "no term accuracy in the current run (no glossary, or no term occurrences)",
        )
    ok = acc >= limit
    return Decision(
        "min_term_accuracy", ok, f"term accuracy {acc:.0%} {'>=' if ok else '<'} required {limit:.0%}"
    )


def changed_segments(baseline: RunReport, current: RunReport, limit: int | str) -> Decision:
    """Fails when more segments changed their output than allowed: a count (0 for a
    deterministic path such as the untrained fixture, whose scores are noise a score rule
    cannot see through) or a share ("5%"). The failure shows the changed segments as word
    diffs ([-removed-]{+added+})."""
    from evalharness.reports.diff import inline_diff

    check_comparable([baseline, current])
    changed = [
        (b.id, b.hypothesis, c.hypothesis)
        for b, c in zip(baseline.segments, current.segments, strict=True)
        if b.hypothesis != c.hypothesis
    ]
    n = len(current.segments)
    allowed = round(n * float(limit[:-1]) / 100) if isinstance(limit, str) else int(limit)
    shown_limit = f"{limit} = {allowed}" if isinstance(limit, str) else str(allowed)
    if len(changed) <= allowed:
        return Decision(
            "max_changed_segments", True, f"{len(changed)} of {n} segments changed (allowed {shown_limit})"
        )

    def diff(old: str, new: str) -> str:
        marks = {"del": ("[-", "-]"), "ins": ("{+", "+}")}
        return "".join(
            f"{marks[s.kind][0]}{s.text}{marks[s.kind][1]}" if s.kind in marks else s.text
            for s in inline_diff(old, new)
        )

    shown = "; ".join(f"{seg_id}: {one_line_safe(diff(old, new))}" for seg_id, old, new in changed[:3])
    more = f"; and {len(changed) - 3} more" if len(changed) > 3 else ""
    return Decision(
        "max_changed_segments",
        False,
        f"{len(changed)} of {n} segments changed (allowed {shown_limit}): {shown}{more}",
    )


def evaluate_rule(rule: str, value, baseline: LoadedRun, current: LoadedRun) -> list[Decision]:
    if rule == "max_drop":
        return [metric_drop(baseline, current, m, float(v)) for m, v in value.items()]
    if rule == "no_new_flags":
        return [new_flags(baseline.report, current.report, list(value))]
    if rule == "max_copy_rate":
        return [max_copy_rate(current.report, float(value))]
    if rule == "min_term_accuracy":
        return [min_term_accuracy(current.report, float(value))]
    if rule == "max_changed_segments":
        return [changed_segments(baseline.report, current.report, value)]
    raise UserError(f"unknown gate rule {rule!r}")
