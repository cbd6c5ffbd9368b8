"""Standard test sets as they come: sacrebleu's by name, FLORES folders, TSV files with a
document column, Hugging Face datasets. Each reader turns its format into rows; this module
turns rows into a test set, with the checks every format needs, so that a set imported from
any of them keeps its document ids and every reference the same way.

Every segment must have the same number of references in each language: multi-reference
BLEU, chrF and TER (sacrebleu) need a reference per translator for every segment, and a
segment without one would silently be scored against fewer. Confidence is 1.0: these sets
are parallel by construction, nothing was aligned."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from evalharness.corpus.importer import given_document, imported_manifest, refuse_swapped_language
from evalharness.corpus.ingest import decode_utf8, max_segments, normalize_text, read_input, split_lines
from evalharness.corpus.language import check_language, detect_language
from evalharness.corpus.records import DocumentInfo, Segment
from evalharness.corpus.store import TestSet, check_name
from evalharness.errors import UserError


@dataclass(frozen=True)
class Row:
    """One segment as a format gives it: texts per language (the first is the reference,
    the others further translators'), where it came from (for error lines), and its ids."""

    texts: dict[str, list[str]]
    where: str  # "line 12", "example 4": how an error names this row
    doc: str | None = None
    para: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class SourceFile:
    """An input file behind one language of the set (the same file for all, for a TSV)."""

    file: str  # the file name only: where it lies on one machine is not part of the set
    sha256: str
    lang: str


@dataclass(frozen=True)
class ImportOptions:
    trust_languages: bool = False  # skip the swapped-language check
    swap_hint: str = "are the languages given in the wrong order? (--trust-lang imports them as given)"
    segmenter: str = "none (one segment per row)"
    settings: dict = field(default_factory=dict)


def rows_to_testset(
    rows: list[Row],
    name: str,
    langs: list[str],
    sources: list[SourceFile],
    path: object,
    options: ImportOptions | None = None,
) -> TestSet:
    """The test set of `rows`, refused with one line naming `path` and the row when a text is
    empty, a reference is missing, an id repeats or only some rows name their document."""
    options = options or ImportOptions()
    check_name(name)
    _check_langs(langs, path)
    if not rows:
        raise UserError("no segments", path)
    if len(rows) > max_segments():
        raise UserError(
            f"has {len(rows):,} segments, more than {max_segments():,} (EVALHARNESS_MAX_SEGMENTS raises the limit)",
            path,
        )
    counts = {lang: len(rows[0].texts.get(lang, ())) for lang in langs}
    with_doc = rows[0].doc is not None
    seen: set[str] = set()
    segments = [_segment(row, n, langs, counts, rows[0].where, path) for n, row in enumerate(rows, start=1)]
    for row, segment in zip(rows, segments, strict=True):
        if (segment.doc is not None) != with_doc:
            raise UserError(
                f"{row.where}: {'no document id' if with_doc else 'a document id'} while {rows[0].where} "
                f"{'has one' if with_doc else 'has none'} (document scores need one for every segment)",
                path,
            )
        if segment.id in seen:
            raise UserError(f"{row.where}: segment id {segment.id!r} appears twice", path)
        seen.add(segment.id)
    guesses = {lang: detect_language(" ".join(s.text[lang] for s in segments[:200])) for lang in langs}
    if not options.trust_languages:
        for lang in langs:
            refuse_swapped_language(lang, guesses[lang], set(langs), path, options.swap_hint)
    documents = [_document_info(src, guesses[src.lang], len(segments), options.segmenter) for src in sources]
    manifest = imported_manifest(name, segments, langs, documents, options.settings)
    return TestSet(manifest=manifest, segments=segments)


def _check_langs(langs: list[str], path: object) -> None:
    if len(set(langs)) != len(langs):
        raise UserError(f"a language given twice ({', '.join(langs)})", path)
    if len(langs) < 2:
        raise UserError("a test set needs at least two languages", path)


def _segment(row: Row, n: int, langs: list[str], counts: dict[str, int], first: str, path: object) -> Segment:
    """One row as a segment: texts cleaned like every input (NFC, one line), every language
    with as many references as the first row."""
    refs: dict[str, list[str]] = {}
    for lang in langs:
        texts = [normalize_text(t or "") for t in row.texts.get(lang, ())]
        if not texts:
            raise UserError(f"{row.where}: no {lang!r} text", path)
        if len(texts) != counts[lang]:
            raise UserError(
                f"{row.where}: {len(texts)} {lang!r} reference(s), {first} has {counts[lang]} "
                "(multi-reference scores need the same number for every segment)",
                path,
            )
        if not all(texts):
            raise UserError(f"{row.where}: the {lang!r} text is empty (a missing translation?)", path)
        refs[lang] = texts
    seg_id = normalize_text(row.id) if row.id is not None else f"s{n:05d}"
    if not seg_id:
        raise UserError(f"{row.where}: an empty segment id", path)
    doc = normalize_text(row.doc) if row.doc is not None else None
    para = normalize_text(row.para) if row.para is not None else None
    return Segment(
        id=seg_id,
        text={lang: texts[0] for lang, texts in refs.items()},
        confidence=1.0,
        pair_confidence={f"{a}-{b}": 1.0 for a, b in combinations(langs, 2)},
        doc=doc or None,
        para=para or None,
        more_refs={lang: texts[1:] for lang, texts in refs.items() if len(texts) > 1},
    )


def _document_info(src: SourceFile, guess, segments: int, segmenter: str) -> DocumentInfo:
    return given_document(src.file, src.sha256, src.lang, segments, segmenter, guess)


def describe_import(ts: TestSet) -> str:
    """The one summary line of an import: segments, documents, languages, references."""
    segments = ts.segments
    docs = len({s.doc for s in segments if s.doc})
    in_docs = f" in {docs} documents" if docs else " (no document ids)"
    refs = max((len(s.more_refs.get(lang, ())) + 1 for s in segments[:1] for lang in s.text), default=1)
    return (
        f"{ts.name} @ {ts.version}: {len(segments)} segments{in_docs}, "
        f"{', '.join(ts.manifest.languages)}, {refs} reference(s)"
    )


# --- TSV ---------------------------------------------------------------------------------


class TsvDialect(csv.Dialect):
    """Tab-separated, no quoting: a quote is text (a sentence may open with one), a tab only
    ever separates columns, and a record is one line."""

    delimiter = "\t"
    quoting = csv.QUOTE_NONE
    quotechar = None
    escapechar = None
    doublequote = False
    skipinitialspace = False
    lineterminator = "\n"
    strict = True


ROLES = ("doc", "para", "id", "-")


def parse_columns(spec: str) -> list[str]:
    """`doc,sv,hi,hi` -> the role of each column: doc, para, id, `-` (ignored) or a language
    (a language repeated is a further reference in it)."""
    roles = [r.strip().lower() for r in spec.split(",")]
    for role in roles:
        if role not in ROLES:
            check_language(role, "--columns")
    for special in ("doc", "para", "id"):
        if roles.count(special) > 1:
            raise UserError(f"--columns names {special!r} {roles.count(special)} times (once at most)")
    if len({r for r in roles if r not in ROLES}) < 2:
        raise UserError(f"--columns {spec!r} names fewer than two languages (e.g. doc,sv,hi)")
    return roles


def read_tsv(path: Path, width: int | None = None, header: bool = False) -> list[tuple[int, list[str]]]:
    """(line number, cells) of each record, blank lines skipped, the header too when
    `header`; a record of another width than `width` is refused with its line."""
    path = Path(path)
    text = decode_utf8(read_input(path, max_segments() + 1), path)
    records = []
    for number, cells in enumerate(csv.reader(split_lines(text), TsvDialect), start=1):
        if not any(c.strip() for c in cells):
            continue
        width = len(cells) if width is None else width
        if len(cells) != width:
            raise UserError(
                f"line {number}: {len(cells)} tab-separated columns, expected {width} "
                "(a tab inside a text, or a missing column?)",
                path,
            )
        records.append((number, cells))
    return records[1:] if header else records


def import_tsv(
    path: Path, name: str, columns: str, header: bool = False, trust_languages: bool = False
) -> TestSet:
    """A test set from a TSV file whose columns `columns` names (see parse_columns)."""
    check_name(name)
    roles = parse_columns(columns)
    records = read_tsv(path, len(roles), header)
    if records and not header and [c.strip().lower() for c in records[0][1]] == roles:
        raise UserError(f"line {records[0][0]} is a header naming the columns: pass --header", path)
    langs = list(dict.fromkeys(r for r in roles if r not in ROLES))
    rows = [_tsv_row(number, cells, roles) for number, cells in records]
    sha = hashlib.sha256(read_input(path)).hexdigest()
    options = ImportOptions(
        trust_languages=trust_languages,
        swap_hint="are the --columns in the wrong order? (--trust-lang imports them as given)",
        settings={"format": "tsv", "columns": roles, "header": header},
    )
    sources = [SourceFile(Path(path).name, sha, lang) for lang in langs]
    return rows_to_testset(rows, name, langs, sources, path, options)


def _tsv_row(number: int, cells: list[str], roles: list[str]) -> Row:
    texts: dict[str, list[str]] = {}
    named: dict[str, str] = {}
    for role, cell in zip(roles, cells, strict=True):
        if role in ("doc", "para", "id"):
            named[role] = cell
        elif role != "-":
            texts.setdefault(role, []).append(cell)
    return Row(texts=texts, where=f"line {number}", **named)
