"""Sentence splitting per language, with the fixes each splitter needs (see NOTES.md)."""

from __future__ import annotations

import re
from functools import cache

# Abbreviations the Moses list for Swedish lacks but Swedish news uses.
_SV_EXTRA_ABBREVIATIONS = (
    "bl.a",
    "t.ex",
    "m.m",
    "d.v.s",
    "dvs",
    "s.k",
    "fr.o.m",
    "t.o.m",
    "ca",
    "nr",
    "kl",
    "jfr",
    "resp",
    "osv",
)
_CLOSING_QUOTES = "\"'”’»)"
_GENERIC_BOUNDARY = re.compile(r"(?<=[.!?।॥。！？])[\"'”’»)]*\s+")


@cache
def _pysbd(lang: str):
    import pysbd

    return pysbd.Segmenter(language=lang, clean=False)


@cache
def _moses_splitter(lang: str):
    from sentence_splitter import SentenceSplitter

    splitter = SentenceSplitter(language=lang)
    if lang == "sv":
        splitter._SentenceSplitter__non_breaking_prefixes.update(
            {a: "default" for a in _SV_EXTRA_ABBREVIATIONS}
        )
    return splitter


def _pysbd_languages() -> frozenset[str]:
    import pysbd

    return frozenset(pysbd.languages.LANGUAGE_CODES)


def _moses_languages() -> frozenset[str]:
    from pathlib import Path

    import sentence_splitter

    folder = Path(sentence_splitter.__file__).parent / "non_breaking_prefixes"
    return frozenset(p.stem for p in folder.glob("*.txt"))


def segmenter_for(lang: str) -> str:
    """Which splitter a language gets: the name is recorded in the test-set manifest."""
    if lang in ("sv", "no", "fi", "is", "da") and lang in _moses_languages():
        return "sentence-splitter"
    if lang in _pysbd_languages():
        return "pysbd"
    if lang in _moses_languages():
        return "sentence-splitter"
    return "punctuation-regex"


def _reattach_closing_quotes(sentences: list[str]) -> list[str]:
    """pysbd ('hi') leaves a quote that closes after '।' at the start of the next sentence."""
    out: list[str] = []
    for sent in sentences:
        stripped = sent.lstrip()
        lead = len(stripped) - len(stripped.lstrip(_CLOSING_QUOTES))
        if out and lead and out[-1].rstrip().endswith(("।", ".", "!", "?")):
            out[-1] = out[-1].rstrip() + stripped[:lead]
            stripped = stripped[lead:]
        if stripped.strip():
            out.append(stripped)
    return out


def split_sentences(paragraph: str, lang: str) -> list[str]:
    """Split one paragraph (one input line) into sentences; never loses a character of text."""
    paragraph = paragraph.strip()
    if not paragraph:
        return []
    tool = segmenter_for(lang)
    if tool == "sentence-splitter":
        parts = _moses_splitter(lang).split(paragraph)
    elif tool == "pysbd":
        parts = _pysbd(lang).segment(paragraph)
        if lang in ("hi", "mr", "ur"):
            parts = _reattach_closing_quotes(parts)
    else:
        parts = _GENERIC_BOUNDARY.split(paragraph)
    return [p.strip() for p in parts if p and p.strip()]
