"""Terminology flags for a list of segments in one language, with optional aligned sources.

Kinds: deprecated, misspelled, untranslated, missing, inconsistent-in-document (a concept
rendered two ways inside one document, when the list holds several documents), inconsistent
(within the whole list, one run) and drift (against a previous run). One occurrence gets at
most one flag: deprecated > untranslated > misspelled > inconsistent-in-document >
inconsistent.

A term listed under two concepts (a glossary may: "nowotwór łagodny" renders both "benign
neoplasm" and "benign tumor") counts, where it occurs, for the concept the aligned text
calls for, so it is never a wrong rendering of the other; each concept keeps its own flags
and renditions."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

from evalharness.terminology.glossary import Glossary
from evalharness.terminology.matcher import Occurrence, TermIndex
from evalharness.terminology.normalize import key as _key

KINDS = (
    "deprecated",
    "misspelled",
    "untranslated",
    "missing",
    "inconsistent-in-document",
    "inconsistent",
    "drift",
)
_STATUS_RANK = {"preferred": 0, "admitted": 1, "deprecated": 2}


@dataclass(frozen=True)
class Flag:
    segment: int  # 0-based index in the checked list
    concept: str
    kind: str
    found: str
    expected: list[str]
    lang: str = ""
    detail: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class TermReport:
    lang: str
    flags: list[Flag]
    renditions: list[dict[str, list[str]]]  # per segment: concept -> rendition keys, in order
    occurrences: int  # concept occurrences judged for accuracy
    acceptable: int  # of which rendered with a preferred or admitted term
    consistency: float | None  # share of occurrences using their concept's most frequent rendition
    fallbacks: list[str] = field(default_factory=list)  # languages matched without lemmas, and why

    @property
    def accuracy(self) -> float | None:
        return self.acceptable / self.occurrences if self.occurrences else None

    def summary(self) -> dict:
        return {
            "lang": self.lang,
            "term_accuracy": self.accuracy,
            "consistency": self.consistency,
            "occurrences": self.occurrences,
            "flags": dict(Counter(f.kind for f in self.flags)),
        }


def _preferred(glossary: Glossary, concept: str, lang: str) -> list[str]:
    return [t.text for t in glossary.concepts[concept].in_lang(lang, ("preferred", "admitted"))]


def check_segments(
    texts: Sequence[str],
    lang: str,
    glossary: Glossary,
    index: TermIndex | None = None,
    sources: Sequence[Sequence[str]] | None = None,
    expected: Sequence[set[str]] | None = None,
    source_langs: set[str] | None = None,
    documents: Sequence[str | None] | None = None,
) -> TermReport:
    """`sources[i]` are texts aligned with `texts[i]` (the source, or the other references in
    an audit); they reveal which concepts a segment should contain. `expected[i]`, when
    given (per-segment annotations), says it directly. `source_langs` (when known) limits
    the inflection search in the sources to their languages. `documents[i]` names the
    document of segment i: a reader sees one document at a time, so a concept rendered two
    ways inside one is flagged on its own, before consistency across the whole list."""
    index = index or TermIndex(glossary)
    own_keys = {(t.concept, _key(t.text)) for t in glossary.terms if t.lang == lang}
    flags: list[Flag] = []
    renditions: list[dict[str, list[str]]] = []
    ok_occurrences: list[tuple[int, Occurrence, str]] = []  # candidates for 'inconsistent'
    occurrences = acceptable = 0
    for i, text in enumerate(texts):
        # what the aligned texts call for: one group per occurrence, any of whose concepts
        # renders it (a term listed under two concepts in the source language is either)
        called: list[tuple[str, ...]] = []
        if expected is not None:
            called = [(c,) for c in sorted(expected[i])]
        elif sources is not None:
            for src_text in sources[i]:
                # every glossary language: sources often keep a term untranslated
                called += [o.concepts for o in index.find(src_text, lemma_langs=source_langs)]
        expected_concepts = {c for group in called for c in group}
        seg_rend: dict[str, list[str]] = defaultdict(list)
        present: set[str] = set()
        for occ in index.find(text, fuzzy_langs={lang}, lemma_langs={lang}):
            occ = _resolve(occ, expected_concepts, present)
            term = occ.term
            if occ.kind == "variant" and occ.concept not in expected_concepts:
                continue  # a near-variant counts only where the aligned text has the concept
            present.add(occ.concept)
            occurrences += 1
            wanted = _preferred(glossary, occ.concept, lang)
            if term.lang != lang:
                if (occ.concept, _key(occ.found)) in own_keys:
                    continue  # the same words are also a term of this language (a name)
                flags.append(
                    Flag(i, occ.concept, "untranslated", occ.found, wanted, lang, {"term_lang": term.lang})
                )
                seg_rend[occ.concept].append(f"[{term.lang}] {_key(occ.found)}")
            elif occ.kind == "exact" and term.status == "deprecated":
                flags.append(Flag(i, occ.concept, "deprecated", occ.found, wanted, lang, {"note": term.note}))
                seg_rend[occ.concept].append(_key(term.rendition))
            elif occ.kind == "misspelled":
                flags.append(Flag(i, occ.concept, "misspelled", occ.found, [term.rendition], lang))
                seg_rend[occ.concept].append(_key(term.rendition))
            else:
                rendition = _key(term.rendition) if occ.kind == "exact" else _key(occ.found)
                seg_rend[occ.concept].append(rendition)
                ok_occurrences.append((i, occ, rendition))
                acceptable += occ.kind == "exact"
        for concept, others in _missing(called, present):
            occurrences += 1
            detail = {"or": list(others)} if others else {}
            flags.append(Flag(i, concept, "missing", "", _preferred(glossary, concept, lang), lang, detail))
        renditions.append(dict(seg_rend))
    if documents is not None and len(set(documents)) > 1 and None not in documents:
        by_document: dict[str | None, list[tuple[int, Occurrence, str]]] = defaultdict(list)
        for item in ok_occurrences:
            by_document[documents[item[0]]].append(item)
        for doc, items in by_document.items():
            doc_renditions = [renditions[i] if documents[i] == doc else {} for i in range(len(renditions))]
            found = _inconsistent(glossary, lang, doc_renditions, items, "inconsistent-in-document")
            flags += [replace(f, detail={**f.detail, "document": doc}) for f in found]
        flagged = {(f.segment, f.concept, f.found) for f in flags if f.kind == "inconsistent-in-document"}
        ok_occurrences = [o for o in ok_occurrences if (o[0], o[1].concept, o[1].found) not in flagged]
    flags += _inconsistent(glossary, lang, renditions, ok_occurrences)
    flags.sort(key=lambda f: (f.segment, KINDS.index(f.kind)))
    return TermReport(
        lang, flags, renditions, occurrences, acceptable, _consistency(renditions), index.fallbacks()
    )


def _resolve(occ: Occurrence, called: set[str], present: set[str]) -> Occurrence:
    """An occurrence of words listed under several concepts counts for one: a concept the
    aligned text calls for, not yet rendered in this segment, else the best status (a
    preferred reading before a deprecated one: no flag where one reading is right)."""
    if not occ.shared:
        return occ
    options = (occ.term, *occ.shared)
    best = min(
        options,
        key=lambda t: (t.concept not in called, t.concept in present, _STATUS_RANK.get(t.status, 3)),
    )
    return replace(occ, term=best, shared=tuple(t for t in options if t is not best))


def _missing(called: list[tuple[str, ...]], present: set[str]) -> list[tuple[str, tuple[str, ...]]]:
    """(concept, its alternatives) for each call of the aligned text that nothing renders,
    once per concept: a call that is one of several concepts (a shared source term) is
    missing only when none of them is there."""
    out: dict[str, tuple[str, ...]] = {}
    for group in sorted(set(called), key=lambda g: (len(g), g)):
        if present.isdisjoint(group) and out.keys().isdisjoint(group):
            out[group[0]] = group[1:]
    return sorted(out.items())


def _inconsistent(glossary, lang, renditions, ok_occurrences, kind: str = "inconsistent") -> list[Flag]:
    counts: dict[str, Counter] = defaultdict(Counter)
    surface: dict[tuple[str, str], str] = {}
    for seg in renditions:
        for concept, keys in seg.items():
            counts[concept].update(k for k in keys if not k.startswith("["))
    status_of = {(t.concept, _key(t.text)): t.status for t in glossary.terms if t.lang == lang}
    for _, occ, key in ok_occurrences:
        surface.setdefault((occ.concept, key), occ.term.rendition if occ.kind == "exact" else occ.found)
    flags = []
    for i, occ, key in ok_occurrences:
        c = counts[occ.concept]
        if len(c) < 2:
            continue
        first_seen = {k: n for n, k in enumerate(c)}
        majority = min(
            c, key=lambda k: (-c[k], _STATUS_RANK.get(status_of.get((occ.concept, k), ""), 3), first_seen[k])
        )
        if key == majority:
            continue
        detail = {"renditions": {surface.get((occ.concept, k), k): n for k, n in c.most_common()}}
        flags.append(
            Flag(
                i,
                occ.concept,
                kind,
                occ.found,
                [surface.get((occ.concept, majority), majority)],
                lang,
                detail,
            )
        )
    return flags


def _consistency(renditions: list[dict[str, list[str]]]) -> float | None:
    counts: dict[str, Counter] = defaultdict(Counter)
    for seg in renditions:
        for concept, keys in seg.items():
            counts[concept].update(keys)
    total = sum(sum(c.values()) for c in counts.values())
    if not total:
        return None
    return sum(c.most_common(1)[0][1] for c in counts.values()) / total


def drift_flags(
    ids: Sequence[str], current: Sequence[dict], previous: dict[str, dict], lang: str
) -> list[Flag]:
    """A concept rendered differently from the previous run of the same system, per segment id."""
    flags = []
    for i, (seg_id, now) in enumerate(zip(ids, current, strict=True)):
        before = previous.get(seg_id)
        if before is None:
            continue
        for concept in sorted(set(now) | set(before)):
            a, b = sorted(before.get(concept, [])), sorted(now.get(concept, []))
            if a != b:
                flags.append(
                    Flag(
                        i, concept, "drift", ", ".join(b) or "(none)", a, lang, {"previous": a, "current": b}
                    )
                )
    return flags
