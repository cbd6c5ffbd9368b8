"""What an LLM said, and the translation in it. Chat models wrap translations ("Here is the
translation:", quotes, code fences) and add notes after them; some refuse, some answer in
several lines where the source had one. The raw output is kept with every hypothesis; the
translation is extracted by a few conservative rules, and what was removed or noticed
becomes a flag the report shows:

- `commentary`: a wrapper or a note was removed (the model said more than the translation);
- `refusal`: the output reads as a refusal ("I'm sorry, I can't ...");
- `multiline`: several lines where the source has one (joined with spaces)."""

from __future__ import annotations

import re

from evalharness.backends.languages import language_name

_FENCE = re.compile(r"```[^\n`]*\n(.*?)(?:```|\Z)", re.S)
_LEAD = re.compile(
    r"^\s*(?:(?:sure|certainly|of course|okay|ok)\b[^\n:]{0,40}[.!,:]\s*)?"
    r"(?:here(?:'s| is| are)\b[^\n:]{0,80}?\btranslat\w*[^\n:]{0,40}:|(?:the\s+)?translat(?:ion|ed text)\s*:)\s*",
    re.I,
)
_NOTE = re.compile(
    r"\n\s*(?:\(?\s*(?:note|notes|explanation|translator'?s note|n\.b\.)\b[^\n]*|this translation\b[^\n]*|"
    r"i (?:have|'ve) (?:translated|kept)\b[^\n]*)",
    re.I,
)
_REFUSAL = re.compile(
    r"^\s*(?:i'?m sorry|i am sorry|sorry,|i (?:can ?not|can't|won't|am unable to|'m unable to)|"
    r"as an ai\b|i apologi[sz]e)",
    re.I,
)
_QUOTES = [('"', '"'), ("“", "”"), ("«", "»"), ("„", "“"), ("'", "'"), ("‘", "’"), ("「", "」")]


def extract(raw: str, source: str, tgt: str) -> tuple[str, tuple[str, ...]]:
    """(translation, flags) from a model's output for `source` into language `tgt`."""
    flags: list[str] = []
    text = raw.strip()
    if _REFUSAL.match(text):
        flags.append("refusal")
    fenced = _FENCE.search(text)
    if fenced:
        rest = (text[: fenced.start()] + text[fenced.end() :]).strip()
        text = fenced.group(1).strip()
        if rest:
            flags.append("commentary")
    lead = _LEAD.match(text)
    label = re.match(rf"^\s*{re.escape(language_name(tgt))}\s*(?:translation)?\s*:\s*", text, re.I)
    for found in (lead, label):
        if found and found.end() < len(text):
            text = text[found.end() :].strip()
            flags.append("commentary")
            break
    note = _NOTE.search(text)
    if note and note.start() > 0:
        text = text[: note.start()].strip()
        flags.append("commentary")
    for left, right in _QUOTES:
        wrapped = len(text) > 1 and text.startswith(left) and text.endswith(right)
        if wrapped and not (source.strip().startswith(left) and source.strip().endswith(right)):
            text = text[len(left) : -len(right)].strip()
            break
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and "\n" not in source.strip():
        flags.append("multiline")
    text = " ".join(lines)
    return text, tuple(dict.fromkeys(flags))
