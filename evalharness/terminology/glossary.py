"""Glossaries: concepts with terms per language and a TBX status. Read from YAML (the format
we write by hand), TSV (`concept<TAB>lang<TAB>status<TAB>term`) or TBX (a small ElementTree
reader of TBX v2 `martif` and v3 `tbx` files; translate-toolkit is GPL). Errors name the
file and the line."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from xml.etree import ElementTree as ET

from evalharness.errors import UserError
from evalharness.terminal import warn

STATUSES = ("preferred", "admitted", "deprecated")
_TBX_STATUS = {
    "preferredterm-admn-sts": "preferred",
    "admittedterm-admn-sts": "admitted",
    "deprecatedterm-admn-sts": "deprecated",
    "supersededterm-admn-sts": "deprecated",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# A language tag as glossaries write them: ISO 639 code, optional subtags (pt-BR, zh-Hant).
_LANG_TAG = re.compile(r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


@dataclass(frozen=True)
class Term:
    concept: str
    lang: str
    text: str
    status: str
    note: str = ""
    form_of: str = ""  # an accepted inflected form of this term (annotations): counted as that term

    @property
    def rendition(self) -> str:
        """The term a rendition counts as (a listed form counts as its term)."""
        return self.form_of or self.text


@dataclass
class Concept:
    id: str
    terms: list[Term] = field(default_factory=list)
    note: str = ""

    def in_lang(self, lang: str, statuses: tuple[str, ...] = STATUSES) -> list[Term]:
        return [t for t in self.terms if t.lang == lang and t.status in statuses]


@dataclass
class Glossary:
    concepts: dict[str, Concept]
    source: str = ""

    @property
    def terms(self) -> list[Term]:
        return [t for c in self.concepts.values() for t in c.terms]

    @property
    def languages(self) -> set[str]:
        return {t.lang for t in self.terms}


def _add(concepts: dict[str, Concept], term: Term, where: str, seen: dict[tuple[str, str], set[str]]) -> None:
    """Add one term, refusing what would make matching ambiguous or silently wrong: an
    unknown status, an empty term, a language key that is not a language tag (YAML turns
    `1:` and `null:` into numbers and None), and a term listed twice in one concept. A term
    listed under two concepts is accepted (real termbases do this: "benign neoplasm" and
    "benign tumor" are both "nowotwór łagodny"); `load_glossary` warns once, and matching
    counts an occurrence for the concept its source calls for. `seen` maps (language,
    folded term) to its concepts for the glossary being read."""
    if term.status not in STATUSES:
        raise UserError(f"{where}: unknown status {term.status!r} (use {', '.join(STATUSES)})")
    if not term.text.strip():
        raise UserError(f"{where}: empty term")
    if not term.lang.strip():
        raise UserError(f"{where}: term without a language")
    if not _LANG_TAG.fullmatch(term.lang):
        raise UserError(f"{where}: {term.lang!r} is not a language code (use e.g. sv, hi, pt-BR)")
    owners = seen.setdefault(_fold(term.lang, term.text), set())
    if term.concept in owners:
        raise UserError(f"{where}: term {term.text!r} ({term.lang}) is listed twice in this concept")
    owners.add(term.concept)
    concepts.setdefault(term.concept, Concept(term.concept)).terms.append(term)


def _fold(lang: str, text: str) -> tuple[str, str]:
    """A term's identity in a glossary: its language and its case-folded, space-normalised text."""
    return lang, " ".join(text.casefold().split())


def shared_terms(glossary: Glossary) -> dict[tuple[str, str], list[str]]:
    """(language, term as first written) -> the concepts it is listed under, for every term
    listed under more than one concept, in glossary order."""
    first: dict[tuple[str, str], str] = {}
    owners: dict[tuple[str, str], list[str]] = {}
    for term in glossary.terms:
        key = _fold(term.lang, term.text)
        first.setdefault(key, term.text)
        concepts = owners.setdefault(key, [])
        if term.concept not in concepts:
            concepts.append(term.concept)
    return {(lang, first[(lang, k)]): cs for (lang, k), cs in owners.items() if len(cs) > 1}


