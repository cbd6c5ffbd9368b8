"""A draft glossary from an aligned test set, for users who have none: quoted phrases
paired across languages by their order in each segment, plus repeated multi-word
expressions and capitalised names. Concepts with more than one rendition are flagged."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence

from evalharness.corpus.records import Segment

QUOTED = re.compile(r"[\"“«„]([^\"“”«»„]{3,80})[\"”»]")
CAPITALISED = re.compile(r"\b(?:[A-ZÅÄÖ][\w'’-]+\s+){1,4}[A-ZÅÄÖ][\w'’-]+")


def _norm(text: str) -> str:
    return " ".join(text.replace("-", " ").split()).casefold()


def suggest_terms(segments: Sequence[Segment], languages: Sequence[str], min_count: int = 2) -> list[dict]:
    """Concepts as {id, renditions: {lang: {surface: count}}, multiple: [langs with >1 rendition]}."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}
    surfaces: dict[tuple[str, str], Counter] = defaultdict(Counter)

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a, b):
        parent[find(a)] = find(b)

    for seg in segments:
        quotes = {lang: QUOTED.findall(seg.text[lang]) for lang in languages if lang in seg.text}
        for lang, found in quotes.items():
            for q in found:
                surfaces[(lang, _norm(q))][q.strip()] += 1
                find((lang, _norm(q)))
        counts = {len(v) for v in quotes.values()}
        if len(quotes) >= 2 and len(counts) == 1:  # same number of quotes: pair them by order
            langs = list(quotes)
            for k in range(counts.pop()):
                for other in langs[1:]:
                    union((langs[0], _norm(quotes[langs[0]][k])), (other, _norm(quotes[other][k])))
    # Same-language phrases sharing most of their words are one concept spelt two ways.
    nodes = list(parent)
    for a in nodes:
        for b in nodes:
            if a < b and a[0] == b[0]:
                wa, wb = set(a[1].split()), set(b[1].split())
                if len(wa & wb) / len(wa | wb) >= 0.5:
                    union(a, b)
    groups: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for node in list(parent):
        groups[find(node)].append(node)
    concepts = []
    for members in groups.values():
        renditions: dict[str, Counter] = defaultdict(Counter)
        for lang, key in members:
            renditions[lang].update(surfaces[(lang, key)])
        total = sum(sum(c.values()) for c in renditions.values())
        if total < min_count:
            continue
        concepts.append(_concept(renditions, "quoted phrase aligned across languages"))
    concepts += _repeated_names(
        segments, languages, min_count, {s for c in concepts for r in c["renditions"].values() for s in r}
    )
    concepts.sort(
        key=lambda c: (-len(c["multiple"]), -sum(sum(r.values()) for r in c["renditions"].values()))
    )
    for n, c in enumerate(concepts, start=1):
        c["id"] = f"candidate-{n:03d}"
    return concepts


def _concept(renditions: dict[str, Counter], evidence: str) -> dict:
    renditions = {lang: dict(c.most_common()) for lang, c in sorted(renditions.items())}
    multiple = sorted(lang for lang, r in renditions.items() if len({_norm(s) for s in r}) > 1)
    return {"renditions": renditions, "multiple": multiple, "evidence": evidence}


def _repeated_names(segments, languages, min_count, already) -> list[dict]:
    out = []
    for lang in languages:
        names = Counter(
            m.strip() for seg in segments if lang in seg.text for m in CAPITALISED.findall(seg.text[lang])
        )
        for name, n in names.items():
            if n >= min_count and name not in already:
                out.append(_concept({lang: Counter({name: n})}, "repeated capitalised name"))
    return out


def _distinct_terms(concepts: list[dict]) -> list[dict[str, list[tuple[str, int]]]]:
    """Per concept and language, the surfaces as a glossary may list them: spellings that
    differ only in case or spacing are one term (counts summed), and a term already listed
    for an earlier concept is left out (a glossary lists a term once)."""
    taken: set[tuple[str, str]] = set()
    out = []
    for c in concepts:
        by_lang: dict[str, list[tuple[str, int]]] = {}
        for lang, renditions in c["renditions"].items():
            merged: dict[str, list] = {}
            for surface, n in renditions.items():
                key = " ".join(surface.casefold().split())
                if (lang, key) in taken and key not in merged:
                    continue
                merged.setdefault(key, [surface, 0])[1] += n
            taken |= {(lang, key) for key in merged}
            if merged:
                by_lang[lang] = [(surface, n) for surface, n in merged.values()]
        out.append(by_lang)
    return out


def draft_yaml(concepts: list[dict]) -> str:
    import yaml

    doc = {
        "concepts": [
            {
                "id": c["id"],
                "note": f"DRAFT ({c['evidence']})"
                + (f"; several renditions in: {', '.join(c['multiple'])}" if c["multiple"] else ""),
                "terms": {
                    lang: [
                        {"term": s, "status": "preferred" if k == 0 else "admitted", "note": f"seen {n}x"}
                        for k, (s, n) in enumerate(surfaces)
                    ]
                    for lang, surfaces in terms.items()
                },
            }
            for c, terms in zip(concepts, _distinct_terms(concepts), strict=True)
            if terms
        ]
    }
    header = "# Draft glossary proposed by `evalharness terms suggest`: review every entry, set statuses\n# (preferred / admitted / deprecated) and delete what is not a term.\n"
    return header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
