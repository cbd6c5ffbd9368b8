"""How each system's scores moved across its runs (`evalharness runs history`).

One series per system name, test-set version and pair (see `drift.py`): scores with their
intervals run after run, each run's change against the one before with a paired bootstrap
p-value (from the stored statistics), terminology drift, and whether the backend changed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evalharness.metrics.registry import get, metric_ids, signature_key
from evalharness.reports.compare import same_signature
from evalharness.reports.drift import SeriesKey, score_changes, series_key
from evalharness.reports.schema import RunReport, ScoreChange
from evalharness.reports.sections import display, improves, ordered_metrics, summary_metrics
from evalharness.reports.statistics import LoadedRun, statistics_for
from evalharness.reports.store import REPORT_FILE, list_runs
from evalharness.reports.view import Cell, Chart, Fact, Notes, Page, Section, Series, Table


@dataclass(frozen=True)
class Entry:
    report: RunReport
    changes: dict[str, ScoreChange]  # against the previous entry; empty for the first
    backend_changed: bool = False


def load_history(runs_root: Path, system: str | None = None) -> dict[SeriesKey, list[Entry]]:
    series: dict[SeriesKey, list[RunReport]] = {}
    for report in list_runs(runs_root):  # oldest first: run ids sort by time
        if system is None or report.backend.name == system:
            series.setdefault(series_key(report), []).append(report)
    out = {}
    for key, reports in series.items():
        loaded = [LoadedRun(r, runs_root / r.run_id / REPORT_FILE) for r in reports]  # statistics read once
        entries = [Entry(reports[0], {})]
        for prev, cur in zip(loaded, loaded[1:], strict=False):
            options = cur.report.config.get("metric_options") or {}
            metrics = [m for m in cur.report.scores if _comparable(prev, cur, m)]
            stats, _ = statistics_for([cur], metrics, options)
            same = [s.hypothesis for s in prev.report.segments] == [s.hypothesis for s in cur.report.segments]
            changes = score_changes(prev, {m: s[0] for m, s in stats.items()}, options, identical=same)
            backend_changed = _digest(prev.report) != _digest(cur.report)
            entries.append(Entry(cur.report, changes, backend_changed))
        out[key] = entries
    return out


def _comparable(a: LoadedRun, b: LoadedRun, metric: str) -> bool:
    """Both runs scored `metric` alike; a model metric also has its statistics stored with
    both: a history never re-scores with a model (whose checkpoint may be gone or changed)."""
    if not same_signature(a.report, b.report, metric) or metric not in metric_ids():
        return False
    if get(metric).model is None:
        return True
    key = signature_key(b.report.scores[metric].signature)
    return key in (a.stored or {}) and key in (b.stored or {})


def _digest(report: RunReport) -> str | None:
    return report.backend.fingerprint.get("digest")


def _change(metric: str, c: ScoreChange | None) -> Cell:
    if c is None:
        return Cell(text="–", tone="muted")
    if c.p_bootstrap is None:
        return Cell(text="= same output", sort=0.0, tone="muted")
    star = "*" if c.significant else ""
    tone = "" if not c.significant else ("good" if improves(metric, c.delta) else "bad")
    return Cell(text=f"{c.delta:+.2f}{star} (p {c.p_bootstrap:.3f})", sort=c.delta, tone=tone)


def history_page(history: dict[SeriesKey, list[Entry]], runs_root: str, system: str | None = None) -> Page:
    sections: list[Section] = []
    for k, (key, entries) in enumerate(sorted(history.items())):
        name, ts, version, src, tgt = key
        heads = summary_metrics([e.report for e in entries])
        metrics = ordered_metrics(
            [m for m in entries[-1].report.scores if m in heads] or list(entries[-1].report.scores)
        )
        title = f"{name}: {ts}@{version}, {src} → {tgt}"
        rows = []
        for e in entries:
            r = e.report
            terms = r.terminology or {}
            rows.append(
                [
                    Cell(text=r.run_id),
                    *(Cell.score(r.scores.get(m)) for m in metrics),
                    *(
                        _change(m, e.changes.get(m)) if e.changes else Cell(text="first run", tone="muted")
                        for m in metrics
                    ),
                    Cell.pct(terms.get("term_accuracy")),
                    Cell.of(terms.get("counts", {}).get("drift") if terms else None),
                    Cell(
                        text="changed" if e.backend_changed else "", tone="bad" if e.backend_changed else ""
                    ),
                ]
            )
        sections.append(
            Table(
                id=f"series-{k}",
                title=title,
                columns=[
                    "run",
                    *(display(m) for m in metrics),
                    *(f"Δ {display(m)} vs previous" for m in metrics),
                    "term accuracy",
                    "term drift flags",
                    "backend",
                ],
                rows=rows,
                note=(
                    "Δ against the run before, with its paired bootstrap p-value; * marks a significant change "
                    "(p < 0.05). Backend 'changed': another fingerprint (model, options or code)."
                ),
            )
        )
        sections.append(
            Chart(
                id=f"trend-{k}",
                title=f"{title}: scores over runs",
                chart="trend",
                categories=[e.report.run_id for e in entries],
                series=[
                    Series(
                        label=display(m),
                        values=[e.report.scores[m].score if m in e.report.scores else None for e in entries],
                    )
                    for m in metrics
                ],
            )
        )
    if not sections:
        sections.append(
            Notes(
                id="history",
                title="History",
                lines=["No runs" + (f" of system {system!r}" if system else "") + "."],
            )
        )
    return Page(
        kind="history",
        title="Score history" + (f": {system}" if system else ""),
        facts=[
            Fact(label="runs", value=runs_root),
            Fact(label="series", value=f"{len(history)} (system, test-set version, pair)"),
        ],
        sections=sections,
    )
