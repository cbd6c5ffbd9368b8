"""Prompts as versioned files: what a chat backend (openai, hf-causal, vllm) sends for a
segment. A prompt file (TOML) holds a system message, a user template, optional few-shot
examples and the texts that add a segment's required terms and its document context; the
whole file's content is part of the backend's fingerprint, so a changed prompt never reads
translations cached under the old one. `prompt_files/chat.toml` is the default.

Examples become earlier turns of the conversation (the user template filled with the
example's source, and the example's target as the assistant's reply); an example may name
the pair it is for (`pair = "sv-hi"`), else it is used for every pair."""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalharness.backends.base import SourceItem
from evalharness.backends.languages import language_name
from evalharness.errors import UserError

DEFAULT = Path(__file__).with_name("prompt_files") / "chat.toml"
USER_FIELDS = {"source", "source_language", "target_language", "src", "tgt", "terms", "context"}


class Example(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    target: str
    pair: str | None = None  # "sv-hi": only for this pair


class Prompt(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    version: int = Field(ge=1)
    system: str = ""
    user: str = Field(min_length=1)
    terms: str = "Use these translations for the terms it contains: {pairs}.\n"
    context: str = "It continues this text:\n{passage}\n"
    examples: tuple[Example, ...] = ()

    def digest(self) -> str:
        canon = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()

    def messages(self, item: SourceItem, src: str, tgt: str) -> list[dict[str, str]]:
        """The conversation for one segment: system, the examples' turns, the request."""
        out = [{"role": "system", "content": self.system}] if self.system else []
        for example in self.examples:
            if example.pair in (None, f"{src}-{tgt}"):
                out.append({"role": "user", "content": self._user(SourceItem(example.source), src, tgt)})
                out.append({"role": "assistant", "content": example.target})
        out.append({"role": "user", "content": self._user(item, src, tgt)})
        return out

    def _user(self, item: SourceItem, src: str, tgt: str) -> str:
        terms = ""
        if item.terms:
            terms = self.terms.format(pairs="; ".join(f"{a} → {b}" for a, b in item.terms))
        context = self.context.format(passage="\n".join(item.context)) if item.context else ""
        return self.user.format(
            source=item.text,
            source_language=language_name(src),
            target_language=language_name(tgt),
            src=src,
            tgt=tgt,
            terms=terms,
            context=context,
        )


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def load_prompt(path: str | Path | None = None) -> Prompt:
    """A prompt file, checked: known keys and placeholders only, one line per problem."""
    from evalharness.fileio import read_toml

    path = Path(path) if path else DEFAULT
    data = read_toml(path, "prompt file")
    try:
        prompt = Prompt.model_validate(data)
        checks = {"user": (prompt.user, USER_FIELDS), "terms": (prompt.terms, {"pairs"}),
                  "context": (prompt.context, {"passage"}), "system": (prompt.system, set())}  # fmt: skip
        for key, (template, allowed) in checks.items():
            unknown = _fields(template) - allowed
            if unknown:
                raise UserError(
                    f"{key}: unknown placeholder {{{sorted(unknown)[0]}}} (known: {', '.join(sorted(allowed)) or 'none'})",
                    path,
                )
        if "source" not in _fields(prompt.user):
            raise UserError("user: the template never says {source}", path)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UserError(
            f"{'.'.join(str(p) for p in first['loc']) or '(top level)'}: {first['msg']}", path
        ) from None
    except ValueError as exc:  # str.format's own complaints (an unmatched brace)
        raise UserError(f"malformed template ({exc})", path) from None
    return prompt


@dataclass(frozen=True)
class PromptInputs:
    """What prompts may add to a test set's source segments, per segment: the terms the
    translation must use (None: no glossary or annotations given) and the document each
    segment comes from (the context never reaches across documents)."""

    terms: list[tuple[tuple[str, str], ...]] | None = None
    documents: list[str] | None = None


def source_items(
    sources: Sequence[str], reads: frozenset[str], context_segments: int, inputs: PromptInputs
) -> list[str | SourceItem]:
    """The sources as a backend wants them: text, or `SourceItem`s with the required terms
    and up to `context_segments` preceding non-empty segments of the same document."""
    if not reads:
        return list(sources)
    if "terms" in reads and inputs.terms is None:
        raise UserError(
            "the backend's prompt asks for required terms (option terms=true), but no glossary "
            "(--glossary) or term annotations (--terms) were given"
        )
    docs = inputs.documents or [""] * len(sources)
    items: list[str | SourceItem] = []
    for i, text in enumerate(sources):
        context: list[str] = []
        j = i - 1
        while "context" in reads and j >= 0 and docs[j] == docs[i] and len(context) < context_segments:
            if sources[j].strip():
                context.insert(0, sources[j])
            j -= 1
        terms = inputs.terms[i] if "terms" in reads and inputs.terms is not None else ()
        items.append(SourceItem(text, tuple(terms), tuple(context)))
    return items
