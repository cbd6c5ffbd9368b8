"""The evaluation suite as a library function: `eval.toml` says which test set (and the
documents it is built from), which pairs, metrics and systems; `run_suite` builds or reuses
the test set, runs every system on every pair and returns typed outcomes. `run_job` runs one
system on one pair and is what the regression gates call too.

A system whose model is not available here (a hub model neither cached nor downloadable) is
*skipped*, with the command that fetches it; any other error *fails* the system, and the
caller (the `eval` command) exits non-zero. A model metric (COMET, MetricX) whose checkpoint
is not here is skipped the same way, for every system at once, and the reports say so."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evalharness.backends.registry import check_options, check_spec
from evalharness.corpus.language import parse_pair
from evalharness.corpus.store import TestSet, load_testset
from evalharness.errors import ModelUnavailable, Problems, UserError
from evalharness.fileio import read_toml
from evalharness.metrics.registry import check_request, default_metrics, parse_metric_list, with_checkpoints
from evalharness.reports.mlflow_export import MlflowSettings
from evalharness.reports.schema import RunReport
from evalharness.reports.statistics import LoadedRun
from evalharness.reports.store import REPORT_FILE


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SystemEntry(_Config):
    name: str = Field(min_length=1)
    backend: str = Field(min_length=1)
    pairs: tuple[str, ...] | None = None  # None: every pair of the suite
    options: dict = Field(default_factory=dict)
    unit: Literal["segment", "paragraph", "document"] = "segment"  # what the backend translates


class Suite(_Config):
    testset: str
    documents: tuple[str, ...] = ()  # globs; empty: use the test set as it is on disk
    pairs: tuple[str, ...]
    metrics: tuple[str, ...] = default_metrics()  # ids; a model metric may name its checkpoint: comet=DIR
    metric_options: dict = Field(default_factory=dict)  # sacrebleu options, neural_device, ...
    ci: bool = True
    glossary: str | None = None
    systems: tuple[SystemEntry, ...] = Field(min_length=1)
    mlflow: MlflowSettings | None = None  # export each finished run to MLflow (reports/mlflow_export.py)

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            parse_metric_list(list(value))
        except UserError as exc:
            raise ValueError(str(exc)) from None
        return value

    @property
    def metric_ids(self) -> tuple[str, ...]:
        return tuple(parse_metric_list(list(self.metrics))[0])

    @property
    def options(self) -> dict:
        """The metric options: `metric_options`, and the checkpoints `metrics` names."""
        return with_checkpoints(self.metric_options, parse_metric_list(list(self.metrics))[1])


def load_suite(path: Path) -> Suite:
    """Read and validate the whole suite before any work; one line per problem."""
    data = read_toml(path, "evaluation config")
    problems = Problems(path)
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        inside = any(e["loc"][:1] == ("systems",) and len(e["loc"]) > 1 for e in errors)
        for error in errors:
            if inside and error["loc"] == ("systems",) and error["type"] == "too_short":
                continue  # only a consequence: the broken entries above did not count
            problems.add(f"{_where(error['loc'], data)}: {error['msg']}")
        problems.raise_any()
    for pair in suite.pairs + tuple(p for s in suite.systems for p in s.pairs or ()):
        with problems.catch():
            parse_pair(pair, path)
    with problems.catch("metric_options: "):
        check_request(suite.metric_ids, suite.options)
    for pairs, where in [(suite.pairs, "pairs")] + [
        (s.pairs or (), f"systems.{n} ({s.name}): pairs") for n, s in enumerate(suite.systems, start=1)
    ]:
        if twice := _repeated(pairs):
            problems.add(f"{where}: {twice!r} is listed twice")
    if twice := _repeated([s.name for s in suite.systems]):
        problems.add(
            f"systems: two systems are named {twice!r} (a name identifies a system's runs: its "
            "drift and history would mix them)"
        )
    for n, system in enumerate(suite.systems, start=1):
        with problems.catch(f"systems.{n} ({system.name}): "):
            check_spec(system.backend)
            check_options(system.backend, system.options)
    problems.raise_any()
    return suite


def _where(loc: tuple, data: dict) -> str:
    """`systems.1 (name): unit` from pydantic's `('systems', 0, 'unit')`: numbered from 1 and
    named, as every other problem with a system is."""
    if len(loc) >= 2 and loc[0] == "systems" and isinstance(loc[1], int):
        entries = data.get("systems") if isinstance(data, dict) else None
        entry = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else {}
        name = entry.get("name") if isinstance(entry, dict) else None
        head = f"systems.{loc[1] + 1}" + (f" ({name})" if isinstance(name, str) else "")
        rest = ".".join(str(p) for p in loc[2:])
        return f"{head}: {rest}" if rest else head
    return ".".join(str(p) for p in loc) or "(top level)"


def _repeated(items) -> str | None:
    """The first item listed twice, if any."""
    seen: set = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return None


@dataclass(frozen=True)
class Job:
    """One system on one pair of one test-set version."""

    testset: TestSet
    system: SystemEntry
    src: str
    tgt: str

    @property
    def pair(self) -> str:
        return f"{self.src}-{self.tgt}"


@dataclass(frozen=True)
class Outcome:
    system: str
    pair: str
    status: Literal["ok", "skipped", "failed"]
    report: RunReport | None = None
    reason: str = ""


@dataclass(frozen=True)
class SuiteResult:
    testset: TestSet
    testset_state: str  # "reused", "written", "unchanged" or "on disk" (no documents configured)
    outcomes: list[Outcome]
    skipped_metrics: dict[str, str] = field(default_factory=dict)  # metric -> why (checkpoint missing)

    @property
    def reports(self) -> list[RunReport]:
        return [o.report for o in self.outcomes if o.report is not None]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def prepare_testset(suite: Suite, references: Path, rebuild: bool = False) -> tuple[TestSet, str]:
    """The suite's test set: reused when its inputs are unchanged, built when they are new."""
    docs = sorted({p for pattern in suite.documents for p in glob.glob(pattern)})
    if not docs:
        if suite.documents:
            raise UserError(f"no documents match {', '.join(suite.documents)}")
        return load_testset(references, suite.testset), "on disk"
    from evalharness.corpus.build import parse_doc_arg
    from evalharness.corpus.reuse import build_or_reuse

    result = build_or_reuse([parse_doc_arg(d) for d in docs], suite.testset, references, rebuild=rebuild)
    return result.testset, result.state


