"""Word-level differences between two texts, for showing *what* changed ("Skicklig" ->
"Skickad"), and marked stretches of a text (glossary terms, a model's error spans)."""

from __future__ import annotations

import difflib
import re

from evalharness.reports.view import Span

_TOKENS = re.compile(r"\S+\s*|\s+")  # a word with the space after it


def _opcodes(old: str, new: str):
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    ka, kb = [t.strip() for t in a], [t.strip() for t in b]  # compare words, keep the spacing
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ka, kb, autojunk=False).get_opcodes():
        yield op, "".join(a[i1:i2]), "".join(b[j1:j2])


def word_diff(old: str, new: str) -> tuple[list[Span], list[Span]]:
    """(old with deletions marked, new with insertions marked); whitespace kept as is."""
    left: list[Span] = []
    right: list[Span] = []
    for op, a, b in _opcodes(old, new):
        if op == "equal":
            left.append(Span(text=a))
            right.append(Span(text=b))
            continue
        left.append(Span(text=a, kind="del"))
        right.append(Span(text=b, kind="ins"))
    return _merge(left), _merge(right)


def inline_diff(old: str, new: str) -> list[Span]:
    """One text, like `git diff --word-diff`: what `new` dropped from `old` struck through,
    what it added marked, the rest plain. "Skicklig" -> "Skickad" reads [-Skicklig-]{+Skickad+}."""
    out: list[Span] = []
    for op, a, b in _opcodes(old, new):
        if op == "equal":
            out.append(Span(text=b))
            continue
        out.append(Span(text=a, kind="del"))
        if a and b and not a[-1].isspace():  # keep the two apart: "Skicklig Skickad", not "SkickligSkickad"
            out.append(Span(text=" "))
        out.append(Span(text=b, kind="ins"))
    return _merge(out)


def highlight(text: str, spans: list[tuple[int, int]]) -> list[Span]:
    """`text` with the character spans marked as terms (overlaps merged)."""
    return mark(text, [(start, end, "term") for start, end in spans])


def mark(text: str, marks: list[tuple[int, int, str]]) -> list[Span]:
    """`text` with character ranges marked by kind; where ranges overlap the later one wins
    (callers list what matters most last). Offsets outside the text are clipped."""
    kinds = ["plain"] * len(text)
    for start, end, kind in marks:
        start, end = max(start, 0), min(end, len(text))
        kinds[start:end] = [kind] * max(end - start, 0)
    out: list[Span] = []
    begin = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or kinds[i] != kinds[begin]:
            out.append(Span(text=text[begin:i], kind=kinds[begin]))  # type: ignore[arg-type]
            begin = i
    return out


def _merge(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for span in spans:
        if not span.text:
            continue
        if out and out[-1].kind == span.kind:
            out[-1] = Span(text=out[-1].text + span.text, kind=span.kind)
        else:
            out.append(span)
    return out
