"""Inline SVG for the HTML pages: scores with confidence intervals (one panel per metric, one
bar per system), histograms (one bar per series in each bin), trends over runs, segment
scatters (one system's sentence scores against another's) and timelines (every system's runs
at their times, with interval bands). Static, self-contained SVG: the pages work offline and
as single files. Every label is escaped.

Series are drawn inside `<g class="series" data-filter="...">` groups (legend entries too),
so that a page's filter box can hide them; timelines with thousands of points stay one
polyline, one band and one circle per run per series, with the tooltip in the circle."""

from __future__ import annotations

import datetime as dt
import html
import math

from evalharness.reports.view import Chart

PALETTE = ["#3b6ea8", "#d9822b", "#4c9a2a", "#b5446e", "#7a5fa0", "#2a9d8f", "#8d6e63", "#c0392b"]
_E = html.escape


def svg(chart: Chart) -> str:
    return {
        "intervals": _intervals,
        "histogram": _histogram,
        "trend": _trend,
        "scatter": _scatter,
        "timeline": _timeline,
    }[chart.chart](chart)


def color(i: int) -> str:
    """The palette, then hues a golden angle apart: fifty series stay told apart."""
    if i < len(PALETTE):
        return PALETTE[i]
    return f"hsl({(i * 137.508) % 360:.0f},55%,{42 + (i % 3) * 8}%)"


