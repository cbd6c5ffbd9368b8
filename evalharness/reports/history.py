"""How each system's scores moved across its runs (`evalharness runs history`).

One series per system name, test-set version and pair (see `drift.py`). The page is built to
stay usable at fifty systems of a hundred runs each:

- a leaderboard on top: each system's latest run per test set and pair, its scores with
  their intervals, and its difference to the best system's latest run on each metric with
  a paired bootstrap p-value from the two runs' stored statistics (where both runs are on
  the same test-set version and segments and scored alike; else "not comparable");
- one chart per metric (and test set and pair) with every system overlaid: each run at its
  time, its 95% interval as a band, the run id, time and harness commit in each point's
  tooltip;
- one table per series, run by run, with the change against the run before;
- in HTML, one filter box over all of it (system name, test set, pair).

P-values of the change against the run before: a run records its change against the
previous run of its series when it is made (`drift` in report.json, a paired bootstrap on
the statistics it had just computed), and history reads it from there: for the usual
series this costs nothing. Where a run has no such record against the run now before it
(runs copied in from elsewhere, a run deleted in between, reports older than schema 4), the
test is computed from the stored statistics, but only for the last `RECOMPUTED` changes of
each series: a test takes 1,000 bootstrap resamples scored with sacrebleu's exact
arithmetic, and 5,000 of them would make the page take a minute to build. Older changes
without a record show their difference and "p not computed" (`Entry.untested`); the latest
changes, the ones a reader acts on, always have their p-value."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from evalharness.errors import UserError
from evalharness.metrics.registry import get, metric_ids
from evalharness.metrics.significance import ALPHA, bootstrap_p, resampled_scores_many, same_score
from evalharness.reports.compare import same_signature
from evalharness.reports.drift import SeriesKey, series_key
from evalharness.reports.schema import RunReport, ScoreChange, ScoreRecord
from evalharness.reports.sections import display, improves, ordered_metrics, p_value, summary_metrics
from evalharness.reports.statistics import LoadedRun, statistics_for
from evalharness.reports.store import REPORT_FILE, list_runs
from evalharness.reports.view import Cell, Chart, Fact, Notes, Page, Section, Series, Table

RECOMPUTED = 3  # changes per series tested from statistics when no drift record has them


@dataclass(frozen=True)
class Entry:
    report: RunReport
    changes: dict[str, ScoreChange]  # against the previous entry; empty for the first
    backend_changed: bool = False
    path: Path | None = None  # its report.json (statistics are read from beside it when needed)
    untested: dict[str, float] = field(default_factory=dict)  # metric -> Δ whose p-value was not computed


def _pair(report: RunReport) -> str:
    return f"{report.testset.src_lang}-{report.testset.tgt_lang}"


def load_history(
    runs_root: Path, system: str | None = None, pair: str | None = None
) -> dict[SeriesKey, list[Entry]]:
    """Every series (system name, test set, version, pair) of the runs under `runs_root`,
    oldest run first; `system` and `pair` (SRC-TGT) keep only theirs."""
    series: dict[SeriesKey, list[RunReport]] = {}
    for report in list_runs(runs_root):  # oldest first
        if (system is None or report.backend.name == system) and (pair is None or _pair(report) == pair):
            series.setdefault(series_key(report), []).append(report)
    return {key: _entries(reports, runs_root) for key, reports in series.items()}


def _stored_key(report: RunReport, metric: str) -> str | None:
    """The signature key `metric`'s statistics are stored under beside the report."""
    return (report.statistics or {}).get("metrics", {}).get(metric)


def _comparable(a: RunReport, b: RunReport, metric: str) -> bool:
    """Both runs scored `metric` alike; a model metric also has its statistics stored with
    both: a history never re-scores with a model (whose checkpoint may be gone or changed)."""
    if not same_signature(a, b, metric) or metric not in metric_ids():
        return False
    if get(metric).model is None:
        return True
    key = _stored_key(b, metric)
    return key is not None and key == _stored_key(a, metric)


def _same_output(a: RunReport, b: RunReport) -> bool:
    return [s.hypothesis for s in a.segments] == [s.hypothesis for s in b.segments]


