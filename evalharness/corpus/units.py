"""Translation units above the segment: paragraphs and documents, as runs of consecutive
segments. A system that translates whole paragraphs or documents is given one source per
unit, and its output is put back onto the unit's reference segments (`corpus.resegment`).

Where the structure comes from: a segment's `doc` and `para` (WMT XML and other standard
sets); for a set built from documents, the file its text came from and the line it starts
on (an input line is a paragraph). Line-parallel imports have none: a line of such a file
is a segment, and the file is not one document (FLORES files hold many)."""

from __future__ import annotations

from collections.abc import Sequence

from evalharness.corpus.records import Segment
from evalharness.corpus.store import TestSet
from evalharness.errors import UserError

UNITS = ("segment", "paragraph", "document")


def _from_files(testset: TestSet) -> bool:
    return testset.manifest.method == "aligned"


def documents(testset: TestSet, segments: Sequence[Segment], lang: str) -> list[str | None]:
    """The document of each segment (None where the set does not say)."""
    files = _from_files(testset)
    return [s.doc or (s.provenance[lang].file if files and lang in s.provenance else None) for s in segments]


def paragraphs(testset: TestSet, segments: Sequence[Segment], lang: str) -> list[str | None]:
    files = _from_files(testset)
    return [
        s.para or (str(s.provenance[lang].lines[0]) if files and lang in s.provenance else None)
        for s in segments
    ]


def unit_groups(testset: TestSet, segments: Sequence[Segment], unit: str, lang: str) -> list[list[int]]:
    """Segment indices grouped into units, in order: consecutive segments of one document
    (and paragraph). `lang` is the source language: a built set's structure is its file's."""
    if unit not in UNITS:
        raise UserError(f"unknown translation unit {unit!r} (choose from {', '.join(UNITS)})")
    if unit == "segment":
        return [[i] for i in range(len(segments))]
    docs = documents(testset, segments, lang)
    keys: list = (
        docs if unit == "document" else list(zip(docs, paragraphs(testset, segments, lang), strict=True))
    )
    if any(k is None or (isinstance(k, tuple) and None in k) for k in keys):
        raise UserError(
            f"test set {testset.name} has no {unit} structure for {lang} (a set imported from line-parallel "
            "files has none: import one with documents, e.g. testset import-wmt, or build it from documents)"
        )
    groups: list[list[int]] = []
    for i, key in enumerate(keys):
        if groups and keys[groups[-1][-1]] == key:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def unit_text(texts: Sequence[str], paras: Sequence[str | None], group: Sequence[int]) -> str:
    """A unit's text: its segments joined by spaces within a paragraph, paragraphs by newlines."""
    lines: list[list[str]] = []
    for n, i in enumerate(group):
        if n == 0 or paras[i] != paras[group[n - 1]]:
            lines.append([])
        lines[-1].append(texts[i])
    return "\n".join(" ".join(line) for line in lines)
