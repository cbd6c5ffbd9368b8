"""A chain of backends (sv -> en -> hi), keeping the intermediate text for inspection."""

from __future__ import annotations

from collections.abc import Sequence

from evalharness.backends.base import Backend, Hypothesis, as_hypothesis
from evalharness.backends.registry import create_backend, register_backend, stage_options
from evalharness.corpus.language import check_language
from evalharness.errors import UserError


class PivotBackend(Backend):
    kind = "pivot"

    def __init__(self, stages: list[Backend], via: list[str]) -> None:
        if len(stages) < 2 or len(via) != len(stages) - 1:
            raise UserError("a pivot chain needs at least two stages and one language between each")
        self.stages, self.via = stages, via

    def _pairs(self, src_lang: str, tgt_lang: str) -> list[tuple[str, str]]:
        langs = [src_lang, *self.via, tgt_lang]
        return list(zip(langs, langs[1:], strict=False))

    def prepare(self, sources: Sequence[str], src_lang: str, tgt_lang: str) -> None:
        for stage, (a, b) in zip(self.stages, self._pairs(src_lang, tgt_lang), strict=True):
            stage.prepare(sources if stage is self.stages[0] else [], a, b)

    def translate(self, segments: Sequence[str], src_lang: str, tgt_lang: str) -> list[Hypothesis]:
        texts = list(segments)
        inter: list[list[str]] = [[] for _ in texts]
        flags: list[set[str]] = [set() for _ in texts]
        pairs = self._pairs(src_lang, tgt_lang)
        for n, (stage, (a, b)) in enumerate(zip(self.stages, pairs, strict=True)):
            out = [as_hypothesis(h) for h in stage.translate(texts, a, b)]
            if len(out) != len(texts):
                raise RuntimeError(
                    f"pivot stage {n + 1} returned {len(out)} hypotheses for {len(texts)} segments"
                )
            for i, hyp in enumerate(out):
                flags[i].update(hyp.flags)
                if n < len(self.stages) - 1:
                    inter[i].append(hyp.text)
            texts = [h.text for h in out]
        return [
            Hypothesis(t, tuple(sorted(f)), tuple(m)) for t, f, m in zip(texts, flags, inter, strict=True)
        ]

    def describe(self) -> dict:
        return {"via": self.via, "stages": [s.fingerprint().as_dict() for s in self.stages]}

    def determinism(self) -> dict:
        stages = [s.determinism() for s in self.stages]
        flags = [s.get("deterministic") for s in stages]
        overall = False if False in flags else (None if None in flags else True)
        return {"deterministic": overall, "stages": stages}

    def close(self) -> None:
        for stage in self.stages:
            stage.close()


@register_backend("pivot", options={"via": "en"})
def make_pivot(argument: str | None = None, via: str = "en", **options) -> PivotBackend:
    if not argument or "+" not in argument:
        raise UserError("a pivot spec chains backends with '+': pivot:SPEC+SPEC")
    specs = argument.split("+")
    langs = [check_language(v) for v in via.split(",")] if via else []
    if len(langs) == 1:
        langs = langs * (len(specs) - 1)
    return PivotBackend([create_backend(spec, **stage_options(spec, options)) for spec in specs], langs)
