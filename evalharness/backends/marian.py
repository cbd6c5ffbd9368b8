"""MarianMT through transformers and torch: a local directory or a hub id, loaded the way
transformers users expect (Hugging Face cache first, download on first use when online,
cache only with HF_HUB_OFFLINE=1). Safetensors only."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from evalharness.backends.base import Backend, Hypothesis
from evalharness.backends.fixtures import FIXTURE_MARKER
from evalharness.backends.hf_models import (  # noqa: F401  (re-exported: ct2 and tests use them)
    check_weights,
    determinism_record,
    deterministic_torch,
    files_sha256,
    resolve_model,
    weights_sha256,
)
from evalharness.backends.registry import register_backend
from evalharness.errors import UserError

log = logging.getLogger(__name__)

TOKENIZER_FILES = ("source.spm", "target.spm", "vocab.json")
# Files besides the weights that decide the output: tokenization and model/generation config.
TOKENIZER_EXTRA = ("tokenizer_config.json", "special_tokens_map.json", "added_tokens.json")
CONFIG_FILES = ("config.json", "generation_config.json")
DOWNLOAD_PATTERNS = ["*.json", "*.spm", "*.safetensors", "*.txt", "*.model"]
_OPUS_NAME = re.compile(r"opus-mt-([a-z]{2,3})-([a-z]{2,3})$")


def check_model_dir(path: Path) -> None:
    """Refuse incomplete or pickled models before anything is loaded."""
    if not (path / "config.json").is_file():
        raise UserError("not a model directory: config.json is missing", path)
    missing = [f for f in TOKENIZER_FILES if not (path / f).is_file()]
    if missing:
        raise UserError(f"incomplete Marian model: tokenizer file(s) {', '.join(missing)} missing", path)
    check_weights(path)


def model_languages(path: Path, model: str) -> tuple[str | None, str | None]:
    """The pair the model says it supports: tokenizer config, else an opus-mt-SRC-TGT name."""
    cfg = path / "tokenizer_config.json"
    if cfg.is_file():
        data = json.loads(cfg.read_text(encoding="utf-8"))
        if data.get("source_lang") and data.get("target_lang"):
            return data["source_lang"], data["target_lang"]
    match = _OPUS_NAME.search(model.rstrip("/").split("/")[-1])
    return (match.group(1), match.group(2)) if match else (None, None)


class MarianBackend(Backend):
    kind = "marian"
    code_modules = ("evalharness.backends.hf_models",)  # determinism settings, model loading

    def __init__(
        self,
        model: str,
        revision: str | None = None,
        num_beams: int = 4,
        max_new_tokens: int = 256,
        batch_tokens: int = 4096,
        max_batch_size: int = 64,
        device: str = "auto",
        dtype: str = "float32",
    ) -> None:
        if num_beams < 1 or max_new_tokens < 1 or batch_tokens < 1 or max_batch_size < 1:
            raise UserError("num_beams, max_new_tokens, batch_tokens and max_batch_size must be positive")
        if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
            raise UserError(f"unknown device {device!r} (auto, cpu or cuda)")
        if dtype not in ("float32", "float16", "bfloat16"):
            raise UserError(f"unknown dtype {dtype!r} (float32, float16 or bfloat16)")
        self.model_id = model
        self.path, self.revision = resolve_model(model, revision, DOWNLOAD_PATTERNS)
        check_model_dir(self.path)
        self.languages = model_languages(self.path, model)
        self.num_beams, self.max_new_tokens = num_beams, max_new_tokens
        self.batch_tokens, self.max_batch_size = batch_tokens, max_batch_size
        self.requested_device, self.dtype_name = device, dtype
        self.torch_settings: dict | None = None  # set when the model loads
        self.generate_calls = 0  # observable: tests count model calls
        self.segments_generated = 0

    # -- loading -------------------------------------------------------------------------
    @cached_property
    def device(self) -> str:
        import torch

        if self.requested_device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if self.requested_device.startswith("cuda") and not torch.cuda.is_available():
            raise UserError("device cuda requested but torch sees no GPU")
        return self.requested_device

    @cached_property
    def tokenizer(self):
        from transformers import MarianTokenizer

        return MarianTokenizer.from_pretrained(self.path)

    @cached_property
    def model(self):
        import torch
        from transformers import MarianMTModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.torch_settings = deterministic_torch(self.device)
        model = MarianMTModel.from_pretrained(
            self.path, use_safetensors=True, dtype=getattr(torch, self.dtype_name)
        )
        return model.to(self.device).eval()

    @cached_property
    def config(self) -> dict:
        return json.loads((self.path / "config.json").read_text(encoding="utf-8"))

    @cached_property
    def generation_config(self) -> dict:
        from transformers import GenerationConfig

        return GenerationConfig.from_pretrained(self.path).to_diff_dict()

    @property
    def is_fixture(self) -> bool:
        return bool(self.config.get(FIXTURE_MARKER))

    @property
    def max_input_tokens(self) -> int:
        return min(
            int(self.config.get("max_position_embeddings", 512)), int(self.tokenizer.model_max_length or 512)
        )

    @property
    def new_token_limit(self) -> int:
        """max_new_tokens, capped so the decoder never runs past its position table."""
        return min(self.max_new_tokens, int(self.config.get("max_position_embeddings", 512)) - 1)

    # -- contract ------------------------------------------------------------------------
    def prepare(self, sources: Sequence[str], src_lang: str, tgt_lang: str) -> None:
        src, tgt = self.languages
        if src and tgt and (src, tgt) != (src_lang, tgt_lang):
            raise UserError(f"model {self.model_id} translates {src}-{tgt}, not {src_lang}-{tgt_lang}")
        _ = self.tokenizer  # the model itself loads on first use: a fully cached run never needs it

    def libraries(self) -> tuple[str, ...]:
        return ("torch", "transformers", "sentencepiece", "sacremoses")

    def describe(self) -> dict:
        generation = {k: v for k, v in self.generation_config.items() if k != "transformers_version"}
        generation.update(num_beams=self.num_beams, max_new_tokens=self.new_token_limit, do_sample=False)
        return {
            "model": self.model_id,
            "revision": self.revision,
            "weights_sha256": self._weights_sha256,
            "tokenizer_sha256": files_sha256([self.path / f for f in TOKENIZER_FILES + TOKENIZER_EXTRA]),
            "config_sha256": files_sha256([self.path / f for f in CONFIG_FILES]),
            "untrained_fixture": self.is_fixture,
            "generation": generation,
            "batch_tokens": self.batch_tokens,
            "max_batch_size": self.max_batch_size,
            "max_input_tokens": self.max_input_tokens,
            "device": self.device,
            "dtype": self.dtype_name,
        }

    @cached_property
    def _weights_sha256(self) -> str:
        return weights_sha256(self.path)

    def determinism(self) -> dict:
        settings = self.torch_settings or {"device": self.device, "note": "model not loaded (all from cache)"}
        return determinism_record(self.device, settings)

    def batches(self, lengths: list[int]) -> list[list[int]]:
        """Indices sorted by length, packed so that padded tokens stay within the budget."""
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        out: list[list[int]] = []
        for i in order:
            cur = out[-1] if out else None
            if (
                cur is not None
                and len(cur) < self.max_batch_size
                and lengths[i] * (len(cur) + 1) <= self.batch_tokens
            ):
                cur.append(i)
            else:
                out.append([i])
        return out

    def translate(self, segments: Sequence[str], src_lang: str, tgt_lang: str) -> list[Hypothesis]:
        flags_all = ("untrained-fixture",) if self.is_fixture else ()
        results: list[Hypothesis] = [Hypothesis("", flags_all) for _ in segments]
        todo = [i for i, s in enumerate(segments) if s.strip()]  # empty in, empty out, no model call
        if not todo:
            return results
        encoded = self.tokenizer([segments[i] for i in todo], truncation=False, verbose=False)["input_ids"]
        limit = self.max_input_tokens
        truncated = {k for k, ids in enumerate(encoded) if len(ids) > limit}
        for k in truncated:
            encoded[k] = encoded[k][: limit - 1] + [encoded[k][-1]]  # keep </s>
        if truncated:
            log.warning(
                "marian:%s %s-%s: %d of %d segments exceed the model's %d tokens and were truncated",
                self.model_id,
                src_lang,
                tgt_lang,
                len(truncated),
                len(todo),
                limit,
            )
        for batch in reversed(self.batches([len(ids) for ids in encoded])):  # longest first
            texts = self.generate([encoded[k] for k in batch])
            self.generate_calls += 1
            self.segments_generated += len(batch)
            for k, text in zip(batch, texts, strict=True):
                flags = flags_all + (("truncated",) if k in truncated else ())
                results[todo[k]] = Hypothesis(text, flags)
        return results

    def generate(self, batch: list[list[int]]) -> list[str]:
        """Token ids of a batch of sources in, detokenised translations out."""
        import torch

        inputs = self.tokenizer.pad({"input_ids": batch}, return_tensors="pt")
        inputs = {name: tensor.to(self.device) for name, tensor in inputs.items()}
        with torch.inference_mode():
            output = self.model.generate(
                **inputs, num_beams=self.num_beams, do_sample=False, max_new_tokens=self.new_token_limit
            )
        return self.tokenizer.batch_decode(output, skip_special_tokens=True)


# The options Marian takes, with their defaults (the registry checks and types them).
MARIAN_OPTIONS = {
    "num_beams": 4,
    "max_new_tokens": 256,
    "batch_tokens": 4096,
    "max_batch_size": 64,
    "device": "auto",
    "dtype": "float32",
}


@register_backend("marian", options=MARIAN_OPTIONS)
def make_marian(argument: str | None = None, **options) -> MarianBackend:
    if not argument:
        raise UserError("the marian backend needs a model: marian:HUB_ID or marian:PATH")
    model, _, revision = argument.partition("@")
    return MarianBackend(model, revision=revision or None, **options)
