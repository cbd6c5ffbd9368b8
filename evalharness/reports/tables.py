"""Records as flat tables, for spreadsheets and papers: one row per system (per run in a
history) and a column per metric figure (`bleu`, `bleu_half_width`, `bleu_delta`...).

CSV keeps numbers plain and whole (Python's shortest exact form; empty for none). LaTeX is a
`tabular` with the same columns, numbers rounded for reading (p-values to 4 places, the rest
to 2) and every LaTeX special character in text escaped."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from evalharness.reports.formats import json_text
from evalharness.reports.records import ComparisonRecord, HistoryRecord, RunRecord

DATA_FORMATS = ("json", "csv", "latex")

Table = tuple[list[str], list[list[Any]]]


def run_table(rec: RunRecord) -> Table:
    columns = ["system", "run_id", "testset", "version", "pair"]
    row: list[Any] = [rec.system, rec.run_id, rec.testset.name, rec.testset.version, rec.testset.pair]
    for m, s in rec.scores.items():
        iv = s.interval
        columns += [m, f"{m}_low", f"{m}_high", f"{m}_half_width"]
        row += [s.score, *((iv.low, iv.high, iv.half_width) if iv else (None, None, None))]
    return columns, [row]


def comparison_table(rec: ComparisonRecord) -> Table:
    figures = ["half_width", "delta", "p_bootstrap", "p_randomization", "verdict"]
    if rec.pairs:
        figures += ["p_adjusted", "cluster"]
    columns = ["system", "run_id"]
    for m in rec.metrics:
        columns += [m, *(f"{m}_{f}" for f in figures)]
    rows = []
    for run in rec.runs:
        row: list[Any] = [run.system, run.run_id]
        for m in rec.metrics:
            r = rec.row(run.system, m)
            row += [r.score, *(getattr(r, f) for f in figures)]
        rows.append(row)
    return columns, rows


def history_table(rec: HistoryRecord) -> Table:
    metrics = list(dict.fromkeys(m for s in rec.series for e in s.entries for m in e.scores))
    columns = ["system", "testset", "version", "pair", "run_id", "created", "backend_changed"]
    for m in metrics:
        columns += [m, f"{m}_half_width", f"{m}_delta", f"{m}_p_bootstrap"]
    rows = []
    for s in rec.series:
        for e in s.entries:
            row: list[Any] = [s.system, s.testset.name, s.testset.version, s.testset.pair]
            row += [e.run_id, e.created, e.backend_changed]
            for m in metrics:
                sc, change = e.scores.get(m), e.changes.get(m)
                row += [
                    sc.score if sc else None,
                    sc.interval.half_width if sc and sc.interval else None,
                    change.delta if change else e.untested.get(m),
                    change.p_bootstrap if change else None,
                ]
            rows.append(row)
    return columns, rows


def csv_text(text: str) -> str:
    """A text cell a spreadsheet will not run: one starting with =, +, @ or a tab/CR (a
    formula to Excel and LibreOffice) gets a leading apostrophe. System names, segment texts
    and run ids come from users and files. A leading '-' is left alone: hypotheses and
    negative numbers start with it, and alone it runs nothing."""
    return "'" + text if text[:1] in ("=", "+", "@", "\t", "\r") else text


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return csv_text(value)
    return str(value)


def to_csv(table: Table) -> str:
    columns, rows = table
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_csv_value(v) for v in row] for row in rows)
    return out.getvalue()


_LATEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_SPECIAL = re.compile("[" + re.escape("".join(_LATEX)) + "]")
_LINE_BREAKS = re.compile(r"\s+")


def latex_escape(text: str) -> str:
    """Text that LaTeX prints as written: its special characters escaped in one pass (so an
    escape is never escaped again), whitespace and line breaks as single spaces."""
    return _LATEX_SPECIAL.sub(lambda m: _LATEX[m.group()], _LINE_BREAKS.sub(" ", text))


def _latex_value(column: str, value: Any) -> str:
    if value is None:
        return "--"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}" if "p_" in column else f"{value:.2f}"
    return latex_escape(str(value))


def to_latex(table: Table) -> str:
    columns, rows = table
    numeric = [
        all(
            isinstance(row[k], int | float) and not isinstance(row[k], bool)
            for row in rows
            if row[k] is not None
        )
        for k in range(len(columns))
    ]
    lines = [
        r"\begin{tabular}{" + "".join("r" if n else "l" for n in numeric) + "}",
        r"\hline",
        " & ".join(latex_escape(c) for c in columns) + r" \\",
        r"\hline",
        *(" & ".join(_latex_value(c, v) for c, v in zip(columns, row, strict=True)) + r" \\" for row in rows),
        r"\hline",
        r"\end{tabular}",
    ]
    return "\n".join(lines) + "\n"


def render_record(record: RunRecord | ComparisonRecord | HistoryRecord, fmt: str) -> str:
    """`fmt` is one of DATA_FORMATS: the record as JSON, or its table as CSV or LaTeX."""
    if fmt == "json":
        return json_text(record.to_dict()) + "\n"
    maker = {RunRecord: run_table, ComparisonRecord: comparison_table, HistoryRecord: history_table}
    table = maker[type(record)](record)
    if fmt == "csv":
        return to_csv(table)
    if fmt == "latex":
        return to_latex(table)
    raise ValueError(fmt)
