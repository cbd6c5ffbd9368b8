"""One renderer per format for the same `Page`: text (terminal), Markdown, JSON and HTML.

Everything a user controls (segment text, system names, glossary terms, file names) is
escaped for the format it lands in: HTML-escaped in HTML and Markdown (Markdown is often
shown as HTML; links, images and table pipes are neutralised too), control and bidi
characters removed from terminal text. The HTML page is one self-contained file: inline
CSS, inline SVG charts, a few lines of plain JavaScript for sorting and filtering tables,
and no request to any network."""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re

from evalharness.reports.charts import svg
from evalharness.reports.view import Cell, Chart, Notes, Page, Section, Span
from evalharness.terminal import CONTROL as _CONTROL

FORMATS = ("text", "md", "json", "html")
ERROR_SEVERITIES = ("minor", "major", "critical")

_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


# What JSON may hold raw but a terminal would obey: C1 controls (U+009B is an 8-bit CSI, U+009D
# an OSC), DEL, bidi overrides and the Unicode line separators. json.dumps escapes only C0.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_text(obj: object, indent: int | None = 1) -> str:
    """JSON as text, with every character a terminal would act on written as a \\u escape:
    the same data for every JSON reader, inert on a screen."""
    text = json.dumps(obj, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def clean(text: object, strip: bool = True) -> str:
    """Text safe for a terminal: no escape sequences, no bidi overrides, one line."""
    out = _CONTROL.sub("", re.sub(r"\s+", " ", str(text)))
    return out.strip() if strip else out


def render(page: Page, fmt: str) -> str:
    if fmt == "json":
        return json_text(page.model_dump(mode="json")) + "\n"
    if fmt == "html":
        return render_html(page)
    if fmt == "md":
        return render_markdown(page)
    if fmt == "text":
        return render_text(page)
    raise ValueError(fmt)


# ---------------------------------------------------------------- text


def _text_spans(spans: list[Span]) -> str:
    marks = {
        "plain": "{}",
        "ins": "{{+{}+}}",
        "del": "[-{}-]",
        "term": "«{}»",
        **{severity: f"⟦{{}}⟧{severity}" for severity in ERROR_SEVERITIES},
    }
    return "".join(marks[s.kind].format(clean(s.text, strip=False)) for s in spans).strip()


def _text_cell(cell: Cell) -> str:
    return _text_spans(cell.spans) if cell.spans else clean(cell.text)


def render_text(page: Page) -> str:
    out = [clean(page.title)]
    out += [f"  {clean(f.label)}: {clean(f.value)}" for f in page.facts]
    for section in page.sections:
        out += ["", f"== {clean(section.title)}"]
        out += _text_section(section)
    return "\n".join(out) + "\n"


def _text_section(section: Section) -> list[str]:
    if isinstance(section, Notes):
        return [f"  {clean(line)}" for line in section.lines]
    if isinstance(section, Chart):
        return _text_chart(section)
    rows = [[clean(c) for c in section.columns]] + [[_text_cell(c) for c in row] for row in section.rows]
    if section.wide:  # long texts: one block per row instead of a table that wraps badly
        lines = []
        for row in rows[1:]:
            lines.append(
                "  "
                + "  ".join(
                    f"{rows[0][k]}: {v}" if k else v for k, v in enumerate(row) if k not in section.wide
                )
            )
            lines += [f"      {rows[0][k]}: {row[k]}" for k in section.wide if k < len(row)]
        table = lines
    else:
        widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
        table = ["  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)).rstrip() for r in rows]
    return (
        table
        + ([f"  {clean(section.note)}"] if section.note else [])
        + (["  (none)"] if not section.rows else [])
    )


def _text_chart(chart: Chart) -> list[str]:
    out = []
    if chart.chart == "histogram" and len(chart.series) <= 1:
        counts = chart.series[0].values if chart.series else []
        peak = max([c or 0 for c in counts] or [1]) or 1
        for label, count in zip(chart.categories, counts, strict=True):
            out.append(f"  {clean(label):>14} {'#' * round(30 * (count or 0) / peak)} {count or 0:g}")
    elif chart.chart == "scatter":
        out += _text_scatter(chart)
    elif chart.chart == "timeline":
        out += [f"  {clean(label)}: {line}" for label, line in timeline_rows(chart)]
    else:
        for k, category in enumerate(chart.categories):
            values = [s.values[k] for s in chart.series]
            peak = max([v for v in values if v is not None] or [1.0]) or 1.0
            out.append(f"  {clean(category)}")
            for s in chart.series:
                v = s.values[k]
                bar = "#" * round(30 * max(v or 0, 0) / peak) if v is not None else ""
                ci = (
                    f" [{s.low[k]:.2f}, {s.high[k]:.2f}]" if s.low and s.high and s.low[k] is not None else ""
                )
                shown = "–" if v is None else (_count(v) if chart.chart == "histogram" else f"{v:.2f}")
                out.append(f"    {clean(s.label)[:30]:<30} {bar} {shown}{ci}")
    return out + ([f"  {clean(chart.note)}"] if chart.note else [])


def _count(v: float) -> str:
    """A histogram's value: a count as a whole number, anything else (an F-measure) to 3 places."""
    return f"{v:g}" if float(v).is_integer() else f"{v:.3f}"


SCATTER_BINS = 5


def scatter_summary(chart: Chart) -> list[tuple[str, int, int, int, int, float | None]]:
    """Per series: (label, points, above the diagonal, below, on it, Pearson's r)."""
    out = []
    for s in chart.series:
        pairs = [(x, y) for x, y in zip(s.x or [], s.values, strict=False) if x is not None and y is not None]
        above = sum(y > x + 1e-9 for x, y in pairs)
        below = sum(y < x - 1e-9 for x, y in pairs)
        r = None
        if len(pairs) > 2:
            mx, my = sum(x for x, _ in pairs) / len(pairs), sum(y for _, y in pairs) / len(pairs)
            sxy = sum((x - mx) * (y - my) for x, y in pairs)
            sxx, syy = sum((x - mx) ** 2 for x, _ in pairs), sum((y - my) ** 2 for _, y in pairs)
            r = sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else None
        out.append((s.label, len(pairs), above, below, len(pairs) - above - below, r))
    return out


def scatter_grid(chart: Chart, series_index: int = 0) -> tuple[list[str], list[list[int]]]:
    """The points counted in a SCATTER_BINS x SCATTER_BINS grid over the shared range: bin
    labels, and rows from the highest y bin down, columns from the lowest x bin up."""
    s = chart.series[series_index]
    pairs = [(x, y) for x, y in zip(s.x or [], s.values, strict=False) if x is not None and y is not None]
    values = [v for p in pairs for v in p]
    lo, hi = min(values, default=0.0), max(values, default=1.0)
    step = (hi - lo) / SCATTER_BINS or 1.0
    labels = [f"{lo + k * step:.0f}–{lo + (k + 1) * step:.0f}" for k in range(SCATTER_BINS)]
    grid = [[0] * SCATTER_BINS for _ in range(SCATTER_BINS)]
    for x, y in pairs:
        i = min(int((x - lo) / step), SCATTER_BINS - 1)
        j = min(int((y - lo) / step), SCATTER_BINS - 1)
        grid[SCATTER_BINS - 1 - j][i] += 1
    return labels, grid


def _text_scatter(chart: Chart) -> list[str]:
    out = []
    for k, (label, n, above, below, same, r) in enumerate(scatter_summary(chart)):
        rt = "–" if r is None else f"{r:.2f}"
        out.append(
            f"  {clean(label)}: {n} segments, {above} above the diagonal ({clean(chart.y_title)} higher), "
            f"{below} below, {same} on it; Pearson r {rt}"
        )
        labels, grid = scatter_grid(chart, k)
        width = max(len(x) for x in labels)
        out.append(f"    {clean(chart.y_title)[:20]} ↑ / {clean(chart.x_title)[:20]} →")
        for label, row in zip(reversed(labels), grid, strict=True):
            out.append(f"    {label:>{width}} |" + "".join(f"{c:>6}" for c in row))
        out.append(
            f"    {'':>{width}} +"
            + "".join(f"{x:>6}" for x in (label[: label.index("–")] for label in labels))
        )
    return out


def timeline_rows(chart: Chart) -> list[tuple[str, str]]:
    """Per series: its label, and its runs, first and latest score (with its interval) and when."""
    out = []
    for s in chart.series:
        n = len(s.values)
        points = [
            p
            for p in zip(s.x or [None] * n, s.values, s.low or [None] * n, s.high or [None] * n, strict=False)
            if p[1] is not None
        ]
        if not points:
            continue
        points.sort(key=lambda p: p[0] or 0.0)
        _, first, _, _ = points[0]
        when, last, lo, hi = points[-1]
        ci = f" [{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None else ""
        at = dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%d %H:%M") if when is not None else "–"
        out.append((s.label, f"{len(points)} runs, first {first:.2f}, latest {last:.2f}{ci} ({at} UTC)"))
    return out


# ---------------------------------------------------------------- markdown


def md_escape(text: object, strip: bool = True) -> str:
    """Safe in a Markdown table cell and when the page is rendered as HTML: HTML escaped
    (so no raw tags or autolinks), link/image/emphasis/code syntax and pipes backslashed,
    one line."""
    out = html.escape(clean(text, strip), quote=True)
    return re.sub(r"([\\`*_\[\]|~])", r"\\\1", out)


def _md_spans(spans: list[Span]) -> str:
    marks = {
        "plain": "{}",
        "ins": "<ins>{}</ins>",
        "del": "<del>{}</del>",
        "term": "<mark>{}</mark>",
        **{severity: f"<u>{{}}</u><sub>{severity}</sub>" for severity in ERROR_SEVERITIES},
    }
    return "".join(marks[s.kind].format(md_escape(s.text, strip=False)) for s in spans).strip()


def _md_cell(cell: Cell) -> str:
    return _md_spans(cell.spans) if cell.spans else md_escape(cell.text)


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _md_chart(chart: Chart) -> list[str]:
    """A chart as the table of its numbers (no code fence a label could break out of)."""
    note = ["", md_escape(chart.note)] if chart.note else []
    if chart.chart == "scatter":
        out = [
            _md_row(["system", "segments", "above the diagonal", "below", "on it", "Pearson r"]),
            "|---|---|---|---|---|---|",
        ]
        for label, n, above, below, same, r in scatter_summary(chart):
            out.append(
                _md_row(
                    [
                        md_escape(label),
                        str(n),
                        str(above),
                        str(below),
                        str(same),
                        "–" if r is None else f"{r:.2f}",
                    ]
                )
            )
        for k, series in enumerate(chart.series):
            labels, grid = scatter_grid(chart, k)
            corner = f"{md_escape(series.label)}: {md_escape(chart.y_title)} ↓ / {md_escape(chart.x_title)} →"
            head = [corner, *map(md_escape, labels)]
            out += ["", _md_row(head), "|" + "---|" * len(head)]
            out += [
                _md_row([md_escape(y), *map(str, row)]) for y, row in zip(reversed(labels), grid, strict=True)
            ]
        return out + note
    if chart.chart == "timeline":
        out = [_md_row(["series", "runs, first and latest score (latest interval, time)"]), "|---|---|"]
        for label, line in timeline_rows(chart):
            out.append(_md_row([md_escape(label), md_escape(line)]))
        return out + note
    single = chart.chart == "histogram" and len(chart.series) <= 1
    head = ["bin", "segments"] if single else ["", *(s.label for s in chart.series)]
    out = [_md_row([md_escape(h) for h in head]), "|" + "---|" * len(head)]
    for k, category in enumerate(chart.categories):
        cells = []
        for s in chart.series:
            v = s.values[k]
            ci = f" [{s.low[k]:.2f}, {s.high[k]:.2f}]" if s.low and s.high and s.low[k] is not None else ""
            cells.append("–" if v is None else f"{v:.2f}{ci}" if chart.chart != "histogram" else _count(v))
        out.append(_md_row([md_escape(category), *cells]))
    return out + note


def render_markdown(page: Page) -> str:
    out = [f"# {md_escape(page.title)}"]
    if page.facts:
        out += [""] + [f"- **{md_escape(f.label)}**: {md_escape(f.value)}" for f in page.facts]
    for section in page.sections:
        out += ["", f"## {md_escape(section.title)}", ""]
        if isinstance(section, Notes):
            out += [f"- {md_escape(line)}" for line in section.lines]
        elif isinstance(section, Chart):
            out += _md_chart(section)
        else:
            out.append("| " + " | ".join(md_escape(c) for c in section.columns) + " |")
            out.append("|" + "---|" * len(section.columns))
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in section.rows]
            if not section.rows:
                out.append("| " + " | ".join(["(none)"] + [""] * (len(section.columns) - 1)) + " |")
            if section.note:
                out += ["", md_escape(section.note)]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- html

_E = html.escape
_CSS = """
:root{--fg:#1d2433;--muted:#6b7280;--line:#e3e6ea;--bg:#fff;--soft:#f6f7f9;--good:#1d7a38;--bad:#b42318;--accent:#3b6ea8}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:20px 28px 12px;border-bottom:1px solid var(--line);background:var(--soft)}
header h1{margin:0 0 4px;font-size:22px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0 0;font-size:13.5px}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px}
nav{padding:8px 28px;border-bottom:1px solid var(--line);font-size:13px}
nav a{margin-right:14px;color:var(--accent);text-decoration:none}
main{padding:8px 28px 40px;max-width:1400px}
section{margin:22px 0}
h2{font-size:17px;margin:0 0 8px}
.note{color:var(--muted);font-size:13px;margin:6px 0}
.scroll{max-width:100%;overflow-x:auto}
table{border-collapse:collapse;font-size:13.5px}
table.full{width:100%}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:var(--soft);position:sticky;top:0;cursor:default;white-space:nowrap}
table.sortable th{cursor:pointer}
th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.wide{min-width:14em;max-width:40em;overflow-wrap:anywhere}
.good{color:var(--good);font-weight:600}.bad{color:var(--bad);font-weight:600}.muted{color:var(--muted)}
ins{background:#d9f2dc;text-decoration:none;border-radius:2px}
del{background:#fadcd9;border-radius:2px}
mark{background:#fff1a8;border-radius:2px}
mark.err{background:none;border-bottom:2px solid;border-radius:0}
mark.minor{border-color:#d4a72c;background:#fdf6dc}mark.major{border-color:#e8590c;background:#fde8dc}
mark.critical{border-color:#b42318;background:#fadcd9;font-weight:600}
input.filter{margin:4px 0 8px;padding:5px 8px;width:min(420px,100%);border:1px solid var(--line);border-radius:4px}
ul.notes{margin:0;padding-left:20px}
svg.chart{width:100%;height:auto;font-size:12px}
svg .axis{stroke:#9aa1ab}svg .ci{stroke:#1d2433;stroke-width:1.5;fill:none}
svg .bin{fill:var(--accent)}svg .trend{stroke-width:2}svg .tick,svg .value,svg .legend{fill:#4b5563}
svg .panel-title{font-weight:600;fill:#1d2433}
svg .band{fill-opacity:.13;stroke:none}svg .grid{stroke:#eef0f3}svg .plot{stroke:#9aa1ab}
svg .diagonal{stroke:#9aa1ab;stroke-dasharray:4 3}svg .point{fill-opacity:.55}svg .axis-title{fill:#4b5563}
svg.chart:has(g.series:hover) g.series:not(:hover),svg.focus g.series:not(.hi){opacity:.12}
svg g.legend-item{cursor:default}nav .more{color:var(--muted)}
div.group{content-visibility:auto;contain-intrinsic-size:auto 1200px}
input.page-filter{margin:10px 0 0;padding:6px 9px;width:min(520px,100%);border:1px solid #c9ced6;border-radius:4px}
"""
_JS = """
document.querySelectorAll('table.sortable').forEach(function(table){
  var heads=table.querySelectorAll('th');
  heads.forEach(function(th,col){th.addEventListener('click',function(){
    var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);
    var asc=!th.classList.contains('asc');
    heads.forEach(function(h){h.classList.remove('asc','desc')});th.classList.add(asc?'asc':'desc');
    rows.sort(function(a,b){
      var x=a.cells[col],y=b.cells[col];
      var p=x.dataset.sort,q=y.dataset.sort;
      var c=(p!==undefined&&q!==undefined)?(parseFloat(p)-parseFloat(q)):x.textContent.localeCompare(y.textContent);
      return asc?c:-c;});
    rows.forEach(function(r){body.appendChild(r)});});});
});
document.querySelectorAll('svg.chart').forEach(function(svg){
  svg.querySelectorAll('g.legend-item').forEach(function(item){
    var series=svg.querySelector('g.series[data-series="'+item.getAttribute('data-series')+'"]');
    if(!series)return;
    item.addEventListener('mouseenter',function(){svg.classList.add('focus');series.classList.add('hi')});
    item.addEventListener('mouseleave',function(){svg.classList.remove('focus');series.classList.remove('hi')});});
});
var pageFilter=document.querySelector('input.page-filter');
if(pageFilter){var marked=document.querySelectorAll('[data-filter]');
  pageFilter.addEventListener('input',function(){
    var needle=pageFilter.value.toLowerCase();
    Array.prototype.forEach.call(marked,function(e){
      e.style.display=e.getAttribute('data-filter').toLowerCase().indexOf(needle)>=0?'':'none';});});}
document.querySelectorAll('input.filter').forEach(function(box){
  box.addEventListener('input',function(){
    var needle=box.value.toLowerCase(),table=document.getElementById(box.dataset.table);
    Array.prototype.forEach.call(table.tBodies[0].rows,function(r){
      r.style.display=r.textContent.toLowerCase().indexOf(needle)>=0?'':'none';});});
});
"""


def _html_spans(spans: list[Span]) -> str:
    tags = {
        "plain": "{}",
        "ins": "<ins>{}</ins>",
        "del": "<del>{}</del>",
        "term": "<mark>{}</mark>",
        **{s: f'<mark class="err {s}" title="{s} error">{{}}</mark>' for s in ERROR_SEVERITIES},
    }
    return "".join(tags[s.kind].format(_E(_visible(s.text))) for s in spans)


def _visible(text: str) -> str:
    """Bidi controls would reorder what a reader sees: shown as their code points instead;
    other control characters are dropped."""
    text = _BIDI.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)
    return _CONTROL.sub("", text)


