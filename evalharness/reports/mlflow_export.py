"""Run reports into MLflow experiment tracking (`evalharness export mlflow`, and `eval` with an
`[mlflow]` table in eval.toml): one MLflow run per evalharness run, so that scores can sit
beside the training runs a team already tracks there. The report stays the record; MLflow
gets a copy: its parameters (backend, test set, options), its numbers (scores, intervals,
sanity, terminology) and its files (report.json, the run page, the segment table).

MLflow is an optional extra (`pip install 'evalharness[mlflow]'`), imported only here and only
when an export is asked for. Exporting is idempotent: each MLflow run carries our run id as a
tag, and a run already exported (and finished) is skipped, never logged twice."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evalharness.errors import UserError
from evalharness.reports.schema import RunReport
from evalharness.reports.sections import ordered_metrics
from evalharness.reports.statistics import LoadedRun
from evalharness.reports.tables import csv_text

INSTALL_HINT = "pip install 'evalharness[mlflow]'"
DEFAULT_EXPERIMENT = "evalharness"
RUN_ID_TAG = "evalharness.run_id"  # what makes an export idempotent
# MLflow's limits (mlflow.utils.validation): keys, parameter values, entities per log_batch.
MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_PARAMS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
_TRUNCATED = "…[truncated]"
# Keys may hold letters, digits, _ - . space and /; we leave out / (it nests in the UI) and
# the colon (refused on Windows), and spell chrF++'s plus signs as "p" (chrfpp).
_BAD_KEY_CHARS = re.compile(r"[^A-Za-z0-9_.\- ]")


class MlflowSettings(BaseModel):
    """Where runs are exported: eval.toml's `mlflow = { tracking_uri = "...", experiment = "..." }`
    and the `export mlflow` options. No tracking URI: MLflow's own default (MLFLOW_TRACKING_URI,
    else `sqlite:///mlflow.db` in the working folder)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tracking_uri: str | None = Field(default=None, min_length=1)
    experiment: str = Field(default=DEFAULT_EXPERIMENT, min_length=1, max_length=500)


@dataclass(frozen=True)
class Exported:
    """What became of one evalharness run: exported now, or found already exported."""

    run_id: str  # ours
    mlflow_run_id: str
    status: Literal["exported", "already exported"]
    experiment: str

    def line(self) -> str:
        if self.status == "exported":
            return (
                f"{self.run_id}: exported to MLflow run {self.mlflow_run_id} (experiment {self.experiment})"
            )
        return (
            f"{self.run_id}: already in MLflow as run {self.mlflow_run_id} (experiment "
            f"{self.experiment}); not exported again"
        )


def require_mlflow():
    """The mlflow module, or one line saying how to install it (checked before any work, so
    that `eval` with an [mlflow] table fails before it translates anything)."""
    try:
        import mlflow
        from mlflow.tracking import MlflowClient  # noqa: F401  (the client we use)
    except ImportError as exc:
        raise UserError(f"MLflow is not installed ({exc}): {INSTALL_HINT}") from None
    return mlflow


# --- what is logged (pure functions: no MLflow needed to compute them) ---


def mlflow_key(name: str) -> str:
    """A name as an MLflow parameter or metric key: only the characters MLflow accepts on
    every system, at most 250 of them, never a path that normalises to another name."""
    key = _BAD_KEY_CHARS.sub("_", name.replace("+", "p")).strip(" ")
    key = key[:MAX_KEY]
    return key if key.strip(".") else f"_{key}"


def param_value(value: Any) -> str:
    """A parameter as MLflow stores it (a string of at most 6000 characters): strings as they
    are, other values as JSON (true, 1.5, [..]), a longer value cut with a visible mark."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    if len(text) > MAX_PARAM_VALUE:
        text = text[: MAX_PARAM_VALUE - len(_TRUNCATED)] + _TRUNCATED
    return text


def flatten(prefix: str, value: Any) -> dict[str, Any]:
    """Nested options as `prefix.key.subkey` entries (MLflow parameters are flat)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key in sorted(value, key=str):
            out.update(flatten(f"{prefix}.{key}", value[key]))
        return out
    return {prefix: value}


def _unique_keys(entries: dict[str, Any]) -> dict[str, Any]:
    """Entries under MLflow keys; two names that become one key (a+b, a_b) keep both values."""
    out: dict[str, Any] = {}
    for name, value in entries.items():
        key = base = mlflow_key(name)
        n = 2
        while key in out:
            suffix = f"_{n}"
            key, n = base[: MAX_KEY - len(suffix)] + suffix, n + 1
        out[key] = value
    return out


def pair_of(report: RunReport) -> str:
    return f"{report.testset.src_lang}-{report.testset.tgt_lang}"


