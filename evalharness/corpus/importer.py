"""Import a test set that is already line-parallel (FLORES/NTREX style): line n of every
file is segment n. No alignment happens, so confidence is 1.0 by assertion of the user."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

from evalharness.corpus.build import LIBRARIES
from evalharness.corpus.ingest import read_document
from evalharness.corpus.language import check_language, detect_language
from evalharness.corpus.records import DocumentInfo, Manifest, Provenance, Segment
from evalharness.corpus.store import TestSet, check_name, identity_fields
from evalharness.errors import UserError
from evalharness.versions import library_versions


def parse_lang_file(arg: str) -> tuple[str, Path]:
    lang, sep, path = arg.partition("=")
    if not sep or not lang or not path:
        raise UserError(f"expected LANG=FILE, got {arg!r}")
    return check_language(lang, path), Path(path)


def import_parallel(files: list[tuple[str, Path]], name: str) -> TestSet:
    check_name(name)
    if len(files) < 2:
        raise UserError("an imported test set needs at least two languages (--lang L=FILE twice)")
    seen: dict[str, Path] = {}
    for lang, path in files:
        if lang in seen:
            raise UserError(f"language {lang!r} given twice ({seen[lang]} and {path})", path)
        seen[lang] = path
    docs = [(lang, read_document(path)) for lang, path in files]
    counts = {str(d.path): len(d.lines) for _, d in docs}
    if len(set(counts.values())) > 1:
        detail = ", ".join(f"{p} has {n} lines" for p, n in counts.items())
        raise UserError(f"line counts differ: {detail}")
    segments = []
    for n in range(len(docs[0][1].lines)):
        text = {lang: d.lines[n].text for lang, d in docs if d.lines[n].text}
        if len(text) < 2:
            continue
        segments.append(
            Segment(
                id=f"s{len(segments) + 1:04d}",
                text=text,
                confidence=1.0,
                pair_confidence={f"{a}-{b}": 1.0 for a, b in combinations(text, 2)},
                provenance={
                    lang: Provenance(file=d.name, lines=[n + 1]) for lang, d in docs if d.lines[n].text
                },
            )
        )
    langs = [lang for lang, _ in docs]
    infos = []
    for lang, d in docs:
        guess = detect_language(" ".join(ln.text for ln in d.lines[:200]))
        content = sum(1 for ln in d.lines if ln.text)
        infos.append(
            DocumentInfo(
                file=d.name,
                sha256=d.sha256,
                lang=lang,
                lang_source="given",
                lang_detected=guess.lang,
                lang_confidence=guess.confidence,
                lines=len(d.lines),
                content_lines=content,
                sentences=content,
                segmenter="none (one segment per line)",
                in_testset=True,
            )
        )
    manifest = Manifest(
        name=name,
        **identity_fields(segments),
        method="imported",
        languages=langs,
        pivot=None,
        segment_count=len(segments),
        pair_counts={f"{a}-{b}": sum(s.has(a, b) for s in segments) for a, b in combinations(langs, 2)},
        documents=infos,
        library_versions=library_versions(*LIBRARIES),
    )
    return TestSet(manifest=manifest, segments=segments)
