"""Per-segment term annotations, as terminology shared tasks publish them, and the figure
they report; and a control that shows what "term accuracy" a system gets by chance.

An annotation file is JSON lines, one line per segment, in segment order:

    {"id": "s0001", "terms": [{"source": "Skilled Mass Mobilization",
                               "target": "Skicklig massmobilisering",
                               "forms": ["Skickliga massmobiliseringen"]}]}

`id` is optional (when given it must match the segment's id); `forms` lists accepted
inflected forms and is optional. The shared tasks' figure is the **term success rate**: the
share of required target-term occurrences that the hypothesis contains, exactly (the term
or a listed form, as whole words after normalisation; substrings for scripts without
spaces) or inflected (a form of the term by lemma, which our matcher finds). Both the exact
share and the exact-or-inflected share are reported, next to the richer flags (deprecated,
misspelled, untranslated, missing) from a glossary made of the annotations."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from evalharness.errors import UserError
from evalharness.terminology.glossary import Concept, Glossary, Term
from evalharness.terminology.matcher import TermIndex
from evalharness.terminology.normalize import NOSPACE_LANGS, normalize

DEFINITION = (
    "term success rate: required target-term occurrences found in the hypothesis / required "
    "occurrences; 'exact' counts the term or a listed form as whole words after normalisation "
    "(substrings for scripts without spaces), 'exact or inflected' also counts forms with the "
    "term's lemmas"
)


@dataclass(frozen=True)
class TermPair:
    source: str
    target: str
    forms: tuple[str, ...] = ()


@dataclass(frozen=True)
class SegmentTerms:
    id: str | None
    terms: tuple[TermPair, ...] = field(default_factory=tuple)


def load_annotations(path: Path) -> list[SegmentTerms]:
    """Read and validate an annotation file; errors name the file and the line."""
    from evalharness.corpus.ingest import read_text_input

    if not path.is_file():
        raise UserError("no such annotation file", path)
    out = []
    for n, line in enumerate(read_text_input(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"line {n}: not JSON ({exc.msg})", path) from exc
        if not isinstance(row, dict) or not isinstance(row.get("terms", []), list):
            raise UserError(f"line {n}: expected an object with a 'terms' list", path)
        pairs = []
        for t in row.get("terms", []):
            if not isinstance(t, dict) or not isinstance(t.get("target"), str) or not t["target"].strip():
                raise UserError(
                    f"line {n}: each term needs a non-empty 'target' (and 'source', 'forms')", path
                )
            forms = t.get("forms", [])
            if not isinstance(forms, list) or not all(isinstance(f, str) for f in forms):
                raise UserError(f"line {n}: 'forms' must be a list of strings", path)
            pairs.append(TermPair(str(t.get("source", "")), t["target"], tuple(forms)))
        seg_id = row.get("id")
        out.append(SegmentTerms(str(seg_id) if seg_id is not None else None, tuple(pairs)))
    return out


def dumps_annotations(items: Sequence[SegmentTerms]) -> str:
    rows = []
    for item in items:
        row: dict = {
            "terms": [{"source": t.source, "target": t.target, "forms": list(t.forms)} for t in item.terms]
        }
        if item.id is not None:
            row = {"id": item.id, **row}
        rows.append(json.dumps(row, ensure_ascii=False))
    return "".join(r + "\n" for r in rows)


def check_alignment(items: Sequence[SegmentTerms], ids: Sequence[str], where: object) -> None:
    """One annotation line per segment, and ids (where given) that match the segments'."""
    if len(items) != len(ids):
        raise UserError(f"has {len(items)} annotation lines but there are {len(ids)} segments", where)
    for n, (item, seg_id) in enumerate(zip(items, ids, strict=True), start=1):
        if item.id is not None and item.id != seg_id:
            raise UserError(
                f"line {n}: annotation for {item.id!r} where segment {seg_id!r} was expected", where
            )