def _entries(reports: list[RunReport], runs_root: Path) -> list[Entry]:
    paths = [runs_root / r.run_id / REPORT_FILE for r in reports]
    changes: list[dict[str, ScoreChange]] = [{} for _ in reports]
    untested: list[dict[str, float]] = [{} for _ in reports]
    todo: dict[str, list[int]] = {}  # metric -> k: the changes (k-1 -> k) to test
    for k in range(1, len(reports)):
        prev, cur = reports[k - 1], reports[k]
        metrics = [m for m in cur.scores if _comparable(prev, cur, m)]
        drift = cur.drift
        if drift is not None and drift.previous_run == prev.run_id:
            changes[k] = {m: drift.scores[m] for m in metrics if m in drift.scores}
            metrics = [m for m in metrics if m not in drift.scores]
        for m in metrics:
            if k >= len(reports) - RECOMPUTED:
                todo.setdefault(m, []).append(k)
            else:
                untested[k][m] = cur.scores[m].score - prev.scores[m].score
    loaded: dict[int, LoadedRun] = {}
    for metric, ks in todo.items():
        for k, change in _tested(reports, paths, loaded, metric, ks).items():
            changes[k][metric] = change
    out = [Entry(reports[0], {}, path=paths[0])]
    for k in range(1, len(reports)):
        backend_changed = _digest(reports[k - 1]) != _digest(reports[k])
        out.append(Entry(reports[k], changes[k], backend_changed, paths[k], untested[k]))
    return out


def _tested(
    reports: list[RunReport], paths: list[Path], loaded: dict[int, LoadedRun], metric: str, ks: list[int]
) -> dict[int, ScoreChange]:
    """The changes k-1 -> k on `metric`, tested from the runs' statistics: every run of the
    series is resampled with the same draws (sacrebleu's, which depend only on the number
    of segments), so one set of resampled scores serves every neighbouring pair, each
    p-value as `compare_stats` gives it for that pair alone."""
    index = sorted({i for k in ks for i in (k - 1, k)})
    for i in index:  # each run's statistics read once, whatever metrics need it
        if i not in loaded:
            loaded[i] = LoadedRun(reports[i], paths[i])
    runs = [loaded[i] for i in index]
    if get(metric).model is not None:  # stored, or not at all (no model is loaded here)
        key = _stored_key(reports[index[-1]], metric)
        if any(key not in (r.stored or {}) for r in runs):
            return {}
    if len({len(r.report.segments) for r in runs}) != 1:
        return {}
    options = reports[index[-1]].config.get("metric_options") or {}
    try:
        stats = statistics_for(runs, [metric], options)[0][metric]
    except UserError:
        return {}  # e.g. a model metric's statistics damaged: no change shown rather than a wrong one
    resampled = resampled_scores_many({metric: stats})[metric]
    at = {i: n for n, i in enumerate(index)}
    out = {}
    for k in ks:
        a, b = at[k - 1], at[k]
        delta = stats[b].score - stats[a].score
        untested = _same_output(reports[k - 1], reports[k]) or same_score(delta)
        p = None if untested else bootstrap_p(resampled, a, b, abs(delta))
        out[k] = ScoreChange(
            previous=stats[a].score,
            current=stats[b].score,
            delta=delta,
            p_bootstrap=p,
            significant=p is not None and p < ALPHA,
        )
    return out


def _digest(report: RunReport) -> str | None:
    return report.backend.fingerprint.get("digest")


# ---------------------------------------------------------------- leaderboard


@dataclass
class LeaderScore:
    score: ScoreRecord | None
    verdict: str  # "best", "tested", "same output", "same score", "not comparable: ...", "–"
    delta: float | None = None  # minus the best's
    p_bootstrap: float | None = None


@dataclass
class Leader:
    system: str
    entry: Entry  # the system's latest run on this test set and pair
    runs: int  # its runs on this test set and pair, every version
    scores: dict[str, LeaderScore] = field(default_factory=dict)


GroupKey = tuple[str, str, str]  # test set name, source, target


