"""The terms a terminology-constrained prompt asks a model to use, per source segment (as in
the WMT terminology task): the segment's own annotations when an annotation file is given,
else, for every glossary concept whose source-language term occurs in the segment (exactly
or inflected), the concept's preferred target term. These are the terms the terminology
section then checks, so a prompt and its check agree on what was required."""

from __future__ import annotations

from collections.abc import Sequence

from evalharness.terminology.annotations import check_alignment, load_annotations
from evalharness.terminology.glossary import load_glossary
from evalharness.terminology.matcher import TermIndex

Pairs = tuple[tuple[str, str], ...]  # (source term as it occurs, required target term)


def required_terms(
    source, ids: Sequence[str], sources: Sequence[str], src_lang: str, tgt_lang: str
) -> list[Pairs]:
    """`source` is a `TermSource` (section.py): a glossary, annotations, or both."""
    if source.annotations is not None:
        items = load_annotations(source.annotations)
        check_alignment(items, ids, source.annotations)
        return [tuple((t.source, t.target) for t in item.terms if t.source.strip()) for item in items]
    glossary = load_glossary(source.glossary)
    index = TermIndex(glossary)
    out = []
    for text in sources:
        pairs: dict[str, tuple[str, str]] = {}
        for occ in index.find(text, langs={src_lang}, lemma_langs={src_lang}):
            if occ.kind != "exact" or occ.concept in pairs:
                continue
            preferred = glossary.concepts[occ.concept].in_lang(tgt_lang, ("preferred",))
            if preferred:
                pairs[occ.concept] = (occ.found, preferred[0].text)
        out.append(tuple(pairs.values()))
    return out
