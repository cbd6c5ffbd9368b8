"""A readable account of a test set: what is in it, how sure we are, what was left out and why."""

from __future__ import annotations

from collections import Counter, defaultdict

from evalharness.corpus.store import TestSet

BINS = [(0.0, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.0001)]


def confidence_histogram(confidences: list[float]) -> list[tuple[str, int]]:
    out = []
    for lo, hi in BINS:
        label = f"{lo:.1f}-{min(hi, 1.0):.1f}"
        out.append((label, sum(lo <= c < hi for c in confidences)))
    return out


def summarize(ts: TestSet, examples: int = 3) -> str:
    m = ts.manifest
    lines = [
        f"test set {m.name} @ {m.version} ({m.method}, schema {m.schema_version})",
        f"languages: {', '.join(m.languages)}" + (f" (pivot {m.pivot})" if m.pivot else ""),
        f"segments: {m.segment_count}  " + "  ".join(f"{pair}: {n}" for pair, n in m.pair_counts.items()),
        "",
        "documents:",
    ]
    for d in m.documents:
        if d.lang_source == "detected":
            lang = f"{d.lang} (detected, p={d.lang_confidence:.2f})"
        else:
            lang = f"{d.lang} (given; detector says {d.lang_detected}, p={d.lang_confidence:.2f})"
        status = "in test set" if d.in_testset else "LEFT OUT"
        lines.append(
            f"  {d.file}  {lang}  {d.lines} lines, {d.content_lines} content lines, "
            f"{d.sentences} sentences [{d.segmenter}]  {status}"
        )
    if m.pair_checks:
        lines += ["", "parallel checks:"]
        for c in m.pair_checks:
            lines.append(f"  {'ok ' if c.parallel else 'NOT'} {c.message}")
    confs = [s.confidence for s in ts.segments]
    lines += ["", "segment confidence:"]
    peak = max((n for _, n in confidence_histogram(confs)), default=0) or 1
    for label, n in confidence_histogram(confs):
        lines.append(f"  {label}  {'#' * round(20 * n / peak):<20} {n}")
    if m.dropped:
        by_reason: dict[str, list] = defaultdict(list)
        for d in m.dropped:
            by_reason[d.reason].append(d)
        lines += ["", f"dropped as boilerplate: {len(m.dropped)} lines"]
        for reason, items in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
            per_file = Counter(d.file for d in items)
            lines.append(
                f"  {len(items):>3}  {reason}  ({', '.join(f'{f}: {n}' for f, n in per_file.items())})"
            )
            for d in items[:examples]:
                lines.append(f"         {d.file}:{d.line}  {d.text[:70]!r}")
    if m.excluded:
        lines += ["", f"aligned text left out of the segments: {len(m.excluded)}"]
        for e in m.excluded[: examples * 4]:
            lines.append(f"  {e.file}:{','.join(map(str, e.lines))} ({e.lang})  {e.reason}: {e.text[:60]!r}")
    return "\n".join(lines)