def run_name(report: RunReport) -> str:
    """The MLflow run's name: the system and the pair (what a person looks for in the list)."""
    return f"{report.backend.name[:200]} {pair_of(report)}"


def run_tags(report: RunReport) -> dict[str, str]:
    ts = report.testset
    return {
        RUN_ID_TAG: report.run_id,
        "evalharness.system": param_value(report.backend.name),
        "evalharness.testset": param_value(f"{ts.name}@{ts.version}"),
        "evalharness.pair": pair_of(report),
    }


def run_params(report: RunReport) -> dict[str, str]:
    """How the run was made: backend, test set, pair, metrics and their options, backend
    options, the harness that ran it. Values are strings; an unknown value (no git commit) is
    left out rather than logged as a word that looks like one."""
    config = report.config
    ts = report.testset
    entries: dict[str, Any] = {
        "system": report.backend.name,
        "backend.spec": report.backend.spec,
        "backend.kind": report.backend.fingerprint["kind"],
        "backend.digest": report.backend.fingerprint["digest"],
        "testset": f"{ts.name}@{ts.version}",
        "testset.segments": ts.segments,
        "pair": pair_of(report),
        "metrics": ",".join(config["metrics"]),
        "ci": config["ci"],
        "resample": config.get("resample"),
        "unit": config.get("unit"),
        "harness.version": report.harness["version"],
        "harness.git_commit": report.harness["git_commit"],
        **flatten("metric_options", config["metric_options"]),
        **flatten("backend_options", config["backend_options"]),
    }
    return {k: param_value(v) for k, v in _unique_keys(entries).items() if v is not None}


def _interval_metrics(key: str, interval, tag: str = "") -> dict[str, float]:
    if interval is None:
        return {}
    return {
        f"{key}.{tag}low": interval.low,
        f"{key}.{tag}high": interval.high,
        f"{key}.{tag}half_width": interval.half_width,
    }


def run_metrics(report: RunReport) -> dict[str, float]:
    """The run's numbers: each corpus score with its interval (and the documents' interval
    where there is one) and what the test set can resolve; scores over whole documents;
    sanity rates; terminology accuracy and consistency when a glossary was checked."""
    entries: dict[str, float | None] = {}
    for metric in ordered_metrics(list(report.scores)):
        sc = report.scores[metric]
        entries[metric] = sc.score
        entries.update(_interval_metrics(metric, sc.interval))
        entries.update(_interval_metrics(metric, sc.document_interval, "documents."))
        entries[f"{metric}.detectable_difference"] = sc.detectable_difference
    if report.document_scores is not None:
        for metric, score in report.document_scores.scores.items():
            entries[f"documents.{metric}"] = score
    sanity = report.sanity
    for name in ("copy_rate", "wrong_language_rate", "empty_rate", "length_ratio"):
        entries[f"sanity.{name}"] = sanity[name]
    term = report.terminology
    if term is not None:
        entries["terminology.term_accuracy"] = term["term_accuracy"]
        entries["terminology.consistency"] = term["consistency"]
        entries["terminology.success_rate"] = term.get("success_rate")
    entries["translation.seconds"] = report.translation["seconds"]
    return {k: float(v) for k, v in _unique_keys(entries).items() if v is not None}


def segments_csv(report: RunReport) -> str:
    """The segment table as CSV: id, document, source, first reference, hypothesis, each
    metric's sentence score, flags (the run's own and the glossary's, as on the run page)."""
    metrics = ordered_metrics(sorted({m for seg in report.segments for m in seg.scores}))
    kinds: dict[str, set[str]] = {}
    for flag in (report.terminology or {}).get("flags", []):
        kinds.setdefault(flag["segment_id"], set()).add(flag["kind"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "doc", "source", "reference", "hypothesis", *metrics, "flags"])
    for seg in report.segments:
        flags = seg.flags + sorted(kinds.get(seg.id, set()))
        writer.writerow(
            [
                *map(
                    csv_text, (seg.id, seg.doc or "", seg.source, seg.references[0] if seg.references else "")
                ),
                csv_text(seg.hypothesis),
                *(repr(seg.scores[m]) if m in seg.scores else "" for m in metrics),
                ";".join(flags),
            ]
        )
    return out.getvalue()


def documents_csv(report: RunReport) -> str | None:
    """Each document's own scores (sets with documents), beside the segment table."""
    docs = report.document_scores
    if docs is None:
        return None
    metrics = ordered_metrics(list(docs.per_document))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["doc", "segments", *metrics])
    for i, (doc, n) in enumerate(zip(docs.documents, docs.segments, strict=True)):
        writer.writerow([csv_text(doc), n, *(repr(docs.per_document[m][i]) for m in metrics)])
    return out.getvalue()


