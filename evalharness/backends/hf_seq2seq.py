"""`hf-seq2seq`: multilingual encoder-decoder models through transformers: NLLB, M2M100,
mBART-50 and MADLAD/T5. One model serves many pairs, so the language must be told: each
family's code for our language tags (`languages.py`: `swe_Latn` for NLLB, `sv_SE` for
mBART-50, `__sv__` for M2M100, a `<2sv>` prefix for MADLAD) is set on the tokenizer for the
source and forced as the first generated token for the target. The family is read from the
model (its tokenizer class and model type); `family=` names it by hand, `src_code=` and
`tgt_code=` name codes the table lacks. A code the tokenizer does not know is one line
before any translation, not noise in a language nobody asked for."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from evalharness.backends.base import Hypothesis, SourceItem, text_of
from evalharness.backends.hf_generate import (
    COMMON_OPTIONS,
    HFGenerateBackend,
    model_path_and_revision,
    source_token_counts,
)
from evalharness.backends.languages import model_code
from evalharness.backends.registry import register_backend
from evalharness.errors import UserError

FAMILIES = ("nllb", "m2m100", "mbart50", "madlad")
SEQ2SEQ_OPTIONS = {**COMMON_OPTIONS, "num_beams": 4, "family": "", "src_code": "", "tgt_code": ""}


class HFSeq2SeqBackend(HFGenerateBackend):
    kind = "hf-seq2seq"
    OPTIONS = SEQ2SEQ_OPTIONS
    code_modules = ("evalharness.backends.languages", "evalharness.backends.hf_models")

    def __init__(self, model: str, revision: str | None = None, **options) -> None:
        super().__init__(model, revision, options)
        if self.options["family"] and self.options["family"] not in FAMILIES:
            raise UserError(
                f"backend hf-seq2seq: unknown family {self.options['family']!r} ({', '.join(FAMILIES)})"
            )
        self.codes: tuple[str, str] | None = None  # set by prepare

    @cached_property
    def tokenizer(self):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.path)

    @cached_property
    def model(self):
        from transformers import AutoModelForSeq2SeqLM

        return self.load(AutoModelForSeq2SeqLM)

    @cached_property
    def family(self) -> str:
        """nllb, m2m100, mbart50 or madlad: the option, else what the model says it is."""
        if self.options["family"]:
            return self.options["family"]
        name = type(self.tokenizer).__name__.lower()
        model_type = self.config.get("model_type", "")
        for marker, family in (("nllb", "nllb"), ("m2m100", "m2m100"), ("mbart", "mbart50")):
            if marker in name:
                return family
        if model_type in ("t5", "mt5"):
            return "madlad"
        raise UserError(
            f"cannot tell which multilingual family model {self.model_id} is (tokenizer "
            f"{type(self.tokenizer).__name__}, model type {model_type!r}); pass family= ({', '.join(FAMILIES)})",
            self.path,
        )

    def code(self, tag: str, given: str) -> str:
        code = given or model_code(self.family, tag)
        token = f"__{code}__" if self.family == "m2m100" and not code.startswith("__") else code
        if self.tokenizer.convert_tokens_to_ids(token) in (None, self.tokenizer.unk_token_id):
            raise UserError(
                f"model {self.model_id} has no language token {token!r} for {tag!r}; "
                "name the model's code with src_code=/tgt_code="
            )
        return token

    def prepare(self, sources, src_lang: str, tgt_lang: str) -> None:
        self.codes = (
            self.code(src_lang, self.options["src_code"]),
            self.code(tgt_lang, self.options["tgt_code"]),
        )

    def describe_more(self) -> dict:
        return {"family": self.family}

    # -- generation ----------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids with the family's language marking: the source code set on the
        tokenizer, or (MADLAD) the target's `<2xx>` tag before the text."""
        src_code, tgt_code = self.codes  # type: ignore[misc]
        if self.family == "madlad":
            return self.tokenizer([f"{tgt_code} {t}" for t in texts])["input_ids"]
        # M2M100's tokenizer takes the plain code ("sv") and makes the token ("__sv__") itself
        self.tokenizer.src_lang = src_code.strip("_") if self.family == "m2m100" else src_code
        return self.tokenizer(list(texts))["input_ids"]

    def translate(
        self, segments: Sequence[str | SourceItem], src_lang: str, tgt_lang: str
    ) -> list[Hypothesis]:
        import torch

        if self.codes is None:
            self.prepare(segments, src_lang, tgt_lang)
        texts = [text_of(s) for s in segments]
        encoded = self.encode(texts)
        limits = [self.new_token_limit(n) for n in source_token_counts(self.tokenizer, texts)]
        forced = {}
        if self.family != "madlad":  # the target's code is the first token generated
            forced["forced_bos_token_id"] = self.tokenizer.convert_tokens_to_ids(self.codes[1])  # type: ignore[index]
        start = 1 + len(forced)  # the decoder's start token, then the forced code
        eos = self.tokenizer.eos_token_id
        out: list[Hypothesis | None] = [None] * len(texts)
        for batch in self.batches([len(e) for e in encoded], limits):
            inputs = self.tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt")
            inputs = {k: v.to(self.device) for k, v in inputs.items()}
            with torch.inference_mode():
                generated = self.model.generate(
                    **inputs,
                    max_new_tokens=max(limits[i] for i in batch) + len(forced),
                    do_sample=False,
                    num_beams=self.options["num_beams"],
                    **forced,
                )
            self.generate_calls += 1
            for row, i in enumerate(batch):
                new = generated[row, start:].tolist()[: limits[i]]
                stop = new.index(eos) if eos in new else None
                text = self.tokenizer.decode(new[:stop], skip_special_tokens=True).strip()
                out[i] = Hypothesis(text, self.flags() + (() if stop is not None else ("truncated",)))
        return out  # type: ignore[return-value]


@register_backend("hf-seq2seq", options=SEQ2SEQ_OPTIONS)
def make_hf_seq2seq(argument: str | None = None, **options) -> HFSeq2SeqBackend:
    model, revision = model_path_and_revision(argument, "hf-seq2seq")
    return HFSeq2SeqBackend(model, revision, **options)
