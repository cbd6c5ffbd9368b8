"""The run report file (`runs/RUN_ID/report.json`). Versioned: readers refuse newer versions
and migrate older ones, so a report written today can be read and trusted later."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

REPORT_SCHEMA_VERSION = 6


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    fingerprint: dict


class RunReport(_Record):
    schema_version: int = REPORT_SCHEMA_VERSION
    run_id: str = Field(pattern=r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")  # the shape we write; never a path
    created: str  # UTC, ISO 8601
    testset: TestSetRef
    backend: BackendRef
    command: list[str]
    config: dict
    harness: dict  # version, git commit
    libraries: dict[str, str]
    platform: dict
    translation: dict  # cache used or bypassed, cache hits, translated, seconds
    determinism: dict | None = None  # deterministic (true/false/null = unknown), settings, note
    scores: dict[str, ScoreRecord]
    sanity: dict
    segments: list[SegmentRecord]
    statistics: dict | None = (
        None  # {"file", "sha256", "metrics": {metric: signature key}}: stored statistics
    )
    terminology: dict | None = None  # terminology section (glossary checks), when a glossary was given
    drift: DriftRecord | None = None  # against the previous run of the same system (4)
    replaces_baseline: str | None = None  # set by `evalharness gate --update-baseline`
    model_scoring: dict[str, ModelScoringRecord] = Field(default_factory=dict)  # model metrics (5)
    skipped_metrics: dict[str, str] = Field(default_factory=dict)  # asked for, not available: why (5)
    service: ServiceRecord | None = None  # a served model's requests, tokens, latency (6)


def segment_scores(report: RunReport, metric: str) -> np.ndarray:
    """One metric's sentence scores in segment order, NaN where a segment has none: the
    column that deltas, moved segments and buckets are computed from."""
    nan = float("nan")
    return np.array([s.scores.get(metric, nan) for s in report.segments], dtype=np.float64)