def _filter_text(label: str, chart: Chart) -> str:
    return _E(f"{label} | {chart.title}")


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
        for t in _ticks(0.0, peak, 4):  # a labelled tick and a faint grid line at round values
            y = top + bar_h * (1 - t / peak)
            parts.append(
                f'<line class="grid" x1="{x0:.1f}" y1="{y:.1f}" x2="{x0 + panel_w:.1f}" y2="{y:.1f}"/>'
            )
            parts.append(
                f'<text class="tick" x="{x0 - 4:.1f}" y="{y + 4:.1f}" text-anchor="end">{t:g}</text>'
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


def _legend(labels: list[str], y: float, chart: Chart | None = None, columns: int = 3) -> list[str]:
    out = []
    width = 690 / columns
    for i, label in enumerate(labels):
        x, row = 30 + (i % columns) * width, y + 18 * (i // columns)
        swatch = PALETTE[i % len(PALETTE)] if chart is None else color(i)
        item = (
            f'<rect x="{x:.0f}" y="{row - 10}" width="12" height="12" fill="{swatch}"/>'
            f'<text class="legend" x="{x + 18:.0f}" y="{row}">{_E(label[: 40 if columns == 3 else 26])}</text>'
        )
        if chart is not None:  # in a chart of many series: filtered with its series, and points at it
            item = f'<g class="legend-item" data-series="{i}" data-filter="{_filter_text(label, chart)}">{item}</g>'
        out.append(item)
    return out


def _histogram(chart: Chart) -> str:
    """Bins along x; in each, one bar per series (one series: plain bars with their counts)."""
    n_series = max(len(chart.series), 1)
    width, height, top, bottom = 640.0, 200.0, 20.0, 40.0
    values = [v for s in chart.series for v in s.values if v]
    peak = max(values or [1.0])
    slot = (width - 60) / max(len(chart.categories), 1)
    bar = (slot - 2) / n_series
    parts = [f'<line class="axis" x1="40" y1="{height - bottom}" x2="{width - 20}" y2="{height - bottom}"/>']
    for k, series in enumerate(chart.series):
        # one series: the stylesheet's colour; several: each its own (class "bar" is not restyled)
        fill = ' class="bin"' if n_series == 1 else f' class="bar" fill="{color(k)}"'
        group = [f'<g class="series" data-series="{k}" data-filter="{_filter_text(series.label, chart)}">']
        for i, count in enumerate(series.values):
            h = (height - top - bottom) * (count or 0) / peak
            x = 40 + i * slot + 1 + k * bar
            shown = "–" if count is None else f"{count:g}"
            who = f"{_E(series.label)}, " if n_series > 1 else ""
            group.append(
                f'<rect{fill} x="{x:.1f}" y="{height - bottom - h:.1f}" width="{bar:.1f}" height="{h:.1f}">'
                f"<title>{who}{_E(chart.categories[i])}: {shown}</title></rect>"
            )
            if count and n_series == 1:
                group.append(
                    f'<text class="value" x="{x + bar / 2:.1f}" y="{height - bottom - h - 4:.1f}" text-anchor="middle">{count:g}</text>'
                )
        parts += group + ["</g>"]
    for i, label in enumerate(chart.categories):
        if len(chart.categories) <= 12 or i % 2 == 0:
            parts.append(
                f'<text class="tick" x="{40 + i * slot + slot / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle">{_E(label)}</text>'
            )
    if n_series > 1:
        parts += _legend([s.label for s in chart.series], height + 6, chart)
        height += 18 * math.ceil(len(chart.series) / 3) + 6
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
    for t in _ticks(lo, hi, 4):
        _, y = xy(0, t)
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - 20}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{t:g}</text>')
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


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round values for axis ticks between lo and hi."""
    if hi - lo <= 0:
        return [lo]
    raw = (hi - lo) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if m * step >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _scatter(chart: Chart) -> str:
    """One point per segment: x (the baseline's sentence score) against value (the system's),
    on the same scale, with the diagonal of equal scores; the tooltip names the segment."""
    size, left, top, bottom = 360.0, 50.0, 16.0, 44.0
    xs = [v for s in chart.series for v in (s.x or []) if v is not None]
    ys = [v for s in chart.series for v in s.values if v is not None]
    lo, hi = min(xs + ys, default=0.0), max(xs + ys, default=1.0)
    lo, hi = min(lo, 0.0), max(hi, lo + 1e-9)
    hi = _nice_max(hi) if lo == 0 else hi

    def at(v: float, vertical: bool) -> float:
        share = (v - lo) / (hi - lo)
        return top + size * (1 - share) if vertical else left + size * share

    parts = [
        f'<rect class="plot" x="{left}" y="{top}" width="{size}" height="{size}" fill="none"/>',
        f'<line class="diagonal" x1="{at(lo, False):.1f}" y1="{at(lo, True):.1f}" x2="{at(hi, False):.1f}" y2="{at(hi, True):.1f}"/>',
    ]
    for t in _ticks(lo, hi):
        parts.append(
            f'<text class="tick" x="{at(t, False):.1f}" y="{top + size + 14}" text-anchor="middle">{t:g}</text>'
        )
        parts.append(
            f'<text class="tick" x="{left - 4}" y="{at(t, True) + 4:.1f}" text-anchor="end">{t:g}</text>'
        )
    parts.append(
        f'<text class="axis-title" x="{left + size / 2}" y="{top + size + 34}" text-anchor="middle">{_E(chart.x_title)}</text>'
    )
    parts.append(
        f'<text class="axis-title" x="14" y="{top + size / 2}" text-anchor="middle" transform="rotate(-90 14 {top + size / 2})">{_E(chart.y_title)}</text>'
    )
    for k, series in enumerate(chart.series):
        group = [
            f'<g class="series" data-series="{k}" data-filter="{_filter_text(series.label, chart)}" fill="{color(k)}">'
        ]
        names = series.points or [""] * len(series.values)
        for x, y, name in zip(series.x or [], series.values, names, strict=False):
            if x is None or y is None:
                continue
            group.append(
                f'<circle class="point" cx="{at(x, False):.1f}" cy="{at(y, True):.1f}" r="3">'
                f"<title>{_E(name)}: {x:.1f} → {y:.1f}</title></circle>"
            )
        parts += group + ["</g>"]
    return _wrap(left + size + 20, top + size + bottom, parts, chart.title)


def _time_label(seconds: float, span: float) -> str:
    when = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return when.strftime("%Y-%m-%d" if span > 3 * 86400 else "%m-%d %H:%M")


def _timeline(chart: Chart) -> str:
    """Every series' points at their own times (x), joined by a line, over the band of their
    intervals; one tooltip per point. y spans the values and the interval bounds."""
    width, height, left, right, top, bottom = 900.0, 300.0, 56.0, 20.0, 16.0, 50.0
    xs = [x for s in chart.series for x in (s.x or []) if x is not None]
    ys = [
        v for s in chart.series for vs in (s.values, s.low or [], s.high or []) for v in vs if v is not None
    ]
    x_lo, x_hi = min(xs, default=0.0), max(xs, default=1.0)
    if x_hi - x_lo < 1:
        x_lo, x_hi = x_lo - 1800, x_hi + 1800
    y_lo, y_hi = min(ys, default=0.0), max(ys, default=1.0)
    pad = max((y_hi - y_lo) * 0.05, 0.5)
    y_lo, y_hi = y_lo - pad, y_hi + pad
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + plot_w * (x - x_lo) / (x_hi - x_lo)

    def py(y: float) -> float:
        return top + plot_h * (1 - (y - y_lo) / (y_hi - y_lo))

    parts = [
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}"/>',
        f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}"/>',
    ]
    for t in _ticks(y_lo, y_hi):
        parts.append(
            f'<line class="grid" x1="{left}" y1="{py(t):.1f}" x2="{width - right}" y2="{py(t):.1f}"/>'
        )
        parts.append(f'<text class="tick" x="{left - 4}" y="{py(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
    for i in range(6):
        t = x_lo + (x_hi - x_lo) * i / 5
        anchor = "start" if i == 0 else "end" if i == 5 else "middle"  # the ends stay inside the chart
        parts.append(
            f'<text class="tick" x="{px(t):.1f}" y="{top + plot_h + 14}" text-anchor="{anchor}">{_time_label(t, x_hi - x_lo)}</text>'
        )
    parts.append(
        f'<text class="axis-title" x="{left + plot_w / 2}" y="{top + plot_h + 32}" text-anchor="middle">{_E(chart.x_title)}</text>'
    )
    parts.append(
        f'<text class="axis-title" x="14" y="{top + plot_h / 2}" text-anchor="middle" transform="rotate(-90 14 {top + plot_h / 2})">{_E(chart.y_title)}</text>'
    )
    for k, series in enumerate(chart.series):
        c = color(k)
        group = [f'<g class="series" data-series="{k}" data-filter="{_filter_text(series.label, chart)}">']
        n = len(series.values)
        xs, lows, highs = series.x or [None] * n, series.low or [None] * n, series.high or [None] * n
        rows = [
            (x, v, lo, hi, tip)
            for x, v, lo, hi, tip in zip(
                xs, series.values, lows, highs, series.points or [""] * n, strict=False
            )
            if v is not None and x is not None
        ]
        rows.sort(key=lambda r: r[0])
        banded = [r for r in rows if r[2] is not None and r[3] is not None]
        if len(banded) > 1:
            edge = [f"{px(r[0]):.1f},{py(r[3]):.1f}" for r in banded] + [
                f"{px(r[0]):.1f},{py(r[2]):.1f}" for r in reversed(banded)
            ]
            group.append(f'<polygon class="band" points="{" ".join(edge)}" fill="{c}"/>')
        if len(rows) > 1:
            line = " ".join(f"{px(r[0]):.1f},{py(r[1]):.1f}" for r in rows)
            group.append(f'<polyline class="trend" points="{line}" fill="none" stroke="{c}"/>')
        for x, v, _, _, tip in rows:
            group.append(
                f'<circle cx="{px(x):.1f}" cy="{py(v):.1f}" r="2.5" fill="{c}"><title>{_E(tip)}</title></circle>'
            )
        parts += group + ["</g>"]
    columns = 4 if len(chart.series) > 6 else 3
    parts += _legend([s.label for s in chart.series], height + 4, chart, columns)
    total = height + 10 + 18 * math.ceil(len(chart.series) / columns)
    return _wrap(width, total, parts, chart.title)


def _wrap(width: float, height: float, parts: list[str], title: str) -> str:
    return (
        f'<svg class="chart" role="img" viewBox="0 0 {width:.0f} {height:.0f}" style="max-width:{width:.0f}px" '
        f'preserveAspectRatio="xMinYMin meet">'
        f"<title>{_E(title)}</title>" + "".join(parts) + "</svg>"
    )
