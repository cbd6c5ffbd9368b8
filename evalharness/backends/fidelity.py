"""Does the CTranslate2 copy of a model translate like the original? The same sources go
through `marian:` (transformers) and `ct2:`; the share of identical outputs and BLEU/chrF of
the CT2 output against the transformers output say how far apart they are.

With float32 and greedy decoding the two must agree token for token; quantised compute
types (int8) may differ a little, and the report says by how much. A converted model that
produces something else entirely (users have seen converted multilingual OPUS-MT models
emit gibberish) shows up as a low BLEU here before anyone trusts its scores."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from evalharness.backends.registry import create_backend
from evalharness.backends.runner import translate_segments

# Below this BLEU (CT2 against transformers) the converted model is not the same system.
DIVERGENT_BLEU = 50.0


class Difference(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    transformers: str
    ctranslate2: str


class FidelityReport(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: int = 1
    model: str
    compute_type: str
    num_beams: int
    segments: int
    identical: int
    bleu: float  # CT2 output scored against the transformers output
    chrf: float
    differences: list[Difference]  # the first few

    @property
    def identical_share(self) -> float:
        return self.identical / self.segments if self.segments else 1.0

    @property
    def must_match(self) -> bool:
        """float32 greedy: the two engines compute the same thing and must agree exactly."""
        return self.compute_type == "float32" and self.num_beams == 1

    @property
    def ok(self) -> bool:
        if self.must_match:
            return self.identical == self.segments
        return self.bleu >= DIVERGENT_BLEU

    def summary(self) -> str:
        head = (
            f"{self.model} ({self.compute_type}, beams {self.num_beams}): {self.identical} of {self.segments} "
            f"outputs identical ({self.identical_share:.0%}); BLEU {self.bleu:.1f}, chrF {self.chrf:.1f} "
            "of CTranslate2 against transformers"
        )
        if self.ok:
            return head + (": identical, as float32 greedy must be" if self.must_match else "")
        if self.must_match:
            return (
                head
                + ": float32 greedy decoding must give identical output; the converted model is not the same"
            )
        return (
            head
            + f": below {DIVERGENT_BLEU:.0f} BLEU, the converted model does not translate like the original"
        )


def check_fidelity(
    model: str,
    sources: Sequence[str],
    src_lang: str,
    tgt_lang: str,
    compute_type: str = "float32",
    num_beams: int = 1,
    max_new_tokens: int = 256,
    device: str = "cpu",
    keep: int = 5,
) -> FidelityReport:
    from sacrebleu.metrics import BLEU, CHRF

    options = {"num_beams": num_beams, "max_new_tokens": max_new_tokens, "device": device}
    outputs = []
    for backend in (
        create_backend(f"marian:{model}", **options),
        create_backend(f"ct2:{model}", compute_type=compute_type, **options),
    ):
        try:
            hyps, _ = translate_segments(backend, sources, src_lang, tgt_lang, cache=None)
            outputs.append([h.text for h in hyps])
            if backend.kind == "ct2":
                compute_type = backend.compute_type
        finally:
            backend.close()
    hf, ct = outputs
    differing = [
        Difference(source=s, transformers=a, ctranslate2=b)
        for s, a, b in zip(sources, hf, ct, strict=True)
        if a != b
    ]
    return FidelityReport(
        model=model,
        compute_type=compute_type,
        num_beams=num_beams,
        segments=len(sources),
        identical=len(sources) - len(differing),
        bleu=BLEU().corpus_score(ct, [hf]).score,
        chrf=CHRF().corpus_score(ct, [hf]).score,
        differences=differing[:keep],
    )
