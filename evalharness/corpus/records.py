"""The records this stage hands to every later one: test-set segments and the manifest.

Both are versioned files (`schema_version`); later stages read them, never the documents.
Schema 2: the version names what is scored (ids and texts), not the aligner's confidences;
the manifest records the build inputs so an unchanged build is reused, not redone.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

TESTSET_SCHEMA_VERSION = 2


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Provenance(_Record):
    file: str
    lines: list[int]  # 1-based line numbers in the original file


_OPTIONAL = ("doc", "para", "more_refs")  # written and versioned only when set


class Segment(_Record):
    id: str
    text: dict[str, str]  # language -> text (for a target language: the first reference)
    confidence: float  # min over the pairwise confidences; 1.0 for imported line-parallel sets
    pair_confidence: dict[str, float] = Field(default_factory=dict)  # "sv-hi" -> confidence
    provenance: dict[str, Provenance] = Field(default_factory=dict)
    # Standard test sets (WMT XML): the document a segment belongs to, and the references of
    # further translators. Written only when set, so older test sets keep their files.
    doc: str | None = None
    para: str | None = None  # the paragraph within the document (WMT XML `p`)
    more_refs: dict[str, list[str]] = Field(default_factory=dict)  # language -> references 2, 3, ...

    def has(self, *langs: str) -> bool:
        return all(lang in self.text for lang in langs)

    def references(self, lang: str) -> list[str]:
        """Every reference in `lang`: the segment's text, then the other translators'."""
        return [self.text[lang], *self.more_refs.get(lang, ())]

    def record(self) -> dict:
        """The segment as a line of segments.jsonl (new fields only when set)."""
        unset = {k for k in _OPTIONAL if not getattr(self, k)}
        return self.model_dump(mode="json", exclude=unset)

    def identity(self) -> dict:
        """What the test set's version names: ids and texts (documents and references too)."""
        return {"id": self.id, "text": self.text} | {
            k: getattr(self, k) for k in _OPTIONAL if getattr(self, k)
        }


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


class InputDocument(_Record):
    file: str  # the file name only: where it lies on one machine is not part of what was built
    sha256: str
    lang: str | None  # given with LANG=PATH; None: detected


class BuildInputs(_Record):
    """Everything that decides a built test set: the documents, the settings and the aligner
    (encoder, the libraries that split and detect, and the digest of our corpus code).
    Equal digests mean the build would give the same segments, so it is reused."""

    documents: list[InputDocument]
    settings: dict
    aligner: dict
    digest: str


class Manifest(_Record):
    schema_version: int = TESTSET_SCHEMA_VERSION
    name: str
    version: str  # identity of what is scored: segment ids and texts (see corpus.store.content_version)
    segments_sha256: str | None = None  # integrity of segments.jsonl as written (confidences included)
    inputs: BuildInputs | None = None  # None for imported sets and for sets built before schema 2
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