def plan_jobs(suite: Suite, testset: TestSet) -> list[Job]:
    return [
        Job(testset, system, *parse_pair(pair))
        for system in suite.systems
        for pair in system.pairs or suite.pairs
    ]


@dataclass(frozen=True)
class Scoring:
    """What every job of a suite (or a gate) is scored with."""

    metrics: tuple[str, ...] = default_metrics()
    options: dict = field(default_factory=dict)
    ci: bool = True
    skipped: dict = field(default_factory=dict)  # model metrics left out: why
    remote: object = None  # model metrics run elsewhere (RayScoring), else in this process


def available_scoring(metrics: Sequence[str], options: dict, ci: bool = True) -> Scoring:
    """The metrics whose checkpoints are here; the others skipped with the command that
    fetches them (one line per metric, not per system)."""
    from evalharness.evaluate import check_metrics

    kept, skipped = [], {}
    for metric_id in metrics:
        try:
            check_metrics([metric_id], options)
        except ModelUnavailable as exc:
            skipped[metric_id] = str(exc)
            continue
        kept.append(metric_id)
    return Scoring(tuple(kept), dict(options), ci, skipped)


def job_request(
    job: Job,
    scoring: Scoring = Scoring(),
    glossary: Path | None = None,
    use_cache: bool = True,
):
    from evalharness.evaluate import RunRequest

    return RunRequest(
        testset=job.testset,
        backend_spec=job.system.backend,
        src=job.src,
        tgt=job.tgt,
        metrics=tuple(scoring.metrics),
        metric_options=dict(scoring.options),
        backend_options=dict(job.system.options),
        ci=scoring.ci,
        name=job.system.name,
        unit=job.system.unit,
        glossary=glossary,
        use_cache=use_cache,
        skipped_metrics=dict(scoring.skipped),
        remote_scoring=scoring.remote,
    )