def leaderboard(
    history: dict[SeriesKey, list[Entry]], metrics: list[str] | None = None
) -> dict[GroupKey, list[Leader]]:
    """Per test set and pair: each system's latest run, against the best latest run on each
    metric (among the runs on the version of the group's newest run)."""
    groups: dict[GroupKey, dict[str, Leader]] = {}
    for (name, ts, _version, src, tgt), entries in sorted(history.items()):
        leaders = groups.setdefault((ts, src, tgt), {})
        latest = entries[-1]
        have = leaders.get(name)
        if have is None or _created(latest.report) > _created(have.entry.report):
            leaders[name] = Leader(name, latest, (have.runs if have else 0) + len(entries))
        else:
            have.runs += len(entries)
    out = {}
    for key, by_name in sorted(groups.items()):
        leaders = list(by_name.values())
        wanted = metrics or _metrics([x.entry.report for x in leaders])
        loaded: dict[str, LoadedRun] = {}  # run id -> the run with its statistics, read once
        for metric in wanted:
            _judge(leaders, metric, loaded)
        first = wanted[0] if wanted else None

        def rank(x: Leader, first=first) -> tuple:
            s = x.scores.get(first) if first else None
            if s is None or s.score is None:
                return (1, 0.0, x.system)
            return (0, -s.score.score if improves(first, 1.0) else s.score.score, x.system)

        out[key] = sorted(leaders, key=rank)
    return out


def _created(report: RunReport) -> tuple[str, str]:
    return report.created, report.run_id


def _metrics(reports: list[RunReport]) -> list[str]:
    heads = summary_metrics(reports)
    present = {m for r in reports for m in r.scores}
    return ordered_metrics([m for m in heads if m in present] or sorted(present))


def _judge(leaders: list[Leader], metric: str, loaded: dict[str, LoadedRun]) -> None:
    """Each leader's score on `metric` against the best's: tested together, every system
    on the same bootstrap draws as the best."""
    newest = max((x.entry.report for x in leaders), key=_created)
    version = newest.testset.version
    candidates = [
        x for x in leaders if metric in x.entry.report.scores and x.entry.report.testset.version == version
    ]
    for x in leaders:
        x.scores[metric] = LeaderScore(x.entry.report.scores.get(metric), "–")
    if not candidates:
        return
    pick = max if improves(metric, 1.0) else min
    best = pick(candidates, key=lambda x: x.entry.report.scores[metric].score)
    best.scores[metric].verdict = "best"
    b = best.entry.report
    tested: list[Leader] = []
    for x in leaders:
        r = x.entry.report
        if x is best or metric not in r.scores:
            continue
        why = _not_comparable(b, r, metric)
        if why:
            x.scores[metric].verdict = f"not comparable: {why}"
            x.scores[metric].delta = None
            continue
        x.scores[metric].delta = r.scores[metric].score - b.scores[metric].score
        if _same_output(b, r):
            x.scores[metric].verdict = "same output"
        elif same_score(x.scores[metric].delta):
            x.scores[metric].verdict = "same score"
        else:
            tested.append(x)
    if not tested:
        return
    for y in [best, *tested]:
        if y.entry.report.run_id not in loaded:
            loaded[y.entry.report.run_id] = LoadedRun(y.entry.report, y.entry.path)
    runs = [loaded[y.entry.report.run_id] for y in [best, *tested]]
    if get(metric).model is not None:
        key = _stored_key(b, metric)
        if any(key not in (run.stored or {}) for run in runs):
            for x in tested:
                x.scores[metric].verdict = "not comparable: statistics not stored"
            return
    try:
        stats = statistics_for(runs, [metric], b.config.get("metric_options") or {})[0][metric]
    except UserError as exc:
        for x in tested:
            x.scores[metric].verdict = f"not comparable: {exc}"
        return
    resampled = resampled_scores_many({metric: stats})[metric]
    for k, x in enumerate(tested, start=1):
        delta = stats[k].score - stats[0].score
        x.scores[metric].delta = delta
        x.scores[metric].p_bootstrap = bootstrap_p(resampled, 0, k, abs(delta))
        x.scores[metric].verdict = "tested"


def _not_comparable(best: RunReport, run: RunReport, metric: str) -> str:
    if run.testset.version != best.testset.version:
        return f"test set version {run.testset.version}, the best's is {best.testset.version}"
    if [s.id for s in run.segments] != [s.id for s in best.segments]:
        return "other segments"
    if not same_signature(best, run, metric):
        return "scored with another signature"
    if get(metric).model is not None and _stored_key(run, metric) != _stored_key(best, metric):
        return "statistics not stored"
    return ""


# ---------------------------------------------------------------- page


