"""The records this stage hands to every later one: test-set segments and the manifest.

Both are versioned files (`schema_version`); later stages read them, never the documents.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

TESTSET_SCHEMA_VERSION = 1


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Provenance(_Record):
    file: str
    lines: list[int]  # 1-based line numbers in the original file


class Segment(_Record):
    id: str
    text: dict[str, str]  # language -> text
    confidence: float  # min over the pairwise confidences; 1.0 for imported line-parallel sets
    pair_confidence: dict[str, float] = Field(default_factory=dict)  # "sv-hi" -> confidence
    provenance: dict[str, Provenance] = Field(default_factory=dict)

    def has(self, *langs: str) -> bool:
        return all(lang in self.text for lang in langs)


class DocumentInfo(_Record):
    file: str
    sha256: str
    lang: str
    lang_source: str  # "detected" or "given"
    lang_detected: str
    lang_confidence: float
    lines: int
    content_lines: int
    sentences: int
    segmenter: str
    in_testset: bool


class DroppedLine(_Record):
    file: str
    line: int
    text: str
    reason: str


class PairCheck(_Record):
    """How well two documents align: the evidence behind 'parallel' or 'not parallel'."""

    src_file: str
    src_lang: str
    tgt_file: str
    tgt_lang: str
    beads: int
    confident: int  # beads with confidence >= threshold
    threshold: float
    parallel: bool
    message: str


class Excluded(_Record):
    """Aligned material left out of the segments, and why."""

    lang: str
    file: str
    lines: list[int]
    text: str
    reason: str


class Manifest(_Record):
    schema_version: int = TESTSET_SCHEMA_VERSION
    name: str
    version: str
    method: str  # "aligned" (built from documents) or "imported" (line-parallel files)
    languages: list[str]
    pivot: str | None
    segment_count: int
    pair_counts: dict[str, int]  # "sv-hi" -> segments holding both
    documents: list[DocumentInfo]
    dropped: list[DroppedLine] = Field(default_factory=list)
    pair_checks: list[PairCheck] = Field(default_factory=list)
    excluded: list[Excluded] = Field(default_factory=list)
    settings: dict = Field(default_factory=dict)
    library_versions: dict[str, str] = Field(default_factory=dict)