def run_job(
    job: Job,
    runs: Path,
    cache: Path,
    scoring: Scoring = Scoring(),
    glossary: Path | None = None,
    use_cache: bool = True,
    argv: list[str] | None = None,
    translation=None,
) -> LoadedRun:
    """Translate (unless an executor did), score and store one run (report and statistics);
    raises UserError when it cannot."""
    from evalharness.evaluate import run_evaluation

    request = job_request(job, scoring, glossary, use_cache)
    report, folder = run_evaluation(request, runs, cache, argv=argv, translation=translation)
    return LoadedRun(report, folder / REPORT_FILE)


def _outcome(job: Job, run) -> Outcome:
    """A job's outcome from its result: a report, or the error that stopped it."""
    if isinstance(run, ModelUnavailable):
        return Outcome(job.system.name, job.pair, "skipped", reason=str(run))
    if isinstance(run, UserError):
        return Outcome(job.system.name, job.pair, "failed", reason=str(run))
    if isinstance(run, BaseException):
        raise run
    return Outcome(job.system.name, job.pair, "ok", report=run.report)


def run_suite(
    suite: Suite,
    references: Path,
    runs: Path,
    cache: Path,
    argv: list[str] | None = None,
    rebuild: bool = False,
    executor: Literal["local", "ray"] = "local",
    ray_settings=None,
) -> SuiteResult:
    """Every job of the suite. `local` translates job after job in this process; `ray`
    translates all jobs at once on Ray (see backends/ray_runner.py). Either way the runs are
    scored and written here, one after the other, by the same code."""
    glossary = Path(suite.glossary) if suite.glossary else None
    if glossary is not None:
        from evalharness.terminology.glossary import load_glossary

        load_glossary(glossary)  # a broken glossary fails before any work
    testset, state = prepare_testset(suite, references, rebuild)
    scoring = available_scoring(suite.metric_ids, suite.options, suite.ci)
    jobs = plan_jobs(suite, testset)
    translations: list = [None] * len(jobs)
    if executor == "ray":
        from dataclasses import replace

        from evalharness.backends.ray_runner import RaySettings
        from evalharness.metrics.neural.ray_scoring import RayScoring

        ray_settings = ray_settings or RaySettings()
        translations = _translate_on_ray(jobs, scoring, cache, ray_settings, glossary)
        scoring = replace(scoring, remote=RayScoring(ray_settings))
    outcomes = []
    try:
        for job, translation in zip(jobs, translations, strict=True):
            if isinstance(translation, BaseException):
                outcomes.append(_outcome(job, translation))
                continue
            try:
                run = run_job(job, runs, cache, scoring, glossary, argv=argv, translation=translation)
            except UserError as exc:
                run = exc
            outcomes.append(_outcome(job, run))
    finally:
        if scoring.remote is not None:
            scoring.remote.close()
    return SuiteResult(testset, state, outcomes, scoring.skipped)


def _translate_on_ray(
    jobs: list[Job], scoring: Scoring, cache: Path, settings, glossary: Path | None
) -> list:
    from evalharness.backends.ray_runner import RayJob, RaySettings, translate_all
    from evalharness.evaluate import prompt_inputs, request_sources

    requests = [job_request(job, scoring, glossary) for job in jobs]
    ray_jobs = [
        RayJob(
            r.backend_spec,
            dict(r.backend_options or {}),
            request_sources(r),
            r.src,
            r.tgt,
            r.use_cache,
            prompt_inputs(r),
        )
        for r in requests
    ]
    return translate_all(ray_jobs, cache, settings or RaySettings())
