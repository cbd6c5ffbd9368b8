"""Data records for scripts and notebooks: what `runs show`, `compare` and `runs history`
print with `--format json`, and what the Python API (`evalharness.api`) returns.

The pages (`view.py`) are made for people: their cells hold display text ("± 0.83",
"< 0.001"). These records hold the numbers themselves, as numbers, with the same names
everywhere. They are versioned (`schema_version`); `schemas/*.v1.json` are their JSON
Schemas, generated from these models (`python -m evalharness.reports.records schemas`),
and a test keeps the committed files equal to what the models give. A field is added in a
compatible way within a version; a change a reader would trip over gets a new version."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

if TYPE_CHECKING:
    import pandas

    from evalharness.metrics.significance import AllPairs
    from evalharness.reports.compare import Comparison, MetricRow
    from evalharness.reports.history import Entry
    from evalharness.reports.schema import IntervalRecord, RunReport

RECORD_SCHEMA_VERSION = 1
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

Verdict = Literal["baseline", "better", "worse", "no measurable difference", "same score", "identical output"]


def pandas_module():
    """pandas, which only `to_pandas()` needs (it is not a dependency of evalharness)."""
    try:
        import pandas
    except ImportError as exc:
        raise ImportError(
            "to_pandas() needs pandas, which is not installed: `pip install pandas` "
            "(to_dict() gives the same data without it)"
        ) from exc
    return pandas


class Record(BaseModel):
    """The base of every data record: strict (no unknown fields, finite numbers)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (what `--format json` prints)."""
        return self.model_dump(mode="json")


# ---------------------------------------------------------------- shared parts


class Interval(Record):
    """A 95% bootstrap interval (sacrebleu's: the 2.5th and 97.5th percentiles of the
    resampled scores; `half_width` is half the distance between them)."""

    low: float
    high: float
    half_width: float

    @classmethod
    def of(cls, interval: IntervalRecord | Any | None) -> Interval | None:
        """From a stored IntervalRecord or a computed `scoring.Interval`."""
        if interval is None:
            return None
        return cls(low=interval.low, high=interval.high, half_width=interval.half_width)


class TestSetInfo(Record):
    """The segments scored: a test set's name and content version, and the language pair."""

    name: str
    version: str
    src_lang: str
    tgt_lang: str
    pair: str = Field(description="SRC-TGT, as --pair takes it")

    __test__ = False  # not a pytest class

    @classmethod
    def of(cls, report: RunReport) -> TestSetInfo:
        ts = report.testset
        return cls(
            name=ts.name,
            version=ts.version,
            src_lang=ts.src_lang,
            tgt_lang=ts.tgt_lang,
            pair=f"{ts.src_lang}-{ts.tgt_lang}",
        )


# ---------------------------------------------------------------- one run


class RunScore(Record):
    score: float
    interval: Interval | None = Field(None, description="95% bootstrap interval; null when run with --no-ci")
    signature: str = Field(description="sacrebleu-style signature: how the score was computed")
    detectable_difference: float | None = Field(
        None, description="about the smallest difference between two systems this test set resolves (95%)"
    )
    document_interval: Interval | None = Field(
        None, description="run --resample both: the interval with whole documents drawn"
    )
    document_score: float | None = Field(
        None, description="test sets with documents: each document's segments joined and scored as one"
    )


class DocumentScore(Record):
    id: str
    segments: int
    scores: dict[str, float] = Field(description="metric -> this document's segments scored as one segment")


class Sanity(Record):
    segments: int
    copy_rate: float = Field(description="share of hypotheses that copy the source")
    wrong_language_rate: float = Field(description="share of checked hypotheses in another language")
    wrong_language_checked: int
    length_ratio: float = Field(description="hypothesis length over reference length")
    empty_rate: float


class Terminology(Record):
    glossary: str
    term_accuracy: float | None
    consistency: float | None
    occurrences: int
    counts: dict[str, int] = Field(description="flag kind -> how many")
    success_rate: float | None = None


class SegmentRow(Record):
    id: str
    doc: str | None = None
    source: str
    references: list[str]
    hypothesis: str
    scores: dict[str, float] = Field(description="metric -> sentence-level score")
    flags: list[str] = Field(default_factory=list)


