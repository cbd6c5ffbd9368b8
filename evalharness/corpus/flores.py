"""FLORES-style folders: one file per language per split, line n of every file the same
sentence (FLORES-200: `DIR/devtest/swe_Latn.devtest`; FLORES-101: `DIR/devtest/swe.devtest`).
The files are read with the line-parallel importer and its checks (line counts, swapped
languages, blank lines). When the split's metadata is there (`metadata_devtest.tsv`: one row
per sentence, with the URL of the article it comes from), the URL is each segment's
document id, so document-level scores and resampling work; without it there are none."""

from __future__ import annotations

import re
from pathlib import Path

from evalharness.corpus.importer import import_parallel, imported_manifest
from evalharness.corpus.ingest import normalize_text
from evalharness.corpus.language import check_language
from evalharness.corpus.records import Segment
from evalharness.corpus.standard import read_tsv
from evalharness.corpus.store import TestSet, check_name
from evalharness.errors import UserError

_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{1,15}")  # swe_Latn, swe, zho_simpl: never a path


def parse_lang_code(arg: str) -> tuple[str, str]:
    """`sv=swe_Latn` -> ("sv", "swe_Latn"): our language and the folder's code for it."""
    lang, sep, code = arg.partition("=")
    if not sep or not lang or not code:
        raise UserError(f"expected LANG=CODE such as sv=swe_Latn, got {arg!r}")
    if not _CODE.fullmatch(code):
        raise UserError(f"{code!r} is not a FLORES language code (such as swe_Latn or swe)")
    return check_language(lang, "--lang"), code


def find_file(folder: Path, split: str, code: str) -> Path:
    """The file of `code` in `split`: DIR/SPLIT/CODE.SPLIT, or DIR/CODE.SPLIT when DIR is
    the split's own folder."""
    tried = [folder / split / f"{code}.{split}", folder / f"{code}.{split}"]
    for path in tried:
        if path.is_file():
            return path
    raise UserError(f"no {code} file for split {split!r} (looked for {', '.join(map(str, tried))})", folder)


def find_metadata(folder: Path, split: str, files: list[Path]) -> Path | None:
    """FLORES keeps `metadata_SPLIT.tsv` beside the split folders."""
    name = f"metadata_{split}.tsv"
    for path in (folder / name, folder / split / name, files[0].parent.parent / name):
        if path.is_file():
            return path
    return None


def read_metadata(path: Path, lines: int) -> list[tuple[int, str, dict[str, str]]]:
    """(line number, URL, other columns) per sentence, from a metadata TSV whose header
    names a URL column; as many rows as the text files have lines."""
    records = read_tsv(path)
    if not records:
        raise UserError("no rows", path)
    header = [h.strip() for h in records[0][1]]
    url = next((n for n, h in enumerate(header) if h.lower() == "url"), None)
    if url is None:
        raise UserError(f"line {records[0][0]}: no URL column in the header ({', '.join(header)})", path)
    if len(records) - 1 != lines:
        raise UserError(f"{len(records) - 1} rows, but the text files have {lines} lines", path)
    rows = []
    for number, cells in records[1:]:
        doc = normalize_text(cells[url])
        if not doc:
            raise UserError(f"line {number}: no URL (the document id)", path)
        rows.append(
            (
                number,
                doc,
                {h: c for n, (h, c) in enumerate(zip(header, cells, strict=True)) if n != url and c},
            )
        )
    return rows


def _with_documents(plain: TestSet, meta: list | None) -> tuple[list[Segment], dict[str, dict[str, str]]]:
    """Segments renumbered (`s00001`) with the URL of their line as document id, and each
    document's metadata (domain, topic, ...) as its first sentence gives it."""
    first = plain.manifest.languages[0]
    segments, documents = [], {}
    for n, s in enumerate(plain.segments, start=1):
        doc = None
        if meta:
            _, doc, facts = meta[s.provenance[first].lines[0] - 1]
            documents.setdefault(doc, facts)
        segments.append(s.model_copy(update={"id": f"s{n:05d}", "doc": doc}))
    return segments, documents


def import_flores(
    folder: Path, split: str, langs: list[tuple[str, str]], name: str, trust_languages: bool = False
) -> TestSet:
    """The `split` of a FLORES-style folder in the languages `langs` ((ours, folder code))."""
    check_name(name)
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", split):
        raise UserError(f"invalid split {split!r} (e.g. dev, devtest)")
    if not folder.is_dir():
        raise UserError("no such folder", folder)
    files = [(lang, find_file(folder, split, code)) for lang, code in langs]
    plain = import_parallel(files, name, trust_languages=trust_languages)
    meta_path = find_metadata(folder, split, [path for _, path in files])
    meta = read_metadata(meta_path, plain.manifest.documents[0].lines) if meta_path else None
    segments, documents = _with_documents(plain, meta)
    settings = {
        "format": "flores",
        "split": split,
        "codes": dict(langs),
        "metadata": meta_path.name if meta_path else None,
        "documents": documents,
    }
    manifest = imported_manifest(name, segments, plain.manifest.languages, plain.manifest.documents, settings)
    return TestSet(manifest=manifest, segments=segments)
