"""Inline SVG for the HTML pages: scores with confidence intervals (one panel per metric, one
bar per system), histograms, and trends over runs. Static, self-contained SVG: the pages
work offline and as single files. Every label is escaped."""

from __future__ import annotations

import html
import math

from evalharness.reports.view import Chart

PALETTE = ["#3b6ea8", "#d9822b", "#4c9a2a", "#b5446e", "#7a5fa0", "#2a9d8f", "#8d6e63", "#c0392b"]
_E = html.escape


def svg(chart: Chart) -> str:
    return {"intervals": _intervals, "histogram": _histogram, "trend": _trend}[chart.chart](chart)


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** math.floor(math.log10(value))
    return math.ceil(value / step * 1.05) * step


def _panel(x: float, width: float, height: float, top: float, title: str) -> list[str]:
    return [
        f'<text class="panel-title" x="{x + width / 2:.1f}" y="{top - 8:.1f}" text-anchor="middle">{_E(title)}</text>',
        f'<line class="axis" x1="{x:.1f}" y1="{top + height:.1f}" x2="{x + width:.1f}" y2="{top + height:.1f}"/>',
    ]


def _intervals(chart: Chart) -> str:
    """One panel per category (metric); in each, one bar per series (system) with its interval."""
    panel_w, bar_h, top, gap = 220.0, 160.0, 30.0, 30.0
    n_sys = max(len(chart.series), 1)
    width = max(len(chart.categories), 1) * (panel_w + gap) + gap
    parts = []
    for k, metric in enumerate(chart.categories):
        x0 = gap + k * (panel_w + gap)
        values = [s.values[k] for s in chart.series]
        highs = [(s.high[k] if s.high else None) for s in chart.series]
        peak = _nice_max(max([v for v in values + highs if v is not None] or [1.0]))
        parts += _panel(x0, panel_w, bar_h, top, metric)
        parts.append(
            f'<text class="tick" x="{x0 - 4:.1f}" y="{top + 4:.1f}" text-anchor="end">{peak:g}</text>'
        )
        slot = panel_w / n_sys
        for i, series in enumerate(chart.series):
            value = series.values[k]
            if value is None:
                continue
            h = bar_h * max(value, 0) / peak
            bx = x0 + i * slot + slot * 0.15
            parts.append(
                f'<rect class="bar" data-system="{_E(series.label)}" data-metric="{_E(metric)}" x="{bx:.1f}" '
                f'y="{top + bar_h - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{PALETTE[i % len(PALETTE)]}">'
                f"<title>{_E(series.label)}: {value:.2f}</title></rect>"
            )
            lo = series.low[k] if series.low else None
            hi = series.high[k] if series.high else None
            if lo is not None and hi is not None:
                cx = bx + slot * 0.35
                y_lo, y_hi = top + bar_h - bar_h * lo / peak, top + bar_h - bar_h * hi / peak
                parts.append(
                    f'<path class="ci" d="M{cx:.1f},{y_lo:.1f}V{y_hi:.1f}M{cx - 5:.1f},{y_lo:.1f}h10M{cx - 5:.1f},{y_hi:.1f}h10"/>'
                )
            parts.append(
                f'<text class="value" x="{bx + slot * 0.35:.1f}" y="{top + bar_h + 14:.1f}" text-anchor="middle">{value:.1f}</text>'
            )
    legend = _legend([s.label for s in chart.series], top + bar_h + 34)
    height = top + bar_h + 40 + 18 * math.ceil(len(chart.series) / 3)
    return _wrap(width, height, parts + legend, chart.title)


def _legend(labels: list[str], y: float) -> list[str]:
    out = []
    for i, label in enumerate(labels):
        x, row = 30 + (i % 3) * 230, y + 18 * (i // 3)
        out.append(
            f'<rect x="{x}" y="{row - 10}" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>'
        )
        out.append(f'<text class="legend" x="{x + 18}" y="{row}">{_E(label[:40])}</text>')
    return out


def _histogram(chart: Chart) -> str:
    counts = chart.series[0].values if chart.series else []
    width, height, top, bottom = 640.0, 200.0, 20.0, 40.0
    peak = max([c for c in counts if c] or [1.0])
    slot = (width - 60) / max(len(counts), 1)
    parts = [f'<line class="axis" x1="40" y1="{height - bottom}" x2="{width - 20}" y2="{height - bottom}"/>']
    for i, count in enumerate(counts):
        h = (height - top - bottom) * (count or 0) / peak
        x = 40 + i * slot
        parts.append(
            f'<rect class="bin" x="{x + 1:.1f}" y="{height - bottom - h:.1f}" width="{slot - 2:.1f}" height="{h:.1f}">'
            f"<title>{_E(chart.categories[i])}: {count:g}</title></rect>"
        )
        if count:
            parts.append(
                f'<text class="value" x="{x + slot / 2:.1f}" y="{height - bottom - h - 4:.1f}" text-anchor="middle">{count:g}</text>'
            )
        if len(counts) <= 12 or i % 2 == 0:
            parts.append(
                f'<text class="tick" x="{x + slot / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle">{_E(chart.categories[i])}</text>'
            )
    return _wrap(width, height, parts, chart.title)


def _trend(chart: Chart) -> str:
    width, height, left, top, bottom = 640.0, 220.0, 50.0, 20.0, 50.0
    values = [v for s in chart.series for v in s.values if v is not None]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    n = max(len(chart.categories), 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (width - left - 20) * (i / (n - 1) if n > 1 else 0.5)
        return x, top + (height - top - bottom) * (1 - (v - lo) / (hi - lo))

    parts = [
        f'<line class="axis" x1="{left}" y1="{height - bottom}" x2="{width - 20}" y2="{height - bottom}"/>'
    ]
    parts.append(f'<text class="tick" x="{left - 4}" y="{top + 4}" text-anchor="end">{hi:.1f}</text>')
    parts.append(f'<text class="tick" x="{left - 4}" y="{height - bottom}" text-anchor="end">{lo:.1f}</text>')
    for k, series in enumerate(chart.series):
        color = PALETTE[k % len(PALETTE)]
        points = [xy(i, v) for i, v in enumerate(series.values) if v is not None]
        if len(points) > 1:
            d = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline class="trend" points="{d}" fill="none" stroke="{color}"/>')
        for x, y in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>')
    for i, label in enumerate(chart.categories):
        x, _ = xy(i, lo)
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{height - bottom + 14}" text-anchor="middle">{_E(label[-10:])}</text>'
        )
    parts += _legend([s.label for s in chart.series], height - 12)
    return _wrap(width, height + 18 * max(0, math.ceil(len(chart.series) / 3) - 1), parts, chart.title)


def _wrap(width: float, height: float, parts: list[str], title: str) -> str:
    return (
        f'<svg class="chart" role="img" viewBox="0 0 {width:.0f} {height:.0f}" style="max-width:{width:.0f}px" '
        f'preserveAspectRatio="xMinYMin meet">'
        f"<title>{_E(title)}</title>" + "".join(parts) + "</svg>"
    )