class RunRecord(Record):
    """One run (`runs show RUN --format json`): its scores, sanity checks, terminology
    counts and every segment. `report` gives the whole stored RunReport in Python."""

    schema_version: Literal[1] = RECORD_SCHEMA_VERSION
    kind: Literal["run"] = "run"
    run_id: str
    created: str = Field(description="UTC, ISO 8601")
    system: str
    backend: str = Field(description="the backend spec, e.g. marian:Helsinki-NLP/opus-mt-sv-en")
    backend_digest: str | None = Field(None, description="the backend's fingerprint digest")
    testset: TestSetInfo
    scores: dict[str, RunScore]
    documents: list[DocumentScore] | None = Field(None, description="test sets with two or more documents")
    sanity: Sanity
    terminology: Terminology | None = None
    segments: list[SegmentRow]

    _report: RunReport | None = PrivateAttr(default=None)

    @property
    def report(self) -> RunReport:
        """The stored report this record was made from (every field of report.json)."""
        if self._report is None:
            raise AttributeError("this record was not made from a report (it was read from JSON)")
        return self._report

    def to_pandas(self, segments: bool = False) -> pandas.DataFrame:
        """One row per metric; with `segments`, one row per segment and a column per metric."""
        pd = pandas_module()
        if segments:
            return pd.DataFrame(
                [{"id": s.id, "doc": s.doc, **s.scores, "hypothesis": s.hypothesis} for s in self.segments]
            )
        return pd.DataFrame([_flat_score(m, s) for m, s in self.scores.items()])


def _flat_score(metric: str, s: RunScore) -> dict[str, Any]:
    iv = s.interval
    return {
        "metric": metric,
        "score": s.score,
        "low": iv.low if iv else None,
        "high": iv.high if iv else None,
        "half_width": iv.half_width if iv else None,
        "signature": s.signature,
    }


def run_record(report: RunReport) -> RunRecord:
    docs = report.document_scores
    scores = {
        m: RunScore(
            score=s.score,
            interval=Interval.of(s.interval),
            signature=s.signature,
            detectable_difference=s.detectable_difference,
            document_interval=Interval.of(s.document_interval),
            document_score=docs.scores.get(m) if docs else None,
        )
        for m, s in report.scores.items()
    }
    documents = (
        [
            DocumentScore(id=d, segments=n, scores={m: v[k] for m, v in docs.per_document.items()})
            for k, (d, n) in enumerate(zip(docs.documents, docs.segments, strict=True))
        ]
        if docs
        else None
    )
    terms = report.terminology
    record = RunRecord(
        run_id=report.run_id,
        created=report.created,
        system=report.backend.name,
        backend=report.backend.spec,
        backend_digest=report.backend.fingerprint.get("digest"),
        testset=TestSetInfo.of(report),
        scores=scores,
        documents=documents,
        sanity=Sanity(**{k: report.sanity[k] for k in Sanity.model_fields}),
        terminology=Terminology(
            glossary=terms["glossary"],
            term_accuracy=terms["term_accuracy"],
            consistency=terms["consistency"],
            occurrences=terms["occurrences"],
            counts=terms["counts"],
            success_rate=terms.get("success_rate"),
        )
        if terms
        else None,
        segments=[
            SegmentRow(
                id=s.id,
                doc=s.doc,
                source=s.source,
                references=s.references,
                hypothesis=s.hypothesis,
                scores=s.scores,
                flags=s.flags,
            )
            for s in report.segments
        ],
    )
    record._report = report
    return record


# ---------------------------------------------------------------- comparisons


class RunRef(Record):
    system: str = Field(description="the system's name, unique within the comparison")
    run_id: str | None = Field(None, description="null for a comparison made in memory (the Python API)")
    backend: str | None = None


class ComparisonSettings(Record):
    bootstrap: int = Field(description="paired bootstrap resamples")
    ar_trials: int = Field(description="approximate randomisation trials (0: skipped)")
    correction: Literal["holm", "bonferroni", "none"] | None = Field(
        description="the all-pairs p-value correction; null when only the baseline's pairs were tested"
    )
    resample: Literal["segments", "documents"]


