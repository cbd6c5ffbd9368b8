"""Import a test set that is already line-parallel (FLORES/NTREX style): line n of every
file is segment n. No alignment happens, so confidence is 1.0 by assertion of the user.

What the user asserts is checked where a slip is common and silent: a file whose text reads
as another of the languages given (the `--lang` files swapped: every score would be for the
wrong direction) is refused, and so is a line blank in some files but not in all (a missing
translation, or lines shifted by one); `trust_languages` and `allow_blank` accept them."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

from evalharness.corpus.build import LIBRARIES
from evalharness.corpus.ingest import read_document
from evalharness.corpus.language import LanguageGuess, check_language, detect_language
from evalharness.corpus.records import DocumentInfo, Manifest, Provenance, Segment
from evalharness.corpus.store import TestSet, check_name, identity_fields
from evalharness.errors import UserError
from evalharness.versions import library_versions


def parse_lang_file(arg: str) -> tuple[str, Path]:
    lang, sep, path = arg.partition("=")
    if not sep or not lang or not path:
        raise UserError(f"expected LANG=FILE, got {arg!r}")
    return check_language(lang, path), Path(path)


def _check_blank_lines(docs) -> None:
    """A line blank in some files and not in others is a missing translation or a shift."""
    for _, d in docs:
        holes = [
            n + 1
            for n, line in enumerate(d.lines)
            if not line.text and any(other.lines[n].text for _, other in docs)
        ]
        if holes:
            shown = ", ".join(map(str, holes[:5])) + (f" and {len(holes) - 5} more" if len(holes) > 5 else "")
            raise UserError(
                f"line {shown} is blank here but not in the other files (a missing translation, or "
                "lines shifted); fix the file, or pass --allow-blank to import those segments without it",
                d.path,
            )


def refuse_swapped_language(
    lang: str,
    guess: LanguageGuess,
    given: set[str],
    where: object,
    hint: str = "are the --lang files swapped? (--trust-lang imports it as given)",
) -> None:
    """Text given as `lang` that reads as another language of the same import is a swap (the
    files or columns in the wrong order: every score would be for the wrong direction), not a
    guess gone wrong. Shared by every importer that is told the languages."""
    if guess.lang != lang and guess.lang in given and guess.confidence >= 0.5:
        raise UserError(
            f"given as {lang!r} but its text reads as {guess.lang!r} (py3langid, confidence "
            f"{guess.confidence:.2f}), another language of this import: {hint}",
            where,
        )


def _check_languages(docs, guesses) -> None:
    """A file whose text reads as another language given is a swap, not a guess gone wrong."""
    given = {lang for lang, _ in docs}
    for (lang, d), guess in zip(docs, guesses, strict=True):
        refuse_swapped_language(lang, guess, given, d.path)


def import_parallel(
    files: list[tuple[str, Path]], name: str, trust_languages: bool = False, allow_blank: bool = False
) -> TestSet:
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
    guesses = [detect_language(" ".join(ln.text for ln in d.lines[:200])) for _, d in docs]
    if not trust_languages:
        _check_languages(docs, guesses)
    if not allow_blank:
        _check_blank_lines(docs)
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
    for (lang, d), guess in zip(docs, guesses, strict=True):
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
    return TestSet(manifest=imported_manifest(name, segments, langs, infos), segments=segments)


def given_document(
    file: str, sha256: str, lang: str, segments: int, segmenter: str, guess=None
) -> DocumentInfo:
    """The manifest's record of one imported file whose language was given (`guess`: what
    py3langid read it as, when it was checked; else the language given, with confidence 1)."""
    return DocumentInfo(
        file=file,
        sha256=sha256,
        lang=lang,
        lang_source="given",
        lang_detected=guess.lang if guess is not None else lang,
        lang_confidence=guess.confidence if guess is not None else 1.0,
        lines=segments,
        content_lines=segments,
        sentences=segments,
        segmenter=segmenter,
        in_testset=True,
    )


def imported_manifest(
    name: str,
    segments: list[Segment],
    langs: list[str],
    documents: list[DocumentInfo],
    settings: dict | None = None,
) -> Manifest:
    """The manifest of a test set imported as it came (line-parallel files, WMT XML)."""
    return Manifest(
        name=name,
        **identity_fields(segments),
        method="imported",
        languages=langs,
        pivot=None,
        segment_count=len(segments),
        pair_counts={f"{a}-{b}": sum(s.has(a, b) for s in segments) for a, b in combinations(langs, 2)},
        documents=documents,
        settings=settings or {},
        library_versions=library_versions(*LIBRARIES),
    )
