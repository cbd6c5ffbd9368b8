"""sacrebleu's test sets by name (`wmt23:en-de`), read from sacrebleu's own cache (`$SACREBLEU`,
else `~/.sacrebleu`) with sacrebleu's own dataset objects: they know each set's files, its
format (WMT XML, the older SGML, plain text, TSV), which translators' references sacrebleu
scores against, and each segment's document id and original language. We read what they
produce instead of parsing the formats again, so a set imported here is the set sacrebleu
scores.

Nothing is downloaded unless asked (`download=True`): an evaluation must not depend on the
network, nor fetch a test set behind the user's back. A set not in the cache is one error line
giving the command that fetches it."""

from __future__ import annotations

import copy
import difflib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from evalharness.corpus.ingest import max_segments, read_input, split_lines
from evalharness.corpus.language import check_language
from evalharness.corpus.standard import ImportOptions, Row, SourceFile, rows_to_testset
from evalharness.corpus.store import TestSet, check_name
from evalharness.errors import UserError

META_FIELDS = ("origlang", "domain", "genre")  # per-document facts worth keeping


@dataclass(frozen=True)
class SacrebleuSpec:
    test_set: str  # e.g. "wmt23", "wmt21/AB"
    langpair: str  # e.g. "en-de"

    def __str__(self) -> str:
        return f"{self.test_set}:{self.langpair}"


def cache_dir() -> Path:
    """sacrebleu's cache, as sacrebleu finds it (read now: sacrebleu reads it at import)."""
    return Path(os.environ.get("SACREBLEU") or Path.home() / ".sacrebleu").expanduser()


def default_name(spec: SacrebleuSpec) -> str:
    """`wmt21/AB:en-de` -> `wmt21_AB.en-de`: a valid test-set name."""
    return f"{spec.test_set.replace('/', '_')}.{spec.langpair}"


