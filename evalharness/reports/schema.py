"""The run report file (`runs/RUN_ID/report.json`). Versioned: readers refuse newer versions
and migrate older ones, so a report written today can be read and trusted later."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict

REPORT_SCHEMA_VERSION = 7


# Every number in a report is finite: a score edited to 1e999 or NaN makes the report
# damaged for every command alike (skipped with a warning by listings, refused by `runs show`).
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
_OPEN = ConfigDict(extra="allow", allow_inf_nan=False)
Number = int | float  # kept as written, so that a report still round-trips byte for byte
Scalar = str | int | float | bool | None
SHA256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class _Record(BaseModel):
    model_config = _STRICT


# The sections below were open dicts: typed (as dicts, so readers index them as before) so
# that a hand-edited report is refused when it is loaded, not when a page breaks on it.


@with_config(_STRICT)
class RunConfig(TypedDict):
    metrics: list[str]
    metric_options: dict[str, Scalar]
    backend_options: dict[str, Scalar]
    ci: bool
    resample: NotRequired[Literal["documents", "both"]]  # intervals over documents, or both units (only then)
    unit: NotRequired[Literal["paragraph", "document"]]  # what the backend was given (7; not segments)


@with_config(_STRICT)
class HarnessInfo(TypedDict):
    version: str
    git_commit: str | None


@with_config(_STRICT)
class PlatformInfo(TypedDict):
    python: str
    system: str
    machine: str


@with_config(_STRICT)
class TranslationInfo(TypedDict):
    cache: Literal["used", "bypassed"]
    from_cache: int
    translated: int
    seconds: Number


@with_config(_OPEN)
class Determinism(TypedDict):
    """Backends say more (settings, pivot stages); `deterministic` is what pages and gates read."""

    deterministic: bool | None
    note: NotRequired[str]
    settings: NotRequired[dict[str, Any]]
    stages: NotRequired[list[dict[str, Any]]]


@with_config(_STRICT)
class SanityInfo(TypedDict):
    segments: int
    copy_rate: Number
    wrong_language_rate: Number
    wrong_language_checked: int
    length_ratio: Number
    copied: list[int]
    wrong_language: list[int]
    empty: list[int]
    empty_rate: Number


@with_config(_STRICT)
class StatisticsRef(TypedDict):
    """Where the run's sufficient statistics are: a file name beside the report
    (`report.stats.npz`, or `NAME.stats.npz` beside a gate baseline), never a path."""

    file: Annotated[
        str, Field(pattern=r"^[^./\\\x00-\x1f][^/\\\x00-\x1f]*\.stats\.npz$")
    ]  # beside the report
    sha256: SHA256
    metrics: dict[str, str]  # metric -> the signature the statistics were computed under


@with_config(_STRICT)
class TermFlag(TypedDict):
    segment: int
    segment_id: str
    concept: str
    kind: str
    found: str
    expected: list[str]
    lang: str
    detail: dict[str, Any]


@with_config(_OPEN)
class TermControl(TypedDict):
    term_accuracy: Number | None
    note: str
    success_rate: NotRequired[Number | None]


@with_config(_STRICT)
class TerminologySection(TypedDict):
    glossary: str
    glossary_sha256: SHA256
    term_accuracy: Number | None
    consistency: Number | None
    occurrences: int
    matching: NotRequired[list[str]]  # which languages lack lemma matching (4)
    counts: dict[str, int]
    previous_run: str | None
    flags: list[TermFlag]
    renditions: dict[str, dict[str, list[str]]]  # segment id -> concept -> renditions found
    success_rate: NotRequired[Number | None]
    control: NotRequired[TermControl]


@with_config(_OPEN)
class BackendFingerprint(TypedDict):
    """What determines a backend's output; each backend adds what it knows (model digests,
    options). `digest` names it in listings and history."""

    kind: str
    digest: str
    code_sha256: NotRequired[str]
    libraries: NotRequired[dict[str, str]]


class IntervalRecord(_Record):
    mean: float
    half_width: float
    low: float
    high: float
    stdev: float
    n_bootstrap: int
    seed: int


class ScoreRecord(_Record):
    score: float
    signature: str
    verbose: str
    interval: IntervalRecord | None = None
    detectable_difference: float | None = None  # what this test set can resolve (95%)
    document_interval: IntervalRecord | None = None  # resample both: the interval over documents (7)


class ErrorSpanRecord(_Record):
    """An error a model metric (xCOMET) marks in the hypothesis: character offsets, the text,
    severity and the model's confidence (5)."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    severity: str  # minor, major, critical (xCOMET); a model may have labels of its own
    confidence: float