class ComparisonRow(Record):
    """One system on one metric, against the baseline (the first system)."""

    system: str
    run_id: str | None = None
    metric: str
    score: float
    interval: Interval | None = Field(
        None,
        description="95% bootstrap interval drawn as this comparison draws (the run's stored one when it "
        "was drawn the same way: same unit and resamples); null when not known",
    )
    half_width: float | None = Field(
        None,
        description="the 95% half-width under the comparison's draws (the interval's, when known; else "
        "the paired bootstrap's, and for the baseline its run's stored one)",
    )
    delta: float | None = Field(None, description="score minus the baseline's; null for the baseline")
    p_bootstrap: float | None = Field(
        None, description="paired bootstrap p-value; null for the baseline, identical output or score"
    )
    p_randomization: float | None = Field(None, description="approximate randomisation p-value")
    p_adjusted: float | None = Field(
        None, description="the all-pairs p-value against the baseline after correction (all pairs only)"
    )
    detectable_difference: float | None = None
    verdict: Verdict
    cluster: int | None = Field(
        None, description="1-based rank of the system's cluster, best first (all pairs only)"
    )


class PairCell(Record):
    a: str
    b: str
    delta: float = Field(description="score of b minus score of a")
    p_bootstrap: float
    p_randomization: float | None
    p_adjusted: float
    significant: bool


class PairsMatrix(Record):
    """Every system against every other on one metric, and WMT-style clusters."""

    metric: str
    test: str = Field(description="the test the adjusted p-values come from")
    correction: Literal["holm", "bonferroni", "none"]
    scores: dict[str, float]
    cells: list[PairCell]
    clusters: list[list[str]] = Field(description="systems, best cluster first")


class MovedSegment(Record):
    system: str
    id: str
    metric: str = Field(description="the sentence-level metric the change is measured on")
    delta: float
    source: str
    reference: str
    baseline: str = Field(description="the baseline's hypothesis")
    hypothesis: str = Field(description="this system's hypothesis")


class ComparisonRecord(Record):
    """Systems against the first (`compare ... --format json`, `evalharness.compare(...)`)."""

    schema_version: Literal[1] = RECORD_SCHEMA_VERSION
    kind: Literal["comparison"] = "comparison"
    testset: TestSetInfo | None = Field(None, description="null for a comparison made in memory")
    baseline: str = Field(description="the baseline's system name (runs[0])")
    runs: list[RunRef]
    settings: ComparisonSettings
    metrics: list[str]
    key_metric: str = Field(description="the sentence-level metric segments are ranked by")
    rows: list[ComparisonRow]
    pairs: dict[str, PairsMatrix] = Field(default_factory=dict, description="metric -> all pairs")
    moved: list[MovedSegment] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def row(self, system: str, metric: str) -> ComparisonRow:
        return next(r for r in self.rows if r.system == system and r.metric == metric)

    def to_pandas(self) -> pandas.DataFrame:
        """One row per system and metric."""
        pd = pandas_module()
        out = []
        for r in self.rows:
            d = r.model_dump(exclude={"interval"})
            d["low"], d["high"] = (r.interval.low, r.interval.high) if r.interval else (None, None)
            out.append(d)
        return pd.DataFrame(out)


