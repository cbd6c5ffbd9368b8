"""Runs side by side: each metric with its interval, the difference to the first run (the
baseline) with paired bootstrap and approximate-randomisation p-values, the segments that
moved most, terminology flags that appeared or were resolved, and sanity-check changes."""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field

from evalharness.errors import UserError
from evalharness.metrics.registry import get, metric_ids, segment_metric, signature_key
from evalharness.metrics.significance import ALPHA, AllPairs, compare_many
from evalharness.reports.render import md_escape
from evalharness.reports.schema import RunReport
from evalharness.reports.statistics import LoadedRun, statistics_for


@dataclass
class MetricRow:
    metric: str
    run_id: str
    score: float
    half_width: float | None
    delta: float | None = None
    p_bootstrap: float | None = None
    p_randomization: float | None = None
    detectable: float | None = None

    @property
    def significant(self) -> bool | None:
        return None if self.p_bootstrap is None else self.p_bootstrap < ALPHA


@dataclass
class Comparison:
    baseline: str
    runs: list[dict]
    metrics: list[MetricRow]
    moved: dict[str, list[dict]] = field(default_factory=dict)  # run id -> segments that gained/lost most
    terminology: dict[str, dict] = field(default_factory=dict)  # run id -> {appeared, resolved}
    sanity: dict[str, dict] = field(default_factory=dict)  # run id -> {check: (baseline, run)}
    notes: list[str] = field(default_factory=list)  # e.g. statistics computed, not read
    all_pairs: dict[str, AllPairs] = field(default_factory=dict)  # metric -> N x N significance

    def as_dict(self) -> dict:
        return asdict(self)


def check_comparable(reports: list[RunReport]) -> None:
    base = reports[0]
    for r in reports[1:]:
        if (r.testset.name, r.testset.version) != (base.testset.name, base.testset.version):
            raise UserError(
                f"run {r.run_id} was scored on {r.testset.name}@{r.testset.version}, the baseline {base.run_id} on "
                f"{base.testset.name}@{base.testset.version}: scores on different segments are not comparable"
            )
        if (r.testset.src_lang, r.testset.tgt_lang) != (base.testset.src_lang, base.testset.tgt_lang):
            raise UserError(
                f"run {r.run_id} is {r.testset.src_lang}-{r.testset.tgt_lang}, the baseline is "
                f"{base.testset.src_lang}-{base.testset.tgt_lang}: different language pairs are not comparable"
            )
        if [s.id for s in r.segments] != [s.id for s in base.segments]:
            raise UserError(f"run {r.run_id} does not hold the same segments as the baseline {base.run_id}")
        for metric in set(base.scores) & set(r.scores):
            if signature_key(r.scores[metric].signature) != signature_key(base.scores[metric].signature):
                raise UserError(
                    f"{metric} signatures differ between {base.run_id} and {r.run_id} "
                    f"({base.scores[metric].signature} vs {r.scores[metric].signature}); rescore with the same settings"
                )


def _as_loaded(runs: list[LoadedRun | RunReport]) -> list[LoadedRun]:
    return [r if isinstance(r, LoadedRun) else LoadedRun(r) for r in runs]


def compare_runs(
    runs: list[LoadedRun | RunReport],
    metrics: list[str] | None = None,
    n_bootstrap: int = 1000,
    n_ar: int = 10_000,
    top: int = 5,
    pairs: bool = False,
    correction: str = "holm",
) -> Comparison:
    """Every run against the first; with `pairs`, also every run against every other."""
    loaded = _as_loaded(runs)
    if len(loaded) < 2:
        raise UserError("compare needs at least two runs (the first is the baseline)")
    reports = [r.report for r in loaded]
    check_comparable(reports)
    base = reports[0]
    if not base.segments:
        raise UserError(f"run {base.run_id} has no segments: nothing to compare")
    metrics = metrics or [m for m in base.scores if all(m in r.scores for r in reports)]
    if not metrics:
        raise UserError("the runs share no scored metric; name one with --metrics")
    all_stats, notes = statistics_for(loaded, metrics)
    results, matrices = compare_many(all_stats, n_bootstrap, n_ar, every_pair=pairs, correction=correction)
    rows: list[MetricRow] = []
    for metric in metrics:
        b = base.scores.get(metric)
        rows.append(
            MetricRow(
                metric,
                base.run_id,
                all_stats[metric][0].score,
                b.interval.half_width if b and b.interval else None,
                detectable=b.detectable_difference if b else None,
            )
        )
        for r, res in zip(reports[1:], results[metric], strict=True):
            rows.append(
                MetricRow(
                    metric,
                    r.run_id,
                    res.system,
                    res.half_width,
                    res.delta,
                    res.p_bootstrap,
                    res.p_randomization,
                    r.scores[metric].detectable_difference if metric in r.scores else None,
                )
            )
    comp = Comparison(
        baseline=base.run_id,
        runs=[{"run_id": r.run_id, "system": r.backend.name, "spec": r.backend.spec} for r in reports],
        metrics=rows,
        notes=notes,
        all_pairs=matrices,
    )
    key_metric = segment_metric([m for m in metric_ids() if m in base.scores] or metrics)
    for r in reports[1:]:
        comp.moved[r.run_id] = _moved(base, r, key_metric, top)
        comp.terminology[r.run_id] = _term_changes(base, r)
        comp.sanity[r.run_id] = {
            k: (base.sanity.get(k), r.sanity.get(k))
            for k in ("copy_rate", "wrong_language_rate", "length_ratio", "empty_rate")
            if base.sanity.get(k) != r.sanity.get(k)
        }
    return comp