def _html_cell(cell: Cell, wide: bool) -> str:
    classes = [c for c in (cell.tone, "num" if cell.sort is not None else "", "wide" if wide else "") if c]
    attrs = (f' class="{" ".join(classes)}"' if classes else "") + (
        f' data-sort="{cell.sort!r}"' if cell.sort is not None and math.isfinite(cell.sort) else ""
    )
    body = _html_spans(cell.spans) if cell.spans else _E(_visible(cell.text))
    return f"<td{attrs}>{body}</td>"


def _html_section(section: Section, filtering: bool = False) -> str:
    """`filtering`: the page has a filter box; a section with a `group` is hidden as a
    whole (in a wrapper that carries it), the rows of another table one by one (a chart's
    series always carry theirs)."""
    group = getattr(section, "group", "")
    if filtering and group:
        return f'<div class="group" data-filter="{_E(_visible(group))}">{_html_section(section)}</div>'
    head = f'<section id="{_E(section.id)}"><h2>{_E(section.title)}</h2>'
    if isinstance(section, Notes):
        return (
            head
            + "<ul class=notes>"
            + "".join(f"<li>{_E(_visible(x))}</li>" for x in section.lines)
            + "</ul></section>"
        )
    if isinstance(section, Chart):
        note = f'<p class="note">{_E(section.note)}</p>' if section.note else ""
        return head + svg(section) + note + "</section>"
    table_id = f"t-{section.id}"
    filter_box = (
        f'<input class="filter" type="search" placeholder="filter rows" aria-label="filter {_E(section.title)}" data-table="{table_id}">'
        if section.sortable
        else ""
    )
    classes = " ".join(
        c for c in ("sortable" if section.sortable else "", "full" if section.wide else "") if c
    )
    cls = f' class="{classes}"' if classes else ""
    ths = "".join(f"<th>{_E(c)}</th>" for c in section.columns)
    by_row = filtering and not section.group

    def tr(row: list[Cell]) -> str:
        mark = f' data-filter="{_E(_visible(" ".join(c.text for c in row)))}"' if by_row else ""
        return f"<tr{mark}>" + "".join(_html_cell(c, k in section.wide) for k, c in enumerate(row)) + "</tr>"

    trs = "".join(tr(row) for row in section.rows)
    if not section.rows:
        trs = f'<tr><td class="muted" colspan="{len(section.columns)}">(none)</td></tr>'
    note = f'<p class="note">{_E(section.note)}</p>' if section.note else ""
    return (
        head
        + filter_box
        + f'<div class="scroll"><table id="{table_id}"{cls}><thead><tr>{ths}</tr></thead><tbody>{trs}</tbody></table></div>'
        + note
        + "</section>"
    )


def render_html(page: Page) -> str:
    filtering = bool(page.filter)
    # a page with a filter box may have a section per series: the links name the others
    linked = [s for s in page.sections if not (filtering and getattr(s, "group", ""))]
    nav = "".join(f'<a href="#{_E(s.id)}">{_E(s.title)}</a>' for s in linked)
    if len(linked) < len(page.sections):
        nav += f'<span class="more">and {len(page.sections) - len(linked)} more sections below</span>'
    body = "".join(_html_section(s, filtering) for s in page.sections)
    facts = "".join(f"<dt>{_E(f.label)}</dt><dd>{_E(_visible(f.value))}</dd>" for f in page.facts)
    sub = f"<dl class=facts>{facts}</dl>" if facts else ""
    if filtering:
        sub += (
            f'<input class="page-filter" type="search" placeholder="{_E(page.filter)}" '
            f'aria-label="{_E(page.filter)}">'
        )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{_E(page.title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_E(page.title)}</h1>{sub}</header><nav>{nav}</nav><main>{body}</main>"
        f"<script>{_JS}</script></body></html>\n"
    )