def parse_spec(text: str) -> SacrebleuSpec:
    """`TESTSET:SRC-TGT`, both known to sacrebleu; the error lists what it does know."""
    from sacrebleu import DATASETS

    test_set, sep, langpair = text.rpartition(":")
    if not sep or not test_set or not langpair:
        raise UserError(f"expected TESTSET:SRC-TGT such as wmt23:en-de, got {text!r}")
    if test_set not in DATASETS:
        close = difflib.get_close_matches(test_set, list(DATASETS), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else " (`sacrebleu --list` shows them)"
        raise UserError(f"sacrebleu knows no test set {test_set!r}{hint}")
    pairs = list(DATASETS[test_set].langpairs)
    if langpair not in pairs:
        raise UserError(
            f"sacrebleu's {test_set} has no language pair {langpair!r} (it has {', '.join(pairs)})"
        )
    return SacrebleuSpec(test_set, langpair)


def fetch_commands(spec: SacrebleuSpec, name: str) -> str:
    return (
        f"evalharness testset import-sacrebleu {spec} --name {name} --download "
        f"(or: sacrebleu -t {spec.test_set} -l {spec.langpair} --echo src > /dev/null)"
    )


def _dataset(spec: SacrebleuSpec, download: bool):
    """sacrebleu's dataset object for `spec`, placed in the cache as it is now (sacrebleu fixes
    the folder when imported) and, unless `download`, unable to download: where sacrebleu
    would fetch a missing file, it finds none and we say how to fetch it."""
    from sacrebleu import DATASETS

    dataset = copy.copy(DATASETS[spec.test_set])
    dataset._outdir = str(cache_dir() / spec.test_set)
    dataset._rawdir = str(cache_dir() / spec.test_set / "raw")
    if download:
        _download(dataset, spec)
    dataset.maybe_download = lambda: None  # from here on only the cache is read
    return dataset


def _download(dataset, spec: SacrebleuSpec) -> None:
    try:
        dataset.maybe_download()
    except SystemExit as exc:  # sacrebleu exits on a bad checksum or an SSL failure
        raise UserError(f"sacrebleu could not download {spec} (its log above says why)", cache_dir()) from exc
    except OSError as exc:
        raise UserError(f"could not download {spec} ({exc})", cache_dir()) from exc


def _files(dataset, spec: SacrebleuSpec, name: str) -> tuple[dict[str, str], list[str]]:
    """field -> file of the set, made by sacrebleu's own processing of its raw files, and
    the reference fields sacrebleu scores against (what `sacrebleu -t` uses)."""
    try:
        fields = dataset.fieldnames(spec.langpair)
        files = dataset.get_files(spec.langpair)
        chosen = dataset.get_reference_files(spec.langpair)
    except FileNotFoundError as exc:
        raise UserError(
            f"{spec} is not in sacrebleu's cache; fetch it with: {fetch_commands(spec, name)}",
            cache_dir(),
        ) from exc
    except UserError:
        raise
    except Exception as exc:  # sacrebleu's parsers raise whatever their format gives them
        raise UserError(
            f"sacrebleu could not read {spec} from its cache ({type(exc).__name__}: {exc})", cache_dir()
        ) from exc
    by_field = dict(zip(fields, files, strict=True))
    return by_field, [f for f, path in by_field.items() if path in chosen]


def _lines(path: str) -> list[str]:
    data = read_input(Path(path), max_segments())
    try:
        return split_lines(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UserError(f"not valid UTF-8 (offset {exc.start})", path) from exc


def _reference_fields(fields: list[str], chosen: list[str], all_refs: bool) -> list[str]:
    """sacrebleu's choice of references for the set, or every translator's with `all_refs`
    (a set with two references in its file and one chosen); every one when it names none.
    sacrebleu keeps translators in a set, so the others come in sorted order, not its."""
    others = sorted(f for f in fields if (f == "ref" or f.startswith("ref:")) and f not in chosen)
    return [*chosen, *others] if all_refs or not chosen else chosen


def import_sacrebleu(
    spec: SacrebleuSpec, name: str, download: bool = False, all_refs: bool = False
) -> TestSet:
    """The test set `spec` from sacrebleu's cache: document ids, every chosen reference, and
    each document's origlang, domain or genre in the manifest's settings."""
    import sacrebleu

    check_name(name)
    src_lang, tgt_lang = (check_language(code, f"sacrebleu {spec}") for code in spec.langpair.split("-", 1))
    by_field, chosen = _files(_dataset(spec, download), spec, name)
    ref_fields = _reference_fields(list(by_field), chosen, all_refs)
    columns = {f: _lines(by_field[f]) for f in ["src", *ref_fields, "docid", *META_FIELDS] if f in by_field}
    source = by_field["src"]
    for f, lines in columns.items():
        if len(lines) != len(columns["src"]):
            raise UserError(
                f"has {len(lines)} lines, the source {source} has {len(columns['src'])}", by_field[f]
            )
    docids = columns.get("docid")
    rows = [
        Row(
            texts={src_lang: [text], tgt_lang: [columns[f][n] for f in ref_fields]},
            where=f"line {n + 1} of {Path(source).name}",
            doc=(docids[n] or None) if docids else None,
        )
        for n, text in enumerate(columns["src"])
    ]
    settings = {
        "format": "sacrebleu",
        "test_set": spec.test_set,
        "langpair": spec.langpair,
        "references": ref_fields,
        "sacrebleu": sacrebleu.__version__,
        "documents": _document_meta(columns),
    }
    sources = [SourceFile(Path(by_field["src"]).name, _sha256(by_field["src"]), src_lang)]
    sources += [SourceFile(Path(by_field[f]).name, _sha256(by_field[f]), tgt_lang) for f in ref_fields]
    options = ImportOptions(trust_languages=True, segmenter="none (sacrebleu's segments)", settings=settings)
    return rows_to_testset(rows, name, [src_lang, tgt_lang], sources, cache_dir() / spec.test_set, options)


def _document_meta(columns: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """docid -> its origlang, domain or genre (as its first segment says)."""
    meta: dict[str, dict[str, str]] = {}
    for n, doc in enumerate(columns.get("docid", ())):
        if doc and doc not in meta:
            meta[doc] = {f: columns[f][n] for f in META_FIELDS if f in columns and columns[f][n]}
    return meta


def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
