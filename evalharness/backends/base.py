"""The backend contract: a batch of source segments in, the same number of hypotheses out,
in order; and a fingerprint naming exactly what produced them.

The fingerprint is the translation cache's key, so it holds everything that determines the
output: what the backend describes (weights, tokenizer, options), the library versions, and
a digest of the code that ran (the backend's classes as they are bound now, and the shared
runner that post-processes hypotheses): a change in decoding code never reads old output."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from evalharness.versions import code_digest, library_versions

# Code every backend's output passes through (imported by name in `code_identity`).
SHARED_CODE = ("evalharness.backends.base", "evalharness.backends.runner")


@dataclass(frozen=True)
class Hypothesis:
    text: str
    flags: tuple[str, ...] = ()  # e.g. "truncated", "untrained-fixture", "commentary"
    intermediate: tuple[str, ...] = ()  # pivot chains: the text after each inner stage
    raw: str | None = None  # the model's whole output, when the translation was extracted from it


@dataclass(frozen=True)
class SourceItem:
    """A source segment with what a prompt may add to it: terms the translation must use
    (terminology-constrained translation) and the segments before it in its document. Only
    backends that say they read these (`Backend.reads`) get items; the others get text."""

    text: str
    terms: tuple[tuple[str, str], ...] = ()  # (source term, required target term)
    context: tuple[str, ...] = ()  # preceding source segments, oldest first

    def key(self) -> str:
        """The cache key: everything the prompt is built from (the text alone when nothing more)."""
        if not self.terms and not self.context:
            return hashlib.sha256(self.text.encode("utf-8")).hexdigest()
        return hashlib.sha256(self.as_json().encode("utf-8")).hexdigest()

    def as_json(self) -> str:
        return json.dumps([self.text, [list(t) for t in self.terms], list(self.context)], ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str) -> SourceItem:
        text, terms, context = json.loads(data)
        return cls(text, tuple((a, b) for a, b in terms), tuple(context))


def text_of(item: str | SourceItem) -> str:
    return item.text if isinstance(item, SourceItem) else item


def item_of(item: str | SourceItem) -> SourceItem:
    return item if isinstance(item, SourceItem) else SourceItem(item)


@dataclass(frozen=True)
class Fingerprint:
    """Everything that shapes the output. Equal fingerprints mean comparable outputs."""

    fields: dict = field(default_factory=dict)

    @property
    def digest(self) -> str:
        canon = json.dumps(self.fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()[:16]

    def as_dict(self) -> dict:
        return {"digest": self.digest, **self.fields}


class Backend(ABC):
    """Subclass, implement `translate` and `describe`, and register it by name."""

    kind: str = "backend"
    #: what a prompt reads besides the source: {"terms", "context"}; such backends are given
    #: `SourceItem`s (their cache key covers the terms and context), the others plain text
    reads: frozenset[str] = frozenset()
    context_segments: int = 0  # how many preceding segments "context" wants
    #: modules besides its classes' own whose code shapes this backend's output (prompt
    #: building, output extraction, language codes): part of its code digest
    code_modules: tuple[str, ...] = ()
    #: True for backends that finish segments one by one (a service answering requests in
    #: parallel): the runner takes their `stream` and caches each group as it arrives
    streams: bool = False

    def prepare(self, sources: Sequence[str], src_lang: str, tgt_lang: str) -> None:
        """Validate everything before any work starts (models, files, languages). Default: nothing."""

    @abstractmethod
    def translate(
        self, segments: Sequence[str | SourceItem], src_lang: str, tgt_lang: str
    ) -> list[str | Hypothesis]:
        """Translate a batch; return exactly one hypothesis per segment, in order. Segments
        are text, or `SourceItem`s for backends that read terms or context."""

    def stream(
        self, segments: Sequence[str | SourceItem], src_lang: str, tgt_lang: str
    ) -> Iterator[list[tuple[int, str | Hypothesis]]]:
        """Groups of (position, hypothesis), each position once, as they are finished.
        Default: one group, from `translate`."""
        yield list(enumerate(self.translate(segments, src_lang, tgt_lang)))

    @abstractmethod
    def describe(self) -> dict:
        """What shapes the output, besides the backend kind and library versions."""

    def libraries(self) -> tuple[str, ...]:
        return ()

    def code_identity(self) -> str:
        """sha256 of the code that makes this backend's output: its classes, the modules it
        names (`code_modules`) and the runner."""
        import importlib

        for name in (*SHARED_CODE, *self.code_modules):
            importlib.import_module(name)  # a module's source is read from the loaded module
        classes = [c for c in type(self).__mro__ if c not in (object, ABC)]
        return code_digest(*SHARED_CODE, *self.code_modules, *classes)

    def determinism(self) -> dict:
        """Whether the same input gives the same output run after run, and the settings that
        make it so. Backends that know say so; unknown is reported as unknown."""
        return {
            "deterministic": None,
            "note": f"backend {self.kind!r} does not say whether it is deterministic",
        }

    def fingerprint(self) -> Fingerprint:
        return Fingerprint(
            {
                "kind": self.kind,
                **self.describe(),
                "libraries": library_versions(*self.libraries()),
                "code_sha256": self.code_identity(),
            }
        )

    def usage(self) -> dict:
        """What this backend's work cost (a service: requests, retries, tokens, latencies),
        for the report; {} when there is nothing to say."""
        return {}

    def close(self) -> None:
        """Release models or files."""


def as_hypothesis(item: str | Hypothesis) -> Hypothesis:
    return item if isinstance(item, Hypothesis) else Hypothesis(text=str(item))