class SegmentRecord(_Record):
    id: str
    source: str
    references: list[str]
    hypothesis: str
    flags: list[str] = Field(default_factory=list)
    intermediate: list[str] = Field(default_factory=list)
    scores: dict[str, float] = Field(default_factory=dict)
    confidence: float | None = None  # the test set's alignment confidence for this pair (4)
    error_spans: dict[str, list[ErrorSpanRecord]] = Field(default_factory=dict)  # metric -> spans (5)
    raw: str | None = None  # an LLM's whole output, where the hypothesis was extracted from it (6)
    doc: str | None = None  # the document the segment is in (7)
    placement: float | None = None  # re-segmentation: the aligner's confidence in this piece (7)


class ModelScoringRecord(_Record):
    """How a model metric scored this run (5): the checkpoint, where and how it ran, and how
    many segments came from the score cache."""

    checkpoint: str  # hub id or folder name, as asked for
    digest: str  # sha256 over the checkpoint's files
    mode: Literal["ref", "qe"]
    device: str
    dtype: str
    segments: int
    from_cache: int
    scored: int
    seconds: float


class ServiceRecord(_Record):
    """What a served model (the openai backend) was asked for this run's new translations (6);
    segments from the translation cache cost nothing and are not counted."""

    requests: int  # HTTP requests sent, retries and the preflight included
    retries: int
    malformed_replies: int
    segments: int
    tokens_in: int
    tokens_out: int
    latency_p50_s: float | None
    latency_p99_s: float | None
    seconds: float


class ScoreChange(_Record):
    previous: float
    current: float
    delta: float  # current - previous
    p_bootstrap: float | None  # None when the outputs are identical (nothing to test)
    significant: bool


class DriftRecord(_Record):
    """What changed since the previous run of the same system (by name) on the same test-set
    version and pair (4)."""

    previous_run: str
    identical_output: bool
    changed_segments: int
    scores: dict[str, ScoreChange]
    term_drift: int | None = None  # terminology drift flags (renditions that changed), with a glossary


class TestSetRef(_Record):
    name: str
    version: str
    src_lang: str
    tgt_lang: str
    ref_langs: list[str]
    segments: int

    __test__ = False


class BackendRef(_Record):
    spec: str
    name: str
    fingerprint: BackendFingerprint


class UnitOutput(_Record):
    segments: list[str]  # the ids of the segments the unit covers
    source: str  # what the backend was given
    output: str  # what it returned, before re-segmentation


class UnitsRecord(_Record):
    """A run whose backend translated paragraphs or documents (7): each unit's output as it
    came, and how it was put back onto the reference segments."""

    unit: Literal["paragraph", "document"]
    method: Literal["aligner"]
    encoder: str
    outputs: list[UnitOutput]


class DocumentScoresRecord(_Record):
    """String metrics over documents (7): each document's segments joined and scored as one."""

    documents: list[str]
    segments: list[int]  # per document, how many segments it has
    scores: dict[str, float]  # metric -> score over all documents
    per_document: dict[str, list[float]]  # metric -> score of each document alone


class RunReport(_Record):
    schema_version: int = REPORT_SCHEMA_VERSION
    run_id: str = Field(pattern=r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")  # the shape we write; never a path
    created: str  # UTC, ISO 8601
    testset: TestSetRef
    backend: BackendRef
    command: list[str]
    config: RunConfig
    harness: HarnessInfo
    libraries: dict[str, str]
    platform: PlatformInfo
    translation: TranslationInfo  # cache used or bypassed, cache hits, translated, seconds
    determinism: Determinism | None = None  # deterministic (true/false/null = unknown), settings, note
    scores: dict[str, ScoreRecord]
    sanity: SanityInfo
    segments: list[SegmentRecord]
    statistics: StatisticsRef | None = None  # the stored statistics beside the report (3)
    terminology: TerminologySection | None = None  # glossary checks, when a glossary was given
    drift: DriftRecord | None = None  # against the previous run of the same system (4)
    replaces_baseline: str | None = None  # set by `evalharness gate --update-baseline`
    model_scoring: dict[str, ModelScoringRecord] = Field(default_factory=dict)  # model metrics (5)
    skipped_metrics: dict[str, str] = Field(default_factory=dict)  # asked for, not available: why (5)
    service: ServiceRecord | None = None  # a served model's requests, tokens, latency (6)
    units: UnitsRecord | None = None  # paragraph or document translation, re-segmented (7)
    document_scores: DocumentScoresRecord | None = None  # sets with documents (7)


def segment_scores(report: RunReport, metric: str) -> np.ndarray:
    """One metric's sentence scores in segment order, NaN where a segment has none: the
    column that deltas, moved segments and buckets are computed from."""
    nan = float("nan")
    return np.array([s.scores.get(metric, nan) for s in report.segments], dtype=np.float64)
