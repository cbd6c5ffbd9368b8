"""Separate an article's text from the web page around it.

The rules are general, not a list of known strings: a line is boilerplate when it
is a counter ("Comment (0)"), a date line, a repeat (within the page or across the
documents being paired), lacks sentence-final punctuation (banners, headings,
menus, bylines, "No data"), or lies outside the page's main block of text.
Every dropped line keeps its reason so the manifest can explain it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from rapidfuzz import fuzz

from evalharness.corpus.ingest import Document, Line

SENTENCE_END = re.compile(r"""[.!?।॥…。！？;:]["'”’»)\]]*$""")
COUNTER = re.compile(r"^[^\d()]{1,30}\(\d+\)$")  # "Comment (0)", "Kommentar (0)", "टिप्पणी (0)"
DATE = re.compile(r"(?<!\d)(\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2})(?!\d)")
# A run of this many dropped non-blank lines separates the article from page furniture.
BLOCK_GAP = 3
# Longer lines shared by two documents are content (an untranslated sentence), not template.
TEMPLATE_WORDS = 12
NEAR_DUPLICATE = 90  # rapidfuzz ratio above which two lines are the same title


@dataclass(frozen=True)
class Dropped:
    line: Line
    reason: str


@dataclass(frozen=True)
class CleanDocument:
    doc: Document
    kept: tuple[Line, ...]
    dropped: tuple[Dropped, ...]


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def _line_reason(text: str, repeats_here: int, in_other_docs: bool, seen_long: list[str]) -> str | None:
    words = text.split()
    if COUNTER.match(text):
        return "counter line (comments/likes)"
    if DATE.search(text) and len(words) <= 6:
        return "date line"
    if in_other_docs and len(words) <= TEMPLATE_WORDS:
        return "line repeated across documents (byline, footer or site template)"
    if repeats_here > 1:
        return "line repeated within the document"
    if any(fuzz.ratio(_key(text), prev) >= NEAR_DUPLICATE for prev in seen_long):
        return "repeated title (near-duplicate of an earlier line)"
    if not SENTENCE_END.search(text):
        if len(words) <= 8:
            return "short line without sentence punctuation (banner, menu, byline, label)"
        return "heading without sentence punctuation"
    return None


def strip_boilerplate(docs: list[Document]) -> list[CleanDocument]:
    """Clean several documents together: lines shared between them are page template."""
    per_doc_keys = [Counter(_key(ln.text) for ln in d.nonblank()) for d in docs]
    cleaned = []
    for i, doc in enumerate(docs):
        others: set[str] = set()
        for j, keys in enumerate(per_doc_keys):
            if j != i:
                others.update(keys)
        cleaned.append(_clean_one(doc, per_doc_keys[i], others))
    return cleaned


def _clean_one(doc: Document, counts: Counter, others: set[str]) -> CleanDocument:
    verdicts: list[tuple[Line, str | None]] = []
    seen_long: list[str] = []
    for line in doc.nonblank():
        key = _key(line.text)
        reason = _line_reason(line.text, counts[key], key in others, seen_long)
        verdicts.append((line, reason))
        if len(line.text.split()) >= 6:
            seen_long.append(key)
    verdicts = _keep_main_block(verdicts)
    kept = tuple(ln for ln, r in verdicts if r is None)
    dropped = tuple(Dropped(ln, r) for ln, r in verdicts if r is not None)
    return CleanDocument(doc=doc, kept=kept, dropped=dropped)


def _keep_main_block(verdicts: list[tuple[Line, str | None]]) -> list[tuple[Line, str | None]]:
    """Kept lines separated from the largest block by BLOCK_GAP dropped lines are page furniture
    (related-article links, teasers)."""
    blocks: list[list[int]] = [[]]
    gap = 0
    for idx, (_, reason) in enumerate(verdicts):
        if reason is None:
            if gap >= BLOCK_GAP and blocks[-1]:
                blocks.append([])
            blocks[-1].append(idx)
            gap = 0
        else:
            gap += 1
    if len(blocks) <= 1:
        return verdicts
    main = max(blocks, key=lambda b: sum(len(verdicts[i][0].text) for i in b))
    outside = {i for b in blocks if b is not main for i in b}
    return [
        (ln, "outside the main text block (related links, teasers)" if i in outside else r)
        for i, (ln, r) in enumerate(verdicts)
    ]
