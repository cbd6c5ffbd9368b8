"""`tiny-marian`: the untrained fixture model for whatever pair is asked, built on first use
under runs/.fixtures (or $EVALHARNESS_FIXTURES) and then run through the real marian backend."""

from __future__ import annotations

from collections.abc import Sequence

from evalharness.backends.base import Backend, Hypothesis
from evalharness.backends.fixtures import build_tiny_marian, fixtures_dir
from evalharness.backends.marian import MARIAN_OPTIONS, MarianBackend
from evalharness.backends.registry import register_backend
from evalharness.errors import UserError


class TinyMarian(Backend):
    kind = "marian"  # it is the marian backend; the fingerprint says it is an untrained fixture

    def __init__(self, **options) -> None:
        self.options = options
        self.inner: MarianBackend | None = None

    def prepare(self, sources: Sequence[str], src_lang: str, tgt_lang: str) -> None:
        folder = fixtures_dir() / f"tiny-marian-{src_lang}-{tgt_lang}"
        if not (folder / "model.safetensors").is_file():
            try:
                build_tiny_marian(folder, src_lang, tgt_lang)
            except (OSError, UserError):
                if not (folder / "model.safetensors").is_file():  # not another process building it
                    raise
        self.inner = MarianBackend(str(folder), **self.options)
        self.inner.prepare(sources, src_lang, tgt_lang)

    def _ready(self) -> MarianBackend:
        if self.inner is None:
            raise RuntimeError("tiny-marian: prepare() must run first (it picks the language pair)")
        return self.inner

    def translate(self, segments: Sequence[str], src_lang: str, tgt_lang: str) -> list[Hypothesis]:
        return self._ready().translate(segments, src_lang, tgt_lang)

    def describe(self) -> dict:
        return self._ready().describe()

    def libraries(self) -> tuple[str, ...]:
        return self._ready().libraries()

    def fingerprint(self):
        """The inner marian backend's: same model directory, same output, same cache entries."""
        return self._ready().fingerprint()

    def determinism(self) -> dict:
        return self._ready().determinism()


@register_backend("tiny-marian", options=MARIAN_OPTIONS)
def make_tiny_marian(argument: str | None = None, **options) -> TinyMarian:
    if argument:
        raise UserError(f"tiny-marian takes no argument (got {argument!r})")
    return TinyMarian(**options)