def _shared_warning(glossary: Glossary, path: Path) -> str | None:
    """One line naming the terms listed under more than one concept (the first three)."""
    shared = shared_terms(glossary)
    if not shared:
        return None

    def concepts(cs: list[str]) -> str:
        quoted = [repr(c) for c in cs]
        return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]

    named = [
        f"term {text!r} ({lang}) is listed under concepts {concepts(cs)}"
        for (lang, text), cs in shared.items()
    ]
    more = f"; and {len(named) - 3} more such terms" if len(named) > 3 else ""
    return f"{path}: {'; '.join(named[:3])}{more}: an occurrence counts for the concept its source calls for"


def _read_yaml(path: Path, text: str) -> dict[str, Concept]:
    import yaml

    # LibYAML's parser where PyYAML has it: the pure-Python one takes minutes on a
    # 100,000-term glossary. Aliases (`*name`) are refused in a first pass over the events,
    # before anything is composed: nested aliases expand exponentially (a 400-byte file can
    # ask for gigabytes), and a glossary has no use for them.
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class LineLoader(base):  # type: ignore[misc,valid-type]
        pass

    def mapping_with_line(loader, node):
        seen: set = set()  # a set, not a list: a 30,000-key mapping must stay linear
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool | None):
                continue
            if key not in seen:
                seen.add(key)
            else:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", mark
                )
        data = loader.construct_mapping(node, deep=True)
        data["__line__"] = node.start_mark.line + 1
        return data

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping_with_line)
    try:
        for event in yaml.parse(text, Loader=base):
            if isinstance(event, yaml.AliasEvent):
                raise yaml.composer.ComposerError(
                    None, None, "aliases (*name) are not allowed in a glossary", event.start_mark
                )
        data = yaml.load(text, Loader=LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark else ""
        raise UserError(f"{line}invalid YAML ({getattr(exc, 'problem', exc)})", path) from exc
    if not isinstance(data, dict) or not isinstance(data.get("concepts"), list):
        raise UserError("expected a mapping with a 'concepts' list", path)
    concepts: dict[str, Concept] = {}
    seen: dict[tuple[str, str], set[str]] = {}
    for entry in data["concepts"]:
        line = entry.get("__line__", "?") if isinstance(entry, dict) else "?"
        where = f"{path}: line {line}"
        if not isinstance(entry, dict) or "id" not in entry or not isinstance(entry.get("terms"), dict):
            raise UserError(
                f"{where}: a concept needs 'id' and a 'terms' mapping (language -> list of terms)"
            )
        cid = str(entry["id"])
        if cid in concepts:
            raise UserError(f"{where}: concept {cid!r} defined twice")
        concepts[cid] = Concept(cid, note=str(entry.get("note", "")))
        for lang, items in entry["terms"].items():
            if lang == "__line__":
                continue
            if not isinstance(lang, str):
                raise UserError(f"{where}: {lang!r} is not a language code (use e.g. sv, hi, pt-BR)")
            if not isinstance(items, list):
                raise UserError(f"{where}: terms for {lang!r} must be a list")
            for item in items:
                if isinstance(item, str):
                    item = {"term": item, "status": "preferred"}
                if not isinstance(item, dict) or "term" not in item:
                    raise UserError(f"{where}: each term is a string or a mapping with 'term' and 'status'")
                term_where = f"{path}: line {item.get('__line__', line)}"
                _add(
                    concepts,
                    Term(
                        cid,
                        str(lang),
                        str(item["term"]),
                        str(item.get("status", "preferred")),
                        str(item.get("note", "")),
                    ),
                    term_where,
                    seen,
                )
    return concepts


def _read_tsv(path: Path, text: str) -> dict[str, Concept]:
    # Cells are literal: a quote is a character of the term, never a quoting mark (with csv's
    # default dialect `"Polisen"` lost its quotes and an unbalanced quote swallowed every
    # following row). A cell cannot hold a tab or a line break.
    from evalharness.corpus.ingest import split_lines

    try:  # lines are split first, on LF, CRLF or CR alike, so no cell can hold a line break
        rows = list(csv.reader(split_lines(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    except csv.Error as exc:
        raise UserError(f"unreadable TSV ({exc})", path) from exc
    if not rows or [c.strip().lower() for c in rows[0][:4]] != ["concept", "lang", "status", "term"]:
        raise UserError("line 1: expected the header concept<TAB>lang<TAB>status<TAB>term", path)
    concepts: dict[str, Concept] = {}
    seen: dict[tuple[str, str], set[str]] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 4:
            raise UserError(f"{path}: line {n}: expected 4 tab-separated columns, got {len(row)}")
        concept, lang, status, term = (c.strip() for c in row[:4])
        _add(
            concepts,
            Term(concept, lang, term, status, row[4].strip() if len(row) > 4 else ""),
            f"{path}: line {n}",
            seen,
        )
    return concepts


def _read_tbx(path: Path, text: str) -> dict[str, Concept]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line, _col = exc.position
        raise UserError(
            f"line {line}: invalid TBX/XML ({exc.msg if hasattr(exc, 'msg') else exc})", path
        ) from exc
    concepts: dict[str, Concept] = {}
    seen: dict[tuple[str, str], set[str]] = {}
    entries = [e for e in root.iter() if _local(e.tag) in ("termEntry", "conceptEntry")]
    if not entries:
        raise UserError("no termEntry/conceptEntry elements", path)
    for n, entry in enumerate(entries, start=1):
        cid = entry.get("id") or f"concept-{n}"
        for lang_set in (e for e in entry if _local(e.tag) in ("langSet", "langSec")):  # TBX v2, v3
            lang = lang_set.get(XML_LANG) or lang_set.get("lang") or ""
            for tig in (e for e in lang_set.iter() if _local(e.tag) in ("tig", "ntig", "termSec")):
                term_el = next((e for e in tig.iter() if _local(e.tag) == "term"), None)
                if term_el is None:
                    continue
                status = "preferred"
                for note in (e for e in tig.iter() if _local(e.tag) in ("termNote", "admin")):
                    if note.get("type") == "administrativeStatus" and note.text:
                        raw = note.text.strip().lower()
                        status = _TBX_STATUS.get(raw, raw)
                _add(
                    concepts,
                    Term(cid, lang, "".join(term_el.itertext()).strip(), status),
                    f"{path}: concept {cid}",
                    seen,
                )
    return concepts


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def load_glossary(path: str | Path) -> Glossary:
    """The glossary at `path`. A file read before and unchanged since (same size, time and
    inode) is not parsed again: commands validate their inputs before any work and read
    them again to use them, and a 100,000-term glossary takes seconds to parse."""
    path = Path(path)
    if not path.is_file():
        raise UserError("no such glossary", path)
    info = path.stat()
    return _load_glossary(str(path), (info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev))


@lru_cache(maxsize=4)
def _load_glossary(name: str, _unchanged: tuple[int, ...]) -> Glossary:
    from evalharness.corpus.ingest import read_text_input

    path = Path(name)
    text = read_text_input(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        concepts = _read_yaml(path, text)
    elif suffix in (".tsv", ".tab"):
        concepts = _read_tsv(path, text)
    elif suffix in (".tbx", ".xml"):
        concepts = _read_tbx(path, text)
    else:
        raise UserError("unknown glossary format (use .yaml, .tsv or .tbx)", path)
    if not concepts:
        raise UserError("glossary has no concepts", path)
    glossary = Glossary(concepts, source=str(path))
    if (message := _shared_warning(glossary, path)) is not None:
        warn(message)  # once per file as it stands: the memo serves the same glossary again
    return glossary