def concept_id(pair: TermPair) -> str:
    return f"{pair.source} => {pair.target}"


def as_glossary(
    items: Sequence[SegmentTerms], src_lang: str, tgt_lang: str
) -> tuple[Glossary, list[set[str]]]:
    """A glossary with one concept per annotated (source, target) pair (forms admitted), and
    for each segment the concepts it requires."""
    concepts: dict[str, Concept] = {}
    required = []
    for item in items:
        needed = set()
        for pair in item.terms:
            cid = concept_id(pair)
            needed.add(cid)
            if cid in concepts:
                continue
            terms = [Term(cid, tgt_lang, pair.target, "preferred")]
            terms += [
                Term(cid, tgt_lang, f, "admitted", form_of=pair.target)
                for f in pair.forms
                if f != pair.target
            ]
            if pair.source.strip():
                terms.append(Term(cid, src_lang, pair.source, "preferred"))
            concepts[cid] = Concept(cid, terms)
        required.append(needed)
    return Glossary(concepts, source="annotations"), required


def _contains(text: str, needle: str, lang: str) -> bool:
    hay, target = normalize(text), normalize(needle)
    if lang in NOSPACE_LANGS:
        return "".join(target.split()) in "".join(hay.split())
    return re.search(rf"(?<!\w){re.escape(target)}(?!\w)", hay) is not None


def success_rate(
    items: Sequence[SegmentTerms], hypotheses: Sequence[str], tgt_lang: str, index: TermIndex | None = None
) -> dict:
    """The shared tasks' figure: exact, and exact or inflected (`index` finds the inflected)."""
    required = exact = either = 0
    for item, hyp in zip(items, hypotheses, strict=True):
        found = (
            {c for o in index.find(hyp, langs={tgt_lang}) for c in o.concepts} if index is not None else set()
        )
        for pair in item.terms:
            required += 1
            hit = any(_contains(hyp, form, tgt_lang) for form in (pair.target, *pair.forms))
            exact += hit
            either += hit or concept_id(pair) in found
    return {
        "required": required,
        "exact": exact / required if required else None,
        "exact_or_inflected": either / required if required else None,
        "definition": DEFINITION,
    }


def shuffled(items: Sequence[SegmentTerms], seed: int = 12345) -> list[SegmentTerms]:
    """The control: every required term replaced by another annotation's target, at random
    (never its own), so a system scores only what chance gives it."""
    pairs = [p for item in items for p in item.terms]
    targets = [(p.target, p.forms) for p in pairs]
    rng = random.Random(seed)
    order = list(range(len(targets)))
    for _ in range(100):  # a derangement of the targets, where one exists
        rng.shuffle(order)
        if (
            all(targets[i][0] != targets[k][0] for k, i in enumerate(order))
            or len(set(t for t, _ in targets)) < 2
        ):
            break
    out, k = [], 0
    for item in items:
        new = []
        for p in item.terms:
            target, forms = targets[order[k]]
            new.append(TermPair(p.source, target, forms))
            k += 1
        out.append(SegmentTerms(item.id, tuple(new)))
    return out


def shuffled_glossary(glossary: Glossary, lang: str, seed: int = 12345) -> Glossary:
    """The control for a glossary: the terms of `lang` moved to other concepts at random."""
    ids = sorted(glossary.concepts)
    rng = random.Random(seed)
    moved = ids[:]
    for _ in range(100):
        rng.shuffle(moved)
        if all(a != b for a, b in zip(ids, moved, strict=True)) or len(ids) < 2:
            break
    concepts = {cid: Concept(cid, [t for t in glossary.concepts[cid].terms if t.lang != lang]) for cid in ids}
    for donor, receiver in zip(ids, moved, strict=True):
        for t in glossary.concepts[donor].terms:
            if t.lang == lang:
                concepts[receiver].terms.append(Term(receiver, t.lang, t.text, t.status, t.note))
    return Glossary(concepts, source=f"{glossary.source} (random control)")
