"""WMT's XML test-set format (WMT22 on): `dataset/collection/doc`, each document with one
`src`, a `ref` per translator and a `hyp` per system, in paragraphs (`p`) of numbered
segments (`seg id=`). Documents keep their ids, origlang and domain; every translator's
reference is kept; system outputs come back in segment order, ready to be scored as runs.

The format is public (github.com/wmt-conference/wmt-format-tools); the files in our tests
are our own. A DOCTYPE is refused: WMT files have none, and it is where entity bombs and
external entities live."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from evalharness.corpus.importer import given_document, imported_manifest
from evalharness.corpus.ingest import normalize_text, read_input
from evalharness.corpus.language import check_language
from evalharness.corpus.records import Segment
from evalharness.corpus.store import TestSet, check_name
from evalharness.errors import UserError

MAX_XML_BYTES = 1 << 30


@dataclass(frozen=True)
class WmtSet:
    testset: TestSet
    src_lang: str
    tgt_lang: str
    translators: tuple[str, ...]  # reference order: the first is the segments' text
    systems: dict[str, list[str]]  # system -> hypotheses, in segment order


def _segments_of(block: ET.Element, path: Path, where: str) -> dict[str, tuple[str, str]]:
    """seg id -> (paragraph id, text) of a src, ref or hyp block, in document order."""
    out: dict[str, tuple[str, str]] = {}
    for p_number, para in enumerate(block.iter("p"), start=1):
        for seg in para.iter("seg"):
            seg_id = seg.get("id")
            if not seg_id:
                raise UserError(f"{where}: a <seg> without an id", path)
            if seg_id in out:
                raise UserError(f"{where}: segment id {seg_id!r} appears twice", path)
            out[seg_id] = (para.get("id") or str(p_number), normalize_text("".join(seg.itertext())))
    return out


def read_wmt_xml(path: Path, name: str) -> WmtSet:
    check_name(name)
    data = read_input(path)
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise UserError("a DOCTYPE or ENTITY declaration: WMT XML has none (refused: entity expansion)", path)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise UserError(f"line {exc.position[0]}: not well-formed XML ({exc})", path) from exc
    if root.tag != "dataset":
        raise UserError(f"expected a <dataset> root element, found <{root.tag}>", path)
    docs = [
        (collection.get("id") or "", doc)
        for collection in root.iter("collection")
        for doc in collection.iter("doc")
    ]
    if not docs:
        raise UserError("no <collection>/<doc> elements", path)
    src_lang = tgt_lang = None
    translators: tuple[str, ...] | None = None
    segments: list[Segment] = []
    systems: dict[str, list[str]] = {}
    meta: dict[str, dict] = {}
    seen_docs: set[str] = set()
    for collection, doc in docs:
        doc_id = doc.get("id") or ""
        where = f"document {doc_id!r}"
        if not doc_id or doc_id in seen_docs:
            raise UserError(f"{where}: every <doc> needs an id of its own", path)
        seen_docs.add(doc_id)
        meta[doc_id] = {k: v for k, v in (("collection", collection), *doc.attrib.items()) if k != "id" and v}
        src = doc.findall("src")
        if len(src) != 1:
            raise UserError(f"{where}: {len(src)} <src> blocks (one expected)", path)
        lang = check_language(src[0].get("lang") or "", path)
        if src_lang not in (None, lang):
            raise UserError(f"{where}: source language {lang!r}, the others are {src_lang!r}", path)
        src_lang = lang
        source = _segments_of(src[0], path, where)
        refs = doc.findall("ref")
        if not refs:
            raise UserError(f"{where}: no <ref> (a test set needs references)", path)
        names = tuple(r.get("translator") or f"ref{n}" for n, r in enumerate(refs, start=1))
        if translators is None:
            translators = names
        elif sorted(names) != sorted(translators):
            raise UserError(
                f"{where}: references by {', '.join(names)}, the other documents by {', '.join(translators)}: "
                "multi-reference scores need every translator for every document",
                path,
            )
        by_translator = {r.get("translator") or f"ref{n}": r for n, r in enumerate(refs, start=1)}
        ref_texts = []
        for translator in translators:
            block = by_translator[translator]
            lang = check_language(block.get("lang") or "", path)
            if tgt_lang not in (None, lang):
                raise UserError(f"{where}: reference language {lang!r}, the others are {tgt_lang!r}", path)
            tgt_lang = lang
            ref_texts.append(
                _complete(_segments_of(block, path, f"{where}, reference {translator}"), source, path, where)
            )
        for hyp in doc.findall("hyp"):
            system = hyp.get("system") or ""
            if not system:
                raise UserError(f"{where}: a <hyp> without a system name", path)
            texts = _complete(_segments_of(hyp, path, f"{where}, system {system}"), source, path, where)
            if doc_id != docs[0][1].get("id") and system not in systems:
                raise UserError(f"{where}: system {system!r} has no output for the documents before", path)
            systems.setdefault(system, []).extend(texts)
        for n, (seg_id, (para, text)) in enumerate(source.items()):
            refs_here = [texts[n] for texts in ref_texts]
            if not text or not all(refs_here):
                raise UserError(f"{where}: segment {seg_id!r} is empty in the source or a reference", path)
            segments.append(
                Segment(
                    id=f"s{len(segments) + 1:05d}",
                    text={src_lang: text, tgt_lang: refs_here[0]},
                    confidence=1.0,
                    pair_confidence={f"{src_lang}-{tgt_lang}": 1.0},
                    doc=doc_id,
                    para=para,
                    more_refs={tgt_lang: refs_here[1:]} if len(refs_here) > 1 else {},
                )
            )
    missing = [s for s, texts in systems.items() if len(texts) != len(segments)]
    if missing:
        raise UserError(f"system {missing[0]!r} lacks output for some documents", path)
    assert src_lang and tgt_lang and translators
    if src_lang == tgt_lang:
        raise UserError(f"source and references are both {src_lang!r}", path)
    langs = [src_lang, tgt_lang]
    sha = hashlib.sha256(data).hexdigest()
    documents = [
        given_document(path.name, sha, lang, len(segments), "none (WMT XML segments)") for lang in langs
    ]
    settings = {
        "format": "wmt-xml",
        "dataset": root.get("id") or "",
        "translators": list(translators),
        "documents": meta,
    }
    manifest = imported_manifest(name, segments, langs, documents, settings)
    return WmtSet(TestSet(manifest=manifest, segments=segments), src_lang, tgt_lang, translators, systems)


def _complete(
    found: dict[str, tuple[str, str]], source: dict[str, tuple[str, str]], path: Path, where: str
) -> list[str]:
    """The texts of `found` in the source's segment order; every source segment must be there."""
    missing = [seg_id for seg_id in source if seg_id not in found]
    extra = [seg_id for seg_id in found if seg_id not in source]
    if missing or extra:
        what = f"lacks segment {missing[0]!r}" if missing else f"has segment {extra[0]!r} the source lacks"
        raise UserError(f"{where}: {what}", path)
    return [found[seg_id][1] for seg_id in source]