def build_comparison(
    keys: Sequence[str],
    runs: Sequence[RunRef],
    rows: Sequence[MetricRow],
    all_pairs: Mapping[str, AllPairs],
    intervals: Mapping[tuple[str, str], Interval | None],
    settings: Mapping[str, Any],
    key_metric: str,
    moved: Sequence[MovedSegment] = (),
    notes: Sequence[str] = (),
    testset: TestSetInfo | None = None,
) -> ComparisonRecord:
    """The record from `compare_runs`'s parts (or the API's): `keys[i]` is how `rows` name
    system i (a run id, or a name in memory), `runs[i]` says who it is, `intervals` maps
    (key, metric) to its interval. Untested pairs (identical output or score) get no p-value."""
    names = dict(zip(keys, (r.system for r in runs), strict=True))
    index = {k: i for i, k in enumerate(keys)}
    out = []
    for row in rows:
        matrix = all_pairs.get(row.metric)
        i = index[row.run_id]
        cell = next((c for c in matrix.cells if (c.a, c.b) == (0, i)), None) if matrix else None
        tested = row.delta is not None and not row.untested
        interval = intervals.get((row.run_id, row.metric))
        out.append(
            ComparisonRow(
                system=names[row.run_id],
                run_id=runs[i].run_id,
                metric=row.metric,
                score=row.score,
                interval=interval,
                half_width=interval.half_width if interval else row.half_width,
                delta=row.delta,
                p_bootstrap=row.p_bootstrap if tested else None,
                p_randomization=row.p_randomization if tested else None,
                p_adjusted=cell.p_adjusted if cell and tested else None,
                detectable_difference=row.detectable,
                verdict=row.verdict,
                cluster=next(n for n, c in enumerate(matrix.clusters, 1) if i in c) if matrix else None,
            )
        )
    systems = [r.system for r in runs]
    return ComparisonRecord(
        testset=testset,
        baseline=systems[0],
        runs=list(runs),
        settings=ComparisonSettings(**{k: settings.get(k) for k in ComparisonSettings.model_fields}),
        metrics=list(dict.fromkeys(r.metric for r in rows)),
        key_metric=key_metric,
        rows=out,
        pairs={m: _pairs(matrix, systems) for m, matrix in all_pairs.items()},
        moved=list(moved),
        notes=list(notes),
    )


def _pairs(matrix: AllPairs, systems: Sequence[str]) -> PairsMatrix:
    return PairsMatrix(
        metric=matrix.metric,
        test=matrix.test,
        correction=matrix.correction,
        scores=dict(zip(systems, matrix.scores, strict=True)),
        cells=[
            PairCell(
                a=systems[c.a],
                b=systems[c.b],
                delta=c.delta,
                p_bootstrap=c.p_bootstrap,
                p_randomization=c.p_randomization,
                p_adjusted=c.p_adjusted,
                significant=c.significant,
            )
            for c in matrix.cells
        ],
        clusters=[[systems[i] for i in group] for group in matrix.clusters],
    )


def _stored_interval(report: RunReport, metric: str, settings: Mapping[str, Any]) -> Interval | None:
    """The run's stored interval when it was drawn as the comparison draws (same unit, same
    number of resamples; the seed is always sacrebleu's): then it is the comparison's own."""
    score = report.scores.get(metric)
    if score is None:
        return None
    stored_unit = report.config.get("resample", "segments")
    if settings.get("resample") == "documents":
        interval = score.interval if stored_unit == "documents" else score.document_interval
    else:
        interval = score.interval if stored_unit in ("segments", "both") else None
    if interval is None or interval.n_bootstrap != settings.get("bootstrap"):
        return None
    return Interval.of(interval)


def comparison_record(comp: Comparison) -> ComparisonRecord:
    from evalharness.reports.sections import labels

    reports = comp.reports
    names = labels(reports)
    runs = [
        RunRef(system=n, run_id=r.run_id, backend=r.backend.spec) for r, n in zip(reports, names, strict=True)
    ]
    by_id = {r.run_id: r for r in reports}
    name_of = {r.run_id: n for r, n in zip(reports, names, strict=True)}
    moved = [
        MovedSegment(
            system=name_of[run_id],
            id=d["id"],
            metric=d["metric"],
            delta=d["delta"],
            source=d["source"],
            reference=d["reference"],
            baseline=d["baseline"],
            hypothesis=d["system"],
        )
        for run_id, segments in comp.moved.items()
        for d in segments
    ]
    return build_comparison(
        keys=[r.run_id for r in reports],
        runs=runs,
        rows=comp.metrics,
        all_pairs=comp.all_pairs,
        intervals={
            (row.run_id, row.metric): _stored_interval(by_id[row.run_id], row.metric, comp.settings)
            for row in comp.metrics
        },
        settings=comp.settings,
        key_metric=comp.key_metric,
        moved=moved,
        notes=comp.notes,
        testset=TestSetInfo.of(reports[0]),
    )


# ---------------------------------------------------------------- history


class ScoreChange(Record):
    previous: float
    current: float
    delta: float = Field(description="current minus previous")
    p_bootstrap: float | None = Field(
        description="paired bootstrap p-value; null when the output is identical"
    )
    significant: bool