def _moved(base: RunReport, run: RunReport, metric: str, top: int) -> list[dict]:
    diffs = []
    for a, b in zip(base.segments, run.segments, strict=True):
        if metric in a.scores and metric in b.scores:
            diffs.append(
                {
                    "id": a.id,
                    "delta": b.scores[metric] - a.scores[metric],
                    "metric": metric,
                    "source": a.source,
                    "reference": a.references[0] if a.references else "",
                    "baseline": a.hypothesis,
                    "system": b.hypothesis,
                }
            )
    diffs.sort(key=lambda d: d["delta"])
    losers = [d for d in diffs[:top] if d["delta"] < 0]
    gainers = [d for d in reversed(diffs[-top:]) if d["delta"] > 0]
    return gainers + losers


def _flag_keys(report: RunReport) -> set[tuple]:
    flags = (report.terminology or {}).get("flags", [])
    return {(f["segment_id"], f["concept"], f["kind"], f["found"]) for f in flags if f["kind"] != "drift"}


def _term_changes(base: RunReport, run: RunReport) -> dict:
    a, b = _flag_keys(base), _flag_keys(run)

    def as_dicts(keys):
        return [dict(zip(("segment_id", "concept", "kind", "found"), k, strict=True)) for k in sorted(keys)]

    return {"appeared": as_dicts(b - a), "resolved": as_dicts(a - b)}


# ---------------------------------------------------------------- rendering


def _p(p: float | None) -> str:
    return "–" if p is None else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def _verdict(row: MetricRow) -> str:
    if row.delta is None:
        return "baseline"
    if abs(row.delta) < 1e-9:
        return "identical score"
    better = get(row.metric).better(row.delta)
    if not row.significant:
        return "no measurable difference"
    return "better" if better else "worse"


def render_text(comp: Comparison, markdown: bool = False) -> str:
    names = {r["run_id"]: r["system"] for r in comp.runs}
    esc = md_escape if markdown else (lambda s: str(s))
    header = ["metric", "run", "system", "score ± 95%", "Δ vs baseline", "p (bootstrap)", "p (AR)", "verdict"]
    rows = []
    for m in comp.metrics:
        hw = f" ± {m.half_width:.2f}" if m.half_width is not None else ""
        delta = "" if m.delta is None else f"{m.delta:+.2f}"
        rows.append(
            [
                m.metric,
                m.run_id,
                names[m.run_id],
                f"{m.score:.2f}{hw}",
                delta,
                _p(m.p_bootstrap),
                _p(m.p_randomization),
                _verdict(m),
            ]
        )
    out: list[str] = []
    if markdown:
        out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    else:
        out += _table([header, *rows])
    for note in comp.notes:
        out.append(f"{'- ' if markdown else ''}note: {esc(note)}")
    for matrix in comp.all_pairs.values():
        out += ["", *_pairs_lines(matrix, [names[r["run_id"]] for r in comp.runs], markdown)]
    for run_id, moved in comp.moved.items():
        out += [
            "",
            f"{'### ' if markdown else ''}segments that moved most ({esc(names[run_id])} vs baseline)",
        ]
        for d in moved:
            out.append(
                f"{'- ' if markdown else '  '}{esc(d['id'])} {d['metric']} {d['delta']:+.1f}: {esc(d['system'][:80])}  (baseline: {esc(d['baseline'][:60])})"
            )
        terms = comp.terminology.get(run_id, {})
        if terms.get("appeared") or terms.get("resolved"):
            out.append(
                f"{'- ' if markdown else '  '}terminology: {len(terms['appeared'])} flags appeared, {len(terms['resolved'])} resolved"
            )
            for f in terms["appeared"][:10]:
                out.append(
                    f"{'  - ' if markdown else '    + '}{esc(f['segment_id'])} {esc(f['kind'])} {esc(f['concept'])}: {esc(f['found'])}"
                )
        for check, (a, b) in comp.sanity.get(run_id, {}).items():
            out.append(f"{'- ' if markdown else '  '}{check}: {a:.2f} -> {b:.2f}")
    return "\n".join(out) + "\n"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(x[i])) for x in rows) for i in range(len(rows[0]))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(x, widths, strict=True)).rstrip() for x in rows]