def write_artifacts(run: LoadedRun, folder: Path) -> list[str]:
    """The files an MLflow run gets: report.json as stored (byte for byte when it came from
    disk), the run page rendered from it as report.html and report.md, segments.csv (and
    documents.csv for sets with documents). Returns their names."""
    from evalharness.fileio import dumps_json
    from evalharness.reports.formats import render
    from evalharness.reports.run_page import run_page

    report = run.report
    page = run_page(report)
    raw = run.path.read_bytes() if run.path is not None and run.path.is_file() else None
    files: dict[str, str | bytes] = {
        "report.json": raw if raw is not None else dumps_json(report.model_dump(mode="json")),
        "report.html": render(page, "html"),
        "report.md": render(page, "md"),
        "segments.csv": segments_csv(report),
    }
    if (documents := documents_csv(report)) is not None:
        files["documents.csv"] = documents
    for name, data in files.items():
        path = folder / name
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    return list(files)


# --- talking to MLflow ---


def _millis(created: str) -> int | None:
    try:
        when = dt.datetime.fromisoformat(created)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1000)


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class _Exporter:
    """One tracking store and experiment; MLflow's errors become one line naming the store."""

    def __init__(self, settings: MlflowSettings) -> None:
        require_mlflow()
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        self.settings = settings
        self.error_type = MlflowException
        with self._errors():
            self.client = MlflowClient(tracking_uri=settings.tracking_uri)
            self.uri = self.client.tracking_uri
            self.experiment_id = self._experiment()

    def _errors(self):
        from contextlib import contextmanager

        @contextmanager
        def translated():
            try:
                yield
            except self.error_type as exc:
                where = self.settings.tracking_uri or "MLflow's default tracking store"
                raise UserError(f"MLflow: {exc.message}", where) from None

        return translated()

    def _experiment(self) -> str:
        name = self.settings.experiment
        found = self.client.get_experiment_by_name(name)
        if found is None:
            return self.client.create_experiment(name)
        if found.lifecycle_stage != "active":
            raise UserError(
                f"MLflow experiment {name!r} is deleted: restore it (mlflow experiments restore) "
                "or export to another one (--experiment)"
            )
        return found.experiment_id

    def _existing(self, run_id: str) -> list:
        # Our run ids match ^\d{8}T\d{6}Z-[0-9a-f]{8}$ (the schema checks it): safe in a filter.
        return self.client.search_runs(
            [self.experiment_id], filter_string=f"tags.`{RUN_ID_TAG}` = '{run_id}'", max_results=100
        )

    def export(self, run: LoadedRun) -> Exported:
        report = run.report
        with self._errors():
            previous = self._existing(report.run_id)
            done = [r for r in previous if r.info.status == "FINISHED"]
            if done:
                return Exported(
                    report.run_id, done[0].info.run_id, "already exported", self.settings.experiment
                )
            for stale in previous:  # an export that was interrupted: replaced, not left beside
                self.client.delete_run(stale.info.run_id)
            return self._log(run)

    def _log(self, run: LoadedRun) -> Exported:
        from mlflow.entities import Metric, Param

        report = run.report
        start = _millis(report.created)
        created = self.client.create_run(
            self.experiment_id, start_time=start, tags=run_tags(report), run_name=run_name(report)
        )
        mlflow_id = created.info.run_id
        try:
            stamp = start if start is not None else int(dt.datetime.now(dt.UTC).timestamp() * 1000)
            params = [Param(k, v) for k, v in run_params(report).items()]
            metrics = [Metric(k, v, stamp, 0) for k, v in run_metrics(report).items()]
            for batch in _chunks(params, MAX_PARAMS_PER_BATCH):
                self.client.log_batch(mlflow_id, params=batch)
            for batch in _chunks(metrics, MAX_METRICS_PER_BATCH):
                self.client.log_batch(mlflow_id, metrics=batch)
            with tempfile.TemporaryDirectory(prefix="evalharness-mlflow-") as tmp:
                write_artifacts(run, Path(tmp))
                self.client.log_artifacts(mlflow_id, tmp)
        except BaseException:
            try:  # marked, so that the next export replaces it
                self.client.set_terminated(mlflow_id, status="FAILED")
            except Exception:
                pass  # the store is gone; the error that stopped us is the one to show
            raise
        self.client.set_terminated(mlflow_id, status="FINISHED")
        return Exported(report.run_id, mlflow_id, "exported", self.settings.experiment)


def export_runs(runs: list[LoadedRun], settings: MlflowSettings) -> list[Exported]:
    """Each run into the settings' experiment (created when it is not there), one MLflow run
    each; runs exported before are reported, not logged again."""
    exporter = _Exporter(settings)
    return [exporter.export(run) for run in runs]