class EntryScore(Record):
    score: float
    interval: Interval | None = None


class HistoryEntry(Record):
    run_id: str
    created: str
    backend_changed: bool = Field(description="another backend fingerprint than the run before")
    scores: dict[str, EntryScore]
    changes: dict[str, ScoreChange] = Field(
        description="metric -> change against the run before (empty for the first)"
    )
    untested: dict[str, float] = Field(
        default_factory=dict,
        description="metric -> change against the run before whose p-value was not computed "
        "(older changes of a long series that no run recorded)",
    )
    term_accuracy: float | None = None
    term_drift: int | None = Field(None, description="terminology drift flags, with a glossary")


class HistorySeries(Record):
    """The runs of one system name on one test-set version and pair, oldest first."""

    system: str
    testset: TestSetInfo
    entries: list[HistoryEntry]


class HistoryRecord(Record):
    """Each system's scores over its runs (`runs history --format json`)."""

    schema_version: Literal[1] = RECORD_SCHEMA_VERSION
    kind: Literal["history"] = "history"
    system: str | None = Field(None, description="the --system filter, if any")
    series: list[HistorySeries]

    def to_pandas(self) -> pandas.DataFrame:
        """One row per run and metric."""
        pd = pandas_module()
        out = []
        for s in self.series:
            for e in s.entries:
                for m, sc in e.scores.items():
                    change = e.changes.get(m)
                    out.append(
                        {
                            "system": s.system,
                            "testset": s.testset.name,
                            "version": s.testset.version,
                            "pair": s.testset.pair,
                            "run_id": e.run_id,
                            "created": e.created,
                            "metric": m,
                            "score": sc.score,
                            "half_width": sc.interval.half_width if sc.interval else None,
                            "delta": change.delta if change else None,
                            "p_bootstrap": change.p_bootstrap if change else None,
                            "backend_changed": e.backend_changed,
                        }
                    )
        return pd.DataFrame(out)


def history_record(history: Mapping[tuple, Sequence[Entry]], system: str | None = None) -> HistoryRecord:
    """From `history.load_history`: series sorted as the page sorts them."""
    series = []
    for _key, entries in sorted(history.items()):
        first = entries[0].report
        series.append(
            HistorySeries(
                system=first.backend.name,
                testset=TestSetInfo.of(first),
                entries=[_entry(e) for e in entries],
            )
        )
    return HistoryRecord(system=system, series=series)


def _entry(e: Entry) -> HistoryEntry:
    r, terms = e.report, e.report.terminology
    return HistoryEntry(
        run_id=r.run_id,
        created=r.created,
        backend_changed=e.backend_changed,
        scores={m: EntryScore(score=s.score, interval=Interval.of(s.interval)) for m, s in r.scores.items()},
        changes={m: ScoreChange(**c.model_dump()) for m, c in e.changes.items()},
        untested=dict(getattr(e, "untested", {})),
        term_accuracy=terms.get("term_accuracy") if terms else None,
        term_drift=terms.get("counts", {}).get("drift") if terms else None,
    )


# ---------------------------------------------------------------- JSON Schemas

SCHEMA_FILES: dict[str, type[Record]] = {
    "run.v1.json": RunRecord,
    "comparison.v1.json": ComparisonRecord,
    "history.v1.json": HistoryRecord,
}


def json_schemas() -> dict[str, dict]:
    """File name -> the JSON Schema of its record, as committed under schemas/."""
    return {
        name: {"$schema": JSON_SCHEMA_DIALECT, **model.model_json_schema()}
        for name, model in SCHEMA_FILES.items()
    }


def schema_text(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    """Regenerate the committed schema files (after a change to a record)."""
    from evalharness.fileio import write_text_atomic

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        write_text_atomic(folder / name, schema_text(schema))
        written.append(folder / name)
    return written


if __name__ == "__main__":  # python -m evalharness.reports.records [FOLDER]: regenerate schemas/
    args = sys.argv[1:]
    if args and (args[0].startswith("-") or len(args) > 1):
        sys.exit("usage: python -m evalharness.reports.records [FOLDER]  (default: schemas)")
    for path in write_schemas(Path(args[0] if args else "schemas")):
        print(path)
