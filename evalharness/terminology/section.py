"""The terminology section of a run report: flags on the hypotheses, accuracy and
consistency, drift against the previous run of the same system on the same test set, the
shared tasks' term success rate when per-segment annotations are given, and optionally a
random-glossary control (what the same hypotheses score against randomly paired terms)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evalharness.terminology.annotations import (
    as_glossary,
    check_alignment,
    load_annotations,
    shuffled,
    shuffled_glossary,
    success_rate,
)
from evalharness.terminology.checks import check_segments, drift_flags
from evalharness.terminology.glossary import Glossary, load_glossary
from evalharness.terminology.matcher import TermIndex


@dataclass(frozen=True)
class TermSource:
    """Where the terms come from: a glossary, or per-segment annotations (or both)."""

    glossary: Path | None = None
    annotations: Path | None = None
    control: bool = False  # also score against randomly paired terms

    @property
    def paths(self) -> list[Path]:
        return [p for p in (self.glossary, self.annotations) if p is not None]

    def validate(self) -> None:
        """Read everything before any translation starts (a broken file fails first)."""
        if self.glossary is not None:
            load_glossary(self.glossary)
        if self.annotations is not None:
            load_annotations(self.annotations)


def terminology_section(
    terms: TermSource,
    ids: Sequence[str],
    sources: Sequence[str],
    hypotheses: Sequence[str],
    src_lang: str,
    tgt_lang: str,
    previous: dict | None = None,
    documents: Sequence[str | None] | None = None,
) -> dict:
    """`previous` is the terminology section of the previous comparable run, if any;
    `documents` the document of each segment (flags inconsistency within a document)."""
    annotations = load_annotations(terms.annotations) if terms.annotations else None
    if annotations is not None:
        check_alignment(annotations, ids, terms.annotations)
        glossary, required = as_glossary(annotations, src_lang, tgt_lang)
        if terms.glossary is not None:  # a glossary adds its deprecated terms and other concepts
            glossary = _merge(glossary, load_glossary(terms.glossary))
    else:
        glossary, required = load_glossary(terms.glossary), None
    index = TermIndex(glossary)
    report = check_segments(
        hypotheses,
        tgt_lang,
        glossary,
        index=index,
        sources=[[s] for s in sources],
        expected=required,
        source_langs={src_lang},
        documents=documents,
    )
    flags = list(report.flags)
    if previous:
        flags += drift_flags(ids, report.renditions, previous.get("renditions", {}), tgt_lang)
        flags.sort(key=lambda f: f.segment)
    section = {
        "glossary": ", ".join(str(p) for p in terms.paths),
        "glossary_sha256": hashlib.sha256(b"".join(p.read_bytes() for p in terms.paths)).hexdigest(),
        "term_accuracy": report.accuracy,
        "consistency": report.consistency,
        "occurrences": report.occurrences,
        "matching": report.fallbacks,
        "counts": {k: sum(f.kind == k for f in flags) for k in sorted({f.kind for f in flags})},
        "previous_run": previous.get("run_id") if previous else None,
        "flags": [{**f.as_dict(), "segment_id": ids[f.segment]} for f in flags],
        "renditions": {seg_id: r for seg_id, r in zip(ids, report.renditions, strict=True) if r},
    }
    if annotations is not None:
        section["success_rate"] = success_rate(annotations, hypotheses, tgt_lang, index)
    if terms.control:
        section["control"] = _control(glossary, annotations, hypotheses, sources, src_lang, tgt_lang)
    return section


def _control(
    glossary: Glossary,
    annotations,
    hypotheses: Sequence[str],
    sources: Sequence[str],
    src_lang: str,
    tgt_lang: str,
) -> dict:
    """The same hypotheses against randomly paired terms: the score chance gives."""
    if annotations is not None:
        random_items = shuffled(annotations)
        random_glossary, required = as_glossary(random_items, src_lang, tgt_lang)
        index = TermIndex(random_glossary)
        rate = success_rate(random_items, hypotheses, tgt_lang, index)
        report = check_segments(hypotheses, tgt_lang, random_glossary, index=index, expected=required)
        return {
            "term_accuracy": report.accuracy,
            "success_rate": rate,
            "note": "targets shuffled across segments",
        }
    random_glossary = shuffled_glossary(glossary, tgt_lang)
    report = check_segments(hypotheses, tgt_lang, random_glossary, sources=[[s] for s in sources])
    return {"term_accuracy": report.accuracy, "note": f"{tgt_lang} terms moved to other concepts at random"}


def _merge(first: Glossary, second: Glossary) -> Glossary:
    concepts = dict(first.concepts)
    for cid, concept in second.concepts.items():
        concepts.setdefault(cid, concept)
    return Glossary(concepts, source=f"{first.source} + {second.source}")