CORRECTION_NAMES = {"holm": "Holm-Bonferroni", "bonferroni": "Bonferroni", "none": "no"}


def pairs_caption(matrix: AllPairs) -> str:
    return (
        f"all pairs, {matrix.metric}: row minus column, {matrix.test} p-value with "
        f"{CORRECTION_NAMES[matrix.correction]} correction over {len(matrix.cells)} pairs; "
        f"* = significant at {ALPHA}"
    )


def _pairs_lines(matrix: AllPairs, names: list[str], markdown: bool) -> list[str]:
    """The N x N matrix (row minus column, adjusted p) and the clusters, best first."""
    esc = md_escape if markdown else (lambda s: str(s))
    labels = [f"{chr(65 + i) if i < 26 else i}" for i in range(len(names))]
    cell = {(c.a, c.b): c for c in matrix.cells}
    rows = [["", "system", matrix.metric, *labels]]
    for i, name in enumerate(names):
        row = [labels[i], esc(name), f"{matrix.scores[i]:.2f}"]
        for j in range(len(names)):
            c = cell.get((min(i, j), max(i, j)))
            if c is None:
                row.append("–")
                continue
            delta = c.delta if i > j else -c.delta  # c.delta is score[b] - score[a], a < b
            row.append(f"{delta:+.2f} p={_p(c.p_adjusted)}{'*' if c.significant else ''}")
        rows.append(row)
    groups = " > ".join("{" + ", ".join(labels[i] for i in group) + "}" for group in matrix.clusters)
    head = f"{'### ' if markdown else ''}{pairs_caption(matrix)}"
    if markdown:
        table = ["| " + " | ".join(r) + " |" for r in rows]
        table.insert(1, "|" + "---|" * len(rows[0]))
    else:
        table = _table(rows)
    return [
        head,
        *table,
        f"clusters, best first (every system left of '>' is significantly different from every system right of it): {groups}",
    ]


def render_html(comp: Comparison) -> str:
    e = html.escape
    names = {r["run_id"]: r["system"] for r in comp.runs}
    rows = "".join(
        f"<tr><td>{e(m.metric)}</td><td>{e(m.run_id)}</td><td>{e(names[m.run_id])}</td><td>{m.score:.2f}"
        f"{'' if m.half_width is None else f' ± {m.half_width:.2f}'}</td><td>{'' if m.delta is None else f'{m.delta:+.2f}'}</td>"
        f"<td>{_p(m.p_bootstrap)}</td><td>{_p(m.p_randomization)}</td><td>{e(_verdict(m))}</td></tr>"
        for m in comp.metrics
    )
    moved = "".join(
        f"<h3>Segments that moved most: {e(names[run_id])}</h3><table><tr><th>id</th><th>Δ</th><th>source</th><th>reference</th><th>baseline</th><th>system</th></tr>"
        + "".join(
            f"<tr><td>{e(d['id'])}</td><td>{d['delta']:+.1f}</td><td>{e(d['source'])}</td><td>{e(d['reference'])}</td>"
            f"<td>{e(d['baseline'])}</td><td>{e(d['system'])}</td></tr>"
            for d in ds
        )
        + "</table>"
        for run_id, ds in comp.moved.items()
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>evalharness comparison</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:2px 6px}table{border-collapse:collapse}</style>"
        f"</head><body><h1>Comparison against {e(comp.baseline)}</h1><table><tr><th>metric</th><th>run</th><th>system</th>"
        f"<th>score ± 95%</th><th>Δ</th><th>p (bootstrap)</th><th>p (AR)</th><th>verdict</th></tr>{rows}</table>{moved}</body></html>\n"
    )


def render(comp: Comparison, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(comp.as_dict(), ensure_ascii=False, indent=1) + "\n"
    if fmt == "html":
        return render_html(comp)
    if fmt in ("text", "md"):
        return render_text(comp, markdown=fmt == "md")
    raise UserError(f"unknown format {fmt!r} (text, md, json or html)")