def _change(metric: str, c: ScoreChange | None) -> Cell:
    if c is None:
        return Cell(text="–", tone="muted")
    if c.p_bootstrap is None:
        return Cell(text="= same output", sort=0.0, tone="muted")
    star = "*" if c.significant else ""
    tone = "" if not c.significant else ("good" if improves(metric, c.delta) else "bad")
    return Cell(text=f"{c.delta:+.2f}{star} ({p_value(c.p_bootstrap)})", sort=c.delta, tone=tone)


def _versus_best(metric: str, s: LeaderScore) -> Cell:
    if s.verdict == "best":
        return Cell(text="best", tone="good")
    if s.verdict == "–" or s.verdict.startswith("not comparable"):
        return Cell(text=s.verdict, tone="muted")
    if s.p_bootstrap is None:
        return Cell(text=f"{s.delta:+.2f} ({s.verdict})", sort=s.delta, tone="muted")
    significant = s.p_bootstrap < ALPHA
    tone = "" if not significant else ("good" if improves(metric, s.delta) else "bad")
    star = "*" if significant else ""
    return Cell(text=f"{s.delta:+.2f}{star} ({p_value(s.p_bootstrap)})", sort=s.delta, tone=tone)


def _commit(report: RunReport) -> str:
    return (report.harness.get("git_commit") or "")[:10]


def leaderboard_table(board: dict[GroupKey, list[Leader]]) -> Table:
    metrics = ordered_metrics(
        list(dict.fromkeys(m for leaders in board.values() for x in leaders for m in x.scores))
    )
    rows = []
    for (ts, src, tgt), leaders in board.items():
        for x in leaders:
            r = x.entry.report
            rows.append(
                [
                    Cell(text=x.system),
                    Cell(text=f"{ts}@{r.testset.version} {src}-{tgt}"),
                    *(Cell.score(x.scores[m].score) if m in x.scores else Cell.of(None) for m in metrics),
                    *(_versus_best(m, x.scores[m]) if m in x.scores else Cell.of(None) for m in metrics),
                    Cell(text=r.run_id),  # its time is in its id
                    Cell(text=_commit(r) or "–", tone="" if _commit(r) else "muted"),
                    Cell.of(x.runs),
                ]
            )
    return Table(
        id="leaderboard",
        title="Leaderboard: each system's latest run",
        columns=[
            "system",
            "test set, pair",
            *(f"{display(m)} (95% interval)" for m in metrics),
            *(f"Δ {display(m)} vs best" for m in metrics),
            "latest run",
            "commit",
            "runs",
        ],
        rows=rows,
        sortable=True,
        note=(
            "Per test set and pair, best first on the first metric. Δ vs best: this run's score minus the best latest "
            "run's on the same metric, with a paired bootstrap p-value from the two runs' stored statistics "
            f"(* p < {ALPHA}); runs on another test-set version, other segments or another metric signature are not "
            "comparable with it."
        ),
    )


def _tooltip(system: str, metric: str, report: RunReport) -> str:
    sc = report.scores[metric]
    interval = f" [{sc.interval.low:.2f}, {sc.interval.high:.2f}]" if sc.interval else ""
    commit = f", commit {_commit(report)}" if _commit(report) else ""
    return f"{system}: {display(metric)} {sc.score:.2f}{interval}; {report.run_id}, {report.created[:19]} UTC{commit}"


def _seconds(report: RunReport) -> float:
    try:
        created = dt.datetime.fromisoformat(report.created)
    except ValueError:
        return 0.0
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    return created.timestamp()


def timeline_charts(
    history: dict[SeriesKey, list[Entry]], board: dict[GroupKey, list[Leader]]
) -> list[Chart]:
    """One chart per test set, pair and metric: every series overlaid at its runs' times."""
    charts = []
    for g, (ts, src, tgt) in enumerate(board):
        keys = [k for k in sorted(history) if (k[1], k[3], k[4]) == (ts, src, tgt)]
        versions = {k[2] for k in keys}
        metrics = ordered_metrics(list(dict.fromkeys(m for x in board[(ts, src, tgt)] for m in x.scores)))
        for metric in metrics:
            series = []
            for key in keys:
                entries = [e for e in history[key] if metric in e.report.scores]
                if not entries:
                    continue
                scores = [e.report.scores[metric] for e in entries]
                label = key[0] if len(versions) == 1 else f"{key[0]} (@{key[2]})"
                series.append(
                    Series(
                        label=label,
                        values=[s.score for s in scores],
                        low=[s.interval.low if s.interval else None for s in scores],
                        high=[s.interval.high if s.interval else None for s in scores],
                        x=[_seconds(e.report) for e in entries],
                        points=[_tooltip(label, metric, e.report) for e in entries],
                    )
                )
            if series:
                charts.append(
                    Chart(
                        id=f"timeline-{g}-{metric}",
                        title=f"{display(metric)} over time: {ts}, {src}-{tgt}",
                        chart="timeline",
                        categories=[],
                        series=series,
                        x_title="run time (UTC)",
                        y_title=display(metric),
                        note="Each point is a run (its id, time and harness commit in the tooltip); bands are 95% "
                        "bootstrap intervals.",
                    )
                )
    return charts


