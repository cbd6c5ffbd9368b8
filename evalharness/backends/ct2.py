"""`ct2:MODEL`: a Hugging Face Marian model run by CTranslate2 (`pip install evalharness[ct2]`).

The model (hub id or local directory, exactly as for `marian:`) is converted once with
CTranslate2's own converter into a cache folder keyed by the model's weights, config and
tokenizer hashes and the CTranslate2 version; later runs load the converted copy. Conversion
keeps float32 weights; the compute type is chosen when the model loads (`int8` on CPU,
`float16` on CUDA, or `compute_type=...`), so one conversion serves every compute type.

Tokenisation is the model's own (the same SentencePiece models and vocabulary as the
`marian` backend), batches are the marian backend's (by tokens, longest first), and
decoding follows transformers' semantics: where the model forces `</s>` at the length
limit, CTranslate2 decodes one token fewer, so greedy float32 output equals `marian:`'s
token for token (tested; `evalharness backends check-fidelity` measures it on any model)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from functools import cached_property
from pathlib import Path

from evalharness.backends.marian import (
    CONFIG_FILES,
    MARIAN_OPTIONS,
    TOKENIZER_EXTRA,
    TOKENIZER_FILES,
    MarianBackend,
    determinism_record,
    files_sha256,
)
from evalharness.backends.registry import register_backend
from evalharness.errors import UserError, optional_module
from evalharness.fileio import building_dir

log = logging.getLogger(__name__)

COMPUTE_TYPES = (
    "auto",
    "float32",
    "float16",
    "bfloat16",
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
)
INSTALL_HINT = "the ct2 backend needs CTranslate2: pip install 'evalharness[ct2]'"


def ct2_cache_dir() -> Path:
    return Path(os.environ.get("EVALHARNESS_CT2_CACHE", "runs/.cache/ct2"))


def _ctranslate2():
    return optional_module("ctranslate2", INSTALL_HINT)


def conversion_key(model_dir: Path) -> str:
    """What a converted model depends on: weights, config, tokenizer files, converter version."""
    fields = {
        "weights": files_sha256(sorted(model_dir.glob("*.safetensors"))),
        "config": files_sha256([model_dir / f for f in CONFIG_FILES]),
        "tokenizer": files_sha256([model_dir / f for f in TOKENIZER_FILES + TOKENIZER_EXTRA]),
        "ctranslate2": _ctranslate2().__version__,
        "quantization": None,  # float32 weights; compute type chosen at load time
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:24]


def convert_once(model_dir: Path, cache: Path | None = None) -> Path:
    """The converted model for `model_dir`, converting it on first use (atomically: a crash
    never leaves a half-written model that a later run would trust)."""
    target = (cache or ct2_cache_dir()) / conversion_key(model_dir)
    if (target / "model.bin").is_file():
        return target
    from ctranslate2.converters import TransformersConverter
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    log.info("converting %s for CTranslate2 into %s", model_dir, target)
    try:
        with building_dir(target) as tmp:
            TransformersConverter(str(model_dir)).convert(str(tmp / "model"), quantization=None, force=True)
            for item in (tmp / "model").iterdir():
                item.rename(tmp / item.name)
            (tmp / "model").rmdir()
    except (OSError, UserError):
        if not (target / "model.bin").is_file():  # not another process converting the same model
            raise
    return target


class CT2Backend(MarianBackend):
    kind = "ct2"

    def __init__(
        self, model: str, revision: str | None = None, compute_type: str = "auto", threads: int = 0, **kw
    ):
        _ctranslate2()  # a clear error before anything else when the extra is not installed
        if compute_type not in COMPUTE_TYPES:
            raise UserError(f"unknown compute_type {compute_type!r} ({', '.join(COMPUTE_TYPES)})")
        if threads < 0:
            raise UserError("threads must be 0 (CTranslate2's default) or positive")
        kw.pop("dtype", None)  # torch's; CTranslate2 has compute types
        super().__init__(model, revision=revision, **kw)
        self.requested_compute, self.threads = compute_type, threads

    @cached_property
    def device(self) -> str:
        cuda = _ctranslate2().get_cuda_device_count() > 0
        if self.requested_device == "auto":
            return "cuda" if cuda else "cpu"
        if self.requested_device.startswith("cuda") and not cuda:
            raise UserError("device cuda requested but CTranslate2 sees no GPU")
        return self.requested_device

    @cached_property
    def compute_type(self) -> str:
        ct2 = _ctranslate2()
        device = self.device.split(":")[0]
        chosen = self.requested_compute
        if chosen == "auto":
            chosen = "float16" if device == "cuda" else "int8"
        supported = ct2.get_supported_compute_types(device)
        if chosen not in supported:
            raise UserError(
                f"compute_type {chosen!r} is not supported on {device} here ({', '.join(sorted(supported))})"
            )
        return chosen

    @cached_property
    def converted(self) -> Path:
        return convert_once(self.path)

    @cached_property
    def translator(self):
        ct2 = _ctranslate2()
        device, _, index = self.device.partition(":")
        return ct2.Translator(
            str(self.converted),
            device=device,
            device_index=int(index or 0),
            compute_type=self.compute_type,
            intra_threads=self.threads,
        )

    @property
    def decoding_length(self) -> int:
        """transformers counts a forced final </s> within max_new_tokens; CTranslate2 does not."""
        forced = self.generation_config.get("forced_eos_token_id", self.config.get("forced_eos_token_id"))
        return self.new_token_limit - (1 if forced is not None else 0)

    def generate(self, batch: list[list[int]]) -> list[str]:
        tokens = [self.tokenizer.convert_ids_to_tokens(ids) for ids in batch]
        results = self.translator.translate_batch(
            tokens,
            beam_size=self.num_beams,
            max_decoding_length=self.decoding_length,
            max_batch_size=0,  # the batch is already sized by tokens
        )
        return [
            self.tokenizer.decode(
                self.tokenizer.convert_tokens_to_ids(r.hypotheses[0]), skip_special_tokens=True
            )
            for r in results
        ]

    def libraries(self) -> tuple[str, ...]:
        return ("ctranslate2", "transformers", "sentencepiece")

    def describe(self) -> dict:
        out = super().describe()
        out.pop("dtype", None)
        out.update(
            engine="ctranslate2",
            converted_sha256=files_sha256([self.converted / "model.bin"]),
            compute_type=self.compute_type,
            max_decoding_length=self.decoding_length,
            threads=self.threads,
        )
        return out

    def determinism(self) -> dict:
        settings = {"device": self.device, "compute_type": self.compute_type, "beam_size": self.num_beams}
        return determinism_record(self.device, settings)


CT2_OPTIONS = {
    **{k: v for k, v in MARIAN_OPTIONS.items() if k != "dtype"},
    "compute_type": "auto",
    "threads": 0,
}


@register_backend("ct2", options=CT2_OPTIONS)
def make_ct2(argument: str | None = None, **options) -> CT2Backend:
    if not argument:
        raise UserError("the ct2 backend needs a model: ct2:HUB_ID or ct2:PATH")
    model, _, revision = argument.partition("@")
    return CT2Backend(model, revision=revision or None, **options)
