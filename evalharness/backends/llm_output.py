"""What an LLM said, and the translation in it. Chat models wrap translations ("Here is the
translation:", "**Swedish:**", quotes, code fences) and add notes after them; some refuse,
some answer in several lines where the source had one. The raw output is kept with every
hypothesis; the translation is extracted by a few conservative rules, and what was removed
or noticed becomes a flag the report shows:

- `commentary`: a wrapper or a note was removed (the model said more than the translation);
- `refusal`: the output reads as a refusal ("I'm sorry, I can't help with that");
- `multiline`: several lines where the source has one (joined with spaces).

Conservative means: a rule that could take part of a real translation is not applied when
the source itself has that shape (a code fence, quotes at its ends, as many lines), and a
note is cut only from lines beyond the source's own line count."""

from __future__ import annotations

import re

from evalharness.backends.languages import language_name

_FENCE = re.compile(r"```[^\n`]*\n(.*?)(?:```|\Z)", re.S)
_COURTESY = r"(?:(?:sure|certainly|of course|okay|ok|absolutely)\b[^\n:]{0,40}?[.!,:]\s*)?"
# "Here is the translation:" / "Here's the Swedish version:" / "Sure, here you go:" (own line)
_LEAD = re.compile(
    rf"^\s*{_COURTESY}(?:here(?:'s| is| are)\b[^\n:]{{0,80}}?\b(?:translat\w*|version|rendering)\b[^\n:]{{0,40}}:"
    rf"|here(?:'s| is| are| you go)\b[^\n:]{{0,60}}:[ \t]*\n)\s*",
    re.I,
)
_LABEL = r"^\s*[*_]{{0,2}}\s*(?:the\s+)?(?:{name}\s*(?:translation|version)?|translat(?:ion|ed text))\s*[*_]{{0,2}}\s*:\s*[*_]{{0,2}}\s*"
_NOTE = re.compile(
    r"^\s*[(*_]{0,3}\s*(?:notes?|explanation|translator'?s notes?|n\.b\.)\s*[*_]{0,2}\s*[:)—–-]"
    r"|^\s*(?:this translation\b|i (?:have|'ve) (?:translated|kept|preserved|used)\b)",
    re.I,
)
_REFUSAL_AI = re.compile(
    r"\b(?:as an ai\b|as a language model\b|i (?:can ?not|can't|won't|am unable to|'m unable to|am not able to) "
    r"(?:help|assist|translate|comply|provide|fulfil|fulfill|do that|process))",
    re.I,
)
_REFUSAL_LEAD = re.compile(r"^\s*(?:i'?m sorry|i am sorry|sorry,|i apologi[sz]e)\b", re.I)
_QUOTES = [('"', '"'), ("“", "”"), ("«", "»"), ("„", "“"), ("'", "'"), ("‘", "’"), ("「", "」"), ("»", "«")]
_QUOTE_CHARS = "\"'“”«»„‘’「」"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def extract(raw: str, source: str, tgt: str) -> tuple[str, tuple[str, ...]]:
    """(translation, flags) from a model's output for `source` into language `tgt`."""
    flags: list[str] = []
    text, source = raw.strip(), source.strip()
    if _REFUSAL_AI.search(text) or (_REFUSAL_LEAD.match(text) and tgt != "en"):
        flags.append("refusal")  # in English, "I'm sorry, ..." may be the translation itself
    fenced = _FENCE.search(text) if "```" not in source else None
    if fenced:
        rest = (text[: fenced.start()] + text[fenced.end() :]).strip()
        text = fenced.group(1).strip()
        if rest:
            flags.append("commentary")
    label = re.compile(_LABEL.format(name=re.escape(language_name(tgt))), re.I)
    for pattern in (_LEAD, label):  # "Here is the translation:\nSwedish: ..." loses both
        found = pattern.match(text)
        if found and found.end() < len(text) and not pattern.match(source):
            text = text[found.end() :].strip()
            flags.append("commentary")
    lines = text.splitlines()
    own = len(_lines(source))
    kept = 0
    for n, line in enumerate(lines):
        if line.strip():
            kept += 1
        if kept > own and _NOTE.match(line) and n > 0:  # a note after as many lines as the source has
            text = "\n".join(lines[:n]).strip()
            flags.append("commentary")
            break
    if not (source[:1] in _QUOTE_CHARS or source[-1:] in _QUOTE_CHARS):
        for left, right in _QUOTES:
            inner = text[len(left) : -len(right)]
            wrapped = len(text) > 1 and text.startswith(left) and text.endswith(right)
            if wrapped and left not in inner and right not in inner:  # one quotation, not two
                text = inner.strip()
                break
    lines = _lines(text)
    if len(lines) > 1 and len(lines) > own:
        flags.append("multiline")
    text = " ".join(lines)
    return text, tuple(dict.fromkeys(flags))