def series_tables(history: dict[SeriesKey, list[Entry]]) -> list[Table]:
    tables = []
    for k, (key, entries) in enumerate(sorted(history.items())):
        name, ts, version, src, tgt = key
        heads = summary_metrics([e.report for e in entries])
        metrics = ordered_metrics(
            [m for m in entries[-1].report.scores if m in heads] or list(entries[-1].report.scores)
        )
        rows = []
        for n, e in enumerate(entries):
            r = e.report
            terms = r.terminology or {}
            rows.append(
                [
                    Cell(text=r.run_id),
                    Cell(text=_commit(r) or "–", tone="" if _commit(r) else "muted"),
                    *(Cell.score(r.scores.get(m)) for m in metrics),
                    *(_entry_change(e, m) if n else Cell(text="first run", tone="muted") for m in metrics),
                    Cell.pct(terms.get("term_accuracy")),
                    Cell.of(terms.get("counts", {}).get("drift") if terms else None),
                    Cell(
                        text="changed" if e.backend_changed else "", tone="bad" if e.backend_changed else ""
                    ),
                ]
            )
        tables.append(
            Table(
                id=f"series-{k}",
                title=f"{name}: {ts}@{version}, {src} → {tgt}",
                columns=[
                    "run",
                    "commit",
                    *(display(m) for m in metrics),
                    *(f"Δ {display(m)} vs previous" for m in metrics),
                    "term accuracy",
                    "term drift flags",
                    "backend",
                ],
                rows=rows,
                group=f"{name} {ts}@{version} {src}-{tgt}",
                note=(
                    "Δ against the run before, with its paired bootstrap p-value; * marks a significant change "
                    "(p < 0.05); 'p not computed': an older change the run recorded no test of (see the notes at "
                    "the end). Backend 'changed': another fingerprint (model, options or code)."
                ),
            )
        )
    return tables


def _entry_change(e: Entry, metric: str) -> Cell:
    if metric in e.untested:
        delta = e.untested[metric]
        return Cell(text=f"{delta:+.2f} (p not computed)", sort=delta, tone="muted")
    return _change(metric, e.changes.get(metric))


def history_page(
    history: dict[SeriesKey, list[Entry]], runs_root: str, system: str | None = None, pair: str | None = None
) -> Page:
    board = leaderboard(history)
    sections: list[Section] = []
    if history:
        sections.append(leaderboard_table(board))
        sections += timeline_charts(history, board)
        sections += series_tables(history)
        sections.append(
            Notes(
                id="history-notes",
                title="How this was computed",
                lines=[
                    "Series: runs of one system name on one test-set version and language pair, oldest first.",
                    "Δ vs previous: from the drift record each run wrote when it was made (a paired bootstrap on "
                    f"its statistics); without one, tested from the stored statistics for the last {RECOMPUTED} "
                    "changes of a series, older ones shown with 'p not computed'.",
                    "Δ vs best: paired bootstrap (1000 resamples, sacrebleu's draws) of each latest run against the "
                    "best latest run of its test set and pair, from the stored statistics.",
                ],
            )
        )
    else:
        what = " of system " + repr(system) if system else ""
        what += f" on {pair}" if pair else ""
        sections.append(Notes(id="history", title="History", lines=[f"No runs{what}."]))
    runs = sum(len(v) for v in history.values())
    title = "Score history" + (f": {system}" if system else "") + (f" ({pair})" if pair else "")
    return Page(
        kind="history",
        title=title,
        facts=[
            Fact(label="runs", value=f"{runs_root} ({runs} runs)"),
            Fact(label="series", value=f"{len(history)} (system, test-set version, pair)"),
        ],
        filter="filter by system, test set or pair (e.g. hi-sv)" if history else "",
        sections=sections,
    )
